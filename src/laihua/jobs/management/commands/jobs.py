"""Background jobs on the command line.

laihua jobs worker [--concurrency N]    run a Celery worker (needs LAIHUA_BROKER_URL)
laihua jobs beat                        run the scheduler of the periodic jobs (one per deployment)
laihua jobs schedule [--reset]          create the default periodic jobs (the migration did once)
laihua jobs status                      the periodic jobs and the e-mails waiting
"""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from laihua.jobs import schedule
from laihua.jobs.tasks import pending_count


class Command(BaseCommand):
    help = "Run a job worker or the periodic scheduler, create the default schedule, or show the jobs' state."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True, metavar="{worker,beat,schedule,status}")
        worker = actions.add_parser("worker", help="Run a worker that takes jobs from LAIHUA_BROKER_URL.")
        worker.add_argument("--concurrency", type=int, default=0, help="Processes (default: one per CPU).")
        actions.add_parser("beat", help="Queue the periodic jobs when due (run exactly one per deployment).")
        schedule_parser = actions.add_parser("schedule", help="Create the default periodic jobs that are missing.")
        schedule_parser.add_argument(
            "--reset", action="store_true", help="Also put the defaults' times back and enable them as at first."
        )
        actions.add_parser("status", help="List the periodic jobs and count the e-mails waiting to be sent.")

    def handle(self, *args, action, **options):
        if action in ("worker", "beat") and not settings.BROKER_URL:
            raise CommandError(
                _("Set LAIHUA_BROKER_URL (e.g. redis://127.0.0.1:6379/0): without it jobs run in the web process.")
            )
        getattr(self, action)(**options)

    def worker(self, concurrency=0, **options):
        from laihua.celery_app import app

        argv = ["worker", "--loglevel", "INFO", "--queues", settings.CELERY_TASK_DEFAULT_QUEUE]
        if concurrency:
            argv += ["--concurrency", str(concurrency)]
        app.worker_main(argv)

    def beat(self, **options):
        from laihua.celery_app import app

        app.start(["beat", "--loglevel", "INFO", "--scheduler", settings.CELERY_BEAT_SCHEDULER])

    def schedule(self, reset=False, **options):
        done = schedule.install(PeriodicTask, CrontabSchedule, reset=reset)
        for name in done:
            self.stdout.write(_("Scheduled: %(name)s") % {"name": name})
        if not done:
            self.stdout.write(_("Every default periodic job is scheduled already."))

    def status(self, **options):
        for task in PeriodicTask.objects.select_related("crontab", "interval").order_by("name"):
            when = str(task.crontab or task.interval or task.solar or task.clocked or "")
            state = _("on") if task.enabled else _("off")
            last = task.last_run_at.isoformat(timespec="seconds") if task.last_run_at else "-"
            self.stdout.write(f"{state}\t{task.task}\t{when}\t{last}\t{task.name}")
        self.stdout.write(_("E-mails waiting to be sent: %(count)d") % {"count": pending_count()})
