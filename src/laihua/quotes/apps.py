from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class QuotesConfig(AppConfig):
    name = "laihua.quotes"
    verbose_name = _("Quotes")

    def ready(self):
        from laihua.cases.signals import case_moved
        from laihua.quotes.services import withdraw_open_quotes

        case_moved.connect(withdraw_open_quotes, dispatch_uid="quotes.withdraw_open_quotes")
