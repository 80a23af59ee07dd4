"""The default periodic jobs (laihua.jobs.schedule), kept in django-celery-beat's tables."""

from django.db import migrations


def install_defaults(apps, schema_editor):
    from laihua.jobs.schedule import install

    install(apps.get_model("django_celery_beat", "PeriodicTask"), apps.get_model("django_celery_beat", "CrontabSchedule"))


def remove_defaults(apps, schema_editor):
    from laihua.jobs.schedule import DEFAULTS

    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name__in=[job.name for job in DEFAULTS]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("jobs", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(install_defaults, remove_defaults)]
