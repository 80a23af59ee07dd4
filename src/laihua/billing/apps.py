from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BillingConfig(AppConfig):
    name = "laihua.billing"
    verbose_name = _("Statements and payments")

    def ready(self):
        from laihua.billing.services.balances import refuse_close_with_balance
        from laihua.cases.signals import case_moved

        case_moved.connect(refuse_close_with_balance, dispatch_uid="billing.refuse_close_with_balance")
