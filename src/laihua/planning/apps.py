from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PlanningConfig(AppConfig):
    name = "laihua.planning"
    verbose_name = _("Trip planning")

    def ready(self):
        from laihua.interpreters.signals import pool_changed
        from laihua.planning.services.interpreters import rebalance_after_pool_change
        from laihua.planning.services.stay import booked_trip_dates
        from laihua.travel.signals import booked_trip

        booked_trip.connect(booked_trip_dates, dispatch_uid="planning.booked_trip_dates")
        pool_changed.connect(rebalance_after_pool_change, dispatch_uid="planning.rebalance_after_pool_change")
