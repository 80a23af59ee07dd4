from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InterpretersConfig(AppConfig):
    name = "laihua.interpreters"
    verbose_name = _("Interpreters")
