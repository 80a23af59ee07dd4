from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CatalogConfig(AppConfig):
    name = "laihua.catalog"
    verbose_name = _("Catalog")

    def ready(self):
        from laihua.catalog import signals  # noqa: F401
