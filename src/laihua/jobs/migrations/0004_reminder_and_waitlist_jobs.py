"""The periodic jobs that remind coordinators of unanswered inquiries and offer places still free to the waitlist
(install() creates only what is missing, so an operator's changes to the other jobs are kept)."""

from django.db import migrations

NEW = ("Remind coordinators of unanswered inquiries", "Offer free places to the waitlist")


def install_new(apps, schema_editor):
    from laihua.jobs.schedule import install

    install(apps.get_model("django_celery_beat", "PeriodicTask"), apps.get_model("django_celery_beat", "CrontabSchedule"))


def remove_new(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name__in=NEW).delete()


class Migration(migrations.Migration):
    dependencies = [("jobs", "0003_seal_and_refresh_jobs")]

    operations = [migrations.RunPython(install_new, remove_new)]
