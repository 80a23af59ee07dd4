"""The periodic jobs by default, kept in the database by django-celery-beat (visible and editable in /admin,
under Periodic tasks) and run by `laihua jobs beat`. They replace the cron lines of earlier versions."""

from dataclasses import dataclass

from django.conf import settings


@dataclass(frozen=True)
class Periodic:
    name: str
    task: str
    minute: str
    hour: str
    description: str
    needs: str = ""  # a setting that must be set for the job to be enabled when it is first created


DEFAULTS = (
    Periodic(
        "Remind coordinators of overdue guarantee requests",
        "laihua.insurance.remind_overdue",
        "*/15",
        "*",
        "laihua insurance remind: once per GOP request past its answer deadline.",
    ),
    Periodic(
        "Remind coordinators of unanswered inquiries",
        "laihua.cases.remind_first_response",
        "*/10",
        "*",
        "laihua cases remind: once per case when its first answer is due soon, once when it is overdue.",
    ),
    Periodic(
        "Offer free places to the waitlist",
        "laihua.capacity.offer_waitlist",
        "*/15",
        "*",
        "laihua capacity offer-waitlist: places still free go to the waiting entries, oldest first.",
    ),
    Periodic(
        "Warn of permitted stays ending",
        "laihua.travel.stay_reminders",
        "0",
        "7",
        "laihua travel stay-reminders: once per case, a week before the permitted stay ends.",
    ),
    Periodic(
        "Expire quotes past their validity",
        "laihua.quotes.expire",
        "10",
        "0",
        "laihua quotes expire: sent quotes past their validity, and the cases waiting on them.",
    ),
    Periodic(
        "Import the rate file",
        "laihua.rates.import_file",
        "30",
        "1",
        "laihua rates import LAIHUA_RATES_FILE: the platform's own rates, nightly.",
        needs="LAIHUA_RATES_FILE",
    ),
    Periodic(
        "Back up the database and files",
        "laihua.ops.backup",
        "0",
        "2",
        "laihua backup LAIHUA_BACKUP_DIR/laihua-DAY.tar.gz, nightly.",
        needs="LAIHUA_BACKUP_DIR",
    ),
    Periodic(
        "Verify the audit chain",
        "laihua.audit.verify",
        "0",
        "3",
        "laihua audit verify: a broken chain is logged as an error.",
    ),
    Periodic(
        "Seal the audit chain",
        "laihua.audit.seal",
        "*",
        "*",
        "laihua audit seal: chains the events committed since the last seal (none waits over a minute).",
    ),
    Periodic(
        "Refresh the analytics",
        "laihua.analytics.refresh",
        "*/5",
        "*",
        "laihua analytics refresh: the roll-ups of the hospitals where something changed.",
    ),
    Periodic(
        "Recount the fairness report and real prices",
        "laihua.fairness.refresh",
        "40",
        "1",
        "laihua fairness refresh: the monthly shares against the caps and the prices actually paid.",
    ),
    Periodic(
        "Send pending e-mail again",
        "laihua.jobs.resend_pending_email",
        "*/5",
        "*",
        "Outbox rows still pending two minutes after they were written are queued again.",
    ),
)


def install(periodic_task_model, crontab_model, *, time_zone: str | None = None, reset: bool = False) -> list[str]:
    """Create the default periodic jobs that are missing (and with `reset`, put back their default times and
    enable them as at first); an operator's changes to the others are kept. Returns the names created or reset.

    Takes the models so that a data migration can call it with its historical models."""
    time_zone = time_zone or settings.TIME_ZONE
    done = []
    for job in DEFAULTS:
        crontab, _created = crontab_model.objects.get_or_create(
            minute=job.minute, hour=job.hour, day_of_week="*", day_of_month="*", month_of_year="*", timezone=time_zone
        )
        enabled = not job.needs or bool(getattr(settings, job.needs, ""))
        existing = periodic_task_model.objects.filter(name=job.name).first()
        if existing is None:
            periodic_task_model.objects.create(
                name=job.name, task=job.task, crontab=crontab, enabled=enabled, description=job.description
            )
        elif reset:
            existing.task, existing.crontab, existing.enabled = job.task, crontab, enabled
            existing.interval = existing.solar = existing.clocked = None
            existing.description = job.description
            existing.save()
        else:
            continue
        done.append(job.name)
    return done
