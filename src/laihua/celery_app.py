"""The Celery application: `laihua jobs worker` and `laihua jobs beat` run it (or `celery -A laihua.celery_app`).
Not named celery.py: pytest-django puts manage.py's folder on sys.path, where it would hide the celery package.

Its settings are Django's `CELERY_*` settings (laihua.settings, from LAIHUA_BROKER_URL): without a broker every
job runs in the process that asks for it, at once, so the demo and the tests need nothing else running."""

import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "laihua.settings")

app = Celery("laihua")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["laihua.jobs"])


@signals.setup_logging.connect
def _django_logging(**_kwargs):
    """Keep Django's LOGGING (JSON lines with the request id) in the workers instead of Celery's own."""
    import logging.config

    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)
