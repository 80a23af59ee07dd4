from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FairnessConfig(AppConfig):
    name = "laihua.fairness"
    verbose_name = _("Fairness report and real prices")

    def ready(self):
        from laihua.capacity.signals import bookings_changed
        from laihua.cases.signals import case_moved
        from laihua.fairness import receivers

        bookings_changed.connect(receivers.on_bookings_changed, dispatch_uid="fairness.bookings_changed")
        case_moved.connect(receivers.on_case_moved, dispatch_uid="fairness.case_moved")
