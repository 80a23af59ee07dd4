from django.apps import AppConfig


class KitConfig(AppConfig):
    """The kit is an app so that its form widgets' templates are found, and so that the job metrics listen to
    Celery's signals once the apps are ready (kit.metrics); it has no models."""

    name = "laihua.kit"

    def ready(self):
        from laihua.kit.metrics import connect_job_signals

        connect_job_signals()
