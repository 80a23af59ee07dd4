"""The periodic jobs added since the first schedule: sealing the audit chain every minute, refreshing the
analytics every five minutes and recounting the fairness report nightly (install() creates only what is
missing, so an operator's changes to the others are kept)."""

from django.db import migrations

NEW = ("Seal the audit chain", "Refresh the analytics", "Recount the fairness report and real prices")


def install_new(apps, schema_editor):
    from laihua.jobs.schedule import install

    install(apps.get_model("django_celery_beat", "PeriodicTask"), apps.get_model("django_celery_beat", "CrontabSchedule"))


def remove_new(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name__in=NEW).delete()


class Migration(migrations.Migration):
    dependencies = [("jobs", "0002_default_schedule")]

    operations = [migrations.RunPython(install_new, remove_new)]
