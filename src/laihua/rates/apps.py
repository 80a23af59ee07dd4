from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RatesConfig(AppConfig):
    name = "laihua.rates"
    verbose_name = _("Rates")

    def ready(self):
        from django.db.models.signals import post_delete, post_save

        from laihua.rates.models import ExchangeRate
        from laihua.rates.services import forget_display_rates

        post_save.connect(forget_display_rates, sender=ExchangeRate, dispatch_uid="rates-display-save")
        post_delete.connect(forget_display_rates, sender=ExchangeRate, dispatch_uid="rates-display-delete")
