from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InsuranceConfig(AppConfig):
    name = "laihua.insurance"
    verbose_name = _("Insurers and guarantees of payment")
