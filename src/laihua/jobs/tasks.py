"""The jobs the workers run. Each is idempotent (running it twice does what running it once did: the services
it calls lock and mark what they did), retried with exponential backoff on an unexpected error, acknowledged
only once it finished (acks_late) and given back to the queue when its worker dies (reject_on_worker_lost).
The command-line equivalents (`laihua insurance remind`, …) call the same services."""

import datetime
import logging
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import CommandError

from laihua.celery_app import app
from laihua.errors import DomainError
from laihua.jobs import outbox
from laihua.jobs.models import EmailStatus, OutgoingEmail
from laihua.kit import clock

logger = logging.getLogger("laihua.jobs")

# Every job: acknowledged late, back to the queue when the worker dies, retried with a growing wait
# (about 1 s, 2 s, 4 s, … up to 15 minutes, with jitter). Errors that another try cannot mend are not retried.
JOB = {
    "bind": True,
    "acks_late": True,
    "reject_on_worker_lost": True,
    "autoretry_for": (Exception,),
    "dont_autoretry_for": (DomainError, ImproperlyConfigured, CommandError),
    "retry_backoff": True,
    "retry_backoff_max": 900,
    "retry_jitter": True,
    "max_retries": 8,
}
# Pending rows older than this are asked for again by the sweeper (their job was lost with the broker).
RESEND_AFTER = datetime.timedelta(minutes=2)


class EmailJob(app.Task):
    def on_failure(self, exc, task_id, args, kwargs, einfo):
        """Retries used up (or an error not worth one): the row is marked failed."""
        if args:
            outbox.give_up(args[0], f"{type(exc).__name__}: {exc}")


@app.task(name="laihua.jobs.deliver_email", base=EmailJob, **JOB)
def deliver_email(self, email_id: int) -> bool:
    """Send one outbox row, once (laihua.jobs.outbox.deliver)."""
    return outbox.deliver(email_id)


def enqueue(email_id: int) -> None:
    """Ask a worker to deliver the row (or deliver it now, without a broker). A broker that cannot be reached
    loses nothing: the row stays pending and the sweeper (`laihua.jobs.resend_pending_email`) asks again."""
    try:
        deliver_email.apply_async(args=[email_id])
    except Exception:  # the request has committed: its answer must not fail for the broker's sake
        logger.exception("Could not queue e-mail %s; the outbox sweeper will send it.", email_id)


@app.task(name="laihua.jobs.resend_pending_email", **JOB)
def resend_pending_email(self) -> int:
    """Ask again for the delivery of rows still pending a while after they were written."""
    stale = OutgoingEmail.objects.filter(status=EmailStatus.PENDING, created_at__lt=clock.now() - RESEND_AFTER)
    ids = list(stale.order_by("pk").values_list("pk", flat=True)[:1000])
    for email_id in ids:
        enqueue(email_id)
    if ids:
        logger.info("Asked again for %d pending e-mails.", len(ids))
    return len(ids)


class PdfJob(app.Task):
    def on_failure(self, exc, task_id, args, kwargs, einfo):
        """Retries used up (or an error not worth one): the row says it failed; asking again queues it again."""
        from laihua.records.services import pdf_failed

        if args:
            pdf_failed(args[0], f"{type(exc).__name__}: {exc}")


@app.task(name="laihua.records.prepare_pdf", base=PdfJob, **JOB)
def prepare_records_pdf(self, prepared_id: int) -> bool:
    """Render a long records PDF into the storage (laihua.records.services.prepared); run again, it does
    nothing once the file is ready."""
    from laihua.records.services import prepare_pdf

    return prepare_pdf(prepared_id)


def enqueue_pdf(prepared_id: int) -> None:
    """Ask a worker to prepare the PDF (or prepare it now, without a broker). A broker that cannot be reached
    leaves the row pending: asking for the PDF again after a while queues it again (see `wanted_pdf`)."""
    try:
        prepare_records_pdf.apply_async(args=[prepared_id])
    except Exception:  # the request has committed: its answer must not fail for the broker's sake
        logger.exception("Could not queue the records PDF %s.", prepared_id)


@app.task(name="laihua.insurance.remind_overdue", **JOB)
def remind_overdue_guarantees(self) -> list[str]:
    """`laihua insurance remind`: the coordinator is reminded once of each GOP request past its deadline."""
    from laihua.insurance.services import remind_overdue

    numbers = remind_overdue()
    logger.info("Reminded coordinators of %d overdue guarantee requests.", len(numbers))
    return numbers


@app.task(name="laihua.cases.remind_first_response", **JOB)
def remind_first_response(self) -> list[str]:
    """`laihua cases remind`: the coordinators of each unanswered case are told once when its first answer is
    due soon and once when it is overdue."""
    from laihua.cases.services import remind_first_response as remind

    sent = remind()
    logger.info("Sent %d first-response reminders.", len(sent))
    return [f"{reference} {kind}" for reference, kind in sent]


@app.task(name="laihua.capacity.offer_waitlist", **JOB)
def offer_waitlist(self) -> list[str]:
    """`laihua capacity offer-waitlist`: places still free on the days waiting entries want go to them, oldest
    first (each entry is booked once, however often the job runs)."""
    from laihua.capacity.services import offer_waiting_places

    given = offer_waiting_places()
    logger.info("Booked %d waiting entries from the waitlist.", len(given))
    return [f"{entry.case.reference} {entry.item.code} {entry.day.isoformat()}" for entry in given]


@app.task(name="laihua.travel.stay_reminders", **JOB)
def stay_reminders(self) -> list[str]:
    """`laihua travel stay-reminders`: each coordinator is warned once a week before a permitted stay ends."""
    from laihua.travel.services import stay_reminders as warn

    references = warn()
    logger.info("Warned of %d permitted stays ending.", len(references))
    return references


@app.task(name="laihua.quotes.expire", **JOB)
def expire_quotes(self) -> list[str]:
    """`laihua quotes expire`: sent quotes past their validity, and the cases waiting on them, expire."""
    from laihua.quotes.services.expiry import expire_quotes as expire

    numbers = expire()
    logger.info("Expired %d quotes.", len(numbers))
    return numbers


@app.task(name="laihua.rates.import_file", **JOB)
def import_rates_file(self, path: str = "") -> int:
    """The nightly rate import: `laihua rates import LAIHUA_RATES_FILE` (a rate of a day replaces the same
    day's rate, so a file imported twice leaves the table as once)."""
    path = path or settings.LAIHUA_RATES_FILE
    if not path:
        raise ImproperlyConfigured("Set LAIHUA_RATES_FILE to the CSV file the nightly rate import reads.")
    call_command("rates", "import", path, verbosity=0)
    logger.info("Imported the rates of %s.", path)
    return 1


@app.task(name="laihua.audit.verify", **JOB)
def verify_audit_chain(self) -> bool:
    """`laihua audit verify`: a broken chain is logged as an error (and not retried: it stays broken)."""
    try:
        call_command("audit", "verify", verbosity=0)
    except CommandError as exc:
        logger.error("%s", exc)
        return False
    logger.info("The audit chain holds.")
    return True


@app.task(name="laihua.audit.seal", **JOB)
def seal_audit_chain(self) -> int:
    """`laihua audit seal`, every minute: chains every committed event not yet chained, so that none stays
    unsealed longer than a minute on a quiet site (sealing is idempotent: a sealed event is never sealed again)."""
    call_command("audit", "seal", verbosity=0)
    return 1


@app.task(name="laihua.analytics.refresh", **JOB)
def refresh_analytics(self) -> int:
    """`laihua analytics refresh`, every five minutes: rebuilds the roll-ups of the hospitals where something
    changed since the last refresh began (a rebuild from scratch, so running it twice changes nothing)."""
    call_command("analytics", "refresh", verbosity=0)
    return 1


@app.task(name="laihua.fairness.refresh", **JOB)
def refresh_fairness(self) -> int:
    """`laihua fairness refresh`, nightly: recounts the fairness roll-up and the real prices paid (capacity and
    cap changes send no signal; a recount from scratch is idempotent)."""
    call_command("fairness", "refresh", verbosity=0)
    return 1


def _recount_key(hospital_id: int, month: datetime.date) -> str:
    return f"laihua:fairness:recount:{hospital_id}:{month.isoformat()}"


@app.task(name="laihua.fairness.recount_months", **JOB)
def recount_fairness_months(self, hospital_id: int, months: list[str]) -> int:
    """Recount a hospital's fairness roll-up after bookings changed: every month of it waiting for a recount
    (fairness.PendingRecount; `months` names the ones that asked). The months' marks are cleared first: a
    booking that commits during the recount queues the next one, so none is left uncounted."""
    from django.core.cache import cache

    from laihua.fairness.services.rollup import recount_pending

    days = [datetime.date.fromisoformat(month) for month in months]
    cache.delete_many([_recount_key(hospital_id, day) for day in days])
    return recount_pending(hospital_id)


def enqueue_fairness_recount(hospital_id: int, months: list[datetime.date]) -> bool:
    """Queue one recount for the months that have none waiting (a mark per hospital and month in the shared
    cache, kept 10 minutes at most should a job be lost; without a shared cache, one per change); False when
    the broker cannot take it. Without a broker nothing is queued: the months wait for the next read of the
    report, which recounts them (fairness.services.rollup.recount_pending), or for the nightly recount."""
    from django.core.cache import cache

    if settings.CELERY_TASK_ALWAYS_EAGER:
        return False
    if settings.CACHE_URL:
        wanted = [month for month in months if cache.add(_recount_key(hospital_id, month), 1, timeout=600)]
    else:  # workers and servers share no cache (no LAIHUA_CACHE_URL): no marks, a job per change
        wanted = list(months)
    if not wanted:
        return True
    try:
        recount_fairness_months.apply_async(args=[hospital_id, [month.isoformat() for month in wanted]])
    except Exception:  # the bookings have committed: the recount runs in the request instead
        logger.exception("Could not queue the fairness recount of hospital %s.", hospital_id)
        cache.delete_many([_recount_key(hospital_id, month) for month in wanted])
        return False
    return True


@app.task(name="laihua.ops.backup", **JOB)
def nightly_backup(self, day: str = "") -> str:
    """`laihua backup LAIHUA_BACKUP_DIR/laihua-DAY.tar.gz`, once a day (a day's file already there is kept)."""
    if not settings.LAIHUA_BACKUP_DIR:
        raise ImproperlyConfigured("Set LAIHUA_BACKUP_DIR to the folder the nightly backup is written to.")
    target = Path(settings.LAIHUA_BACKUP_DIR) / f"laihua-{day or clock.today().isoformat()}.tar.gz"
    if target.exists():
        logger.info("The backup %s is already written.", target)
        return str(target)
    call_command("backup", str(target), verbosity=0)
    logger.info("Backup written to %s.", target)
    return str(target)


def pending_count() -> int:
    return OutgoingEmail.objects.filter(status=EmailStatus.PENDING).count()


def retry_failed(ids) -> int:
    """Failed rows (retries used up) go back to pending and are asked for again (the admin's action)."""
    rows = list(OutgoingEmail.objects.filter(pk__in=ids, status=EmailStatus.FAILED).values_list("pk", flat=True))
    OutgoingEmail.objects.filter(pk__in=rows).update(status=EmailStatus.PENDING)
    for email_id in rows:
        enqueue(email_id)
    return len(rows)
