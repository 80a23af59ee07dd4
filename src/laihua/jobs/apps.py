from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class JobsConfig(AppConfig):
    name = "laihua.jobs"
    verbose_name = _("Background jobs")

    def ready(self):
        import laihua.celery_app  # noqa: F401 - the project's Celery application is the current one
        from laihua.jobs import signals  # noqa: F401 - the request id travels with each job
