"""Jobs run in-process without a broker, are idempotent and retried; the periodic schedule is in the database;
log lines carry the request id, into jobs; a changed rate shows at once though another server kept the old."""

import datetime
import io
import json
import logging
from decimal import Decimal

from django.core.management import call_command
from django.db import transaction
from django_celery_beat.models import PeriodicTask

from laihua.celery_app import app
from laihua.jobs import schedule
from laihua.jobs.tasks import import_rates_file
from laihua.kit import clock
from laihua.kit.logs import RequestIdFilter
from laihua.rates.models import ExchangeRate


def test_the_default_periodic_jobs_are_in_the_database_and_name_real_jobs(db):
    scheduled = {task.name: task for task in PeriodicTask.objects.select_related("crontab")}
    for job in schedule.DEFAULTS:
        task = scheduled[job.name]
        assert task.task == job.task and job.task in app.tasks
        assert (task.crontab.minute, task.crontab.hour) == (job.minute, job.hour)
        assert task.enabled == (not job.needs)  # the rate file and the backup folder are not set in the tests
    remind = scheduled["Remind coordinators of overdue guarantee requests"]
    remind.crontab = None
    remind.interval_id = None
    PeriodicTask.objects.filter(pk=remind.pk).update(enabled=False)
    out = io.StringIO()
    call_command("jobs", "schedule", stdout=out)
    assert "already" in out.getvalue() and not PeriodicTask.objects.get(pk=remind.pk).enabled  # the change is kept
    call_command("jobs", "schedule", "--reset", stdout=io.StringIO())
    assert PeriodicTask.objects.get(pk=remind.pk).enabled


def test_every_job_is_acknowledged_late_given_back_when_its_worker_dies_and_retried_with_backoff():
    ours = [task for name, task in app.tasks.items() if name.startswith("laihua.")]
    assert len(ours) >= 8
    for task in ours:
        assert task.acks_late and task.reject_on_worker_lost, task.name
        assert task.retry_backoff and task.max_retries >= 5 and task.autoretry_for, task.name


def test_without_a_broker_a_job_runs_in_process_and_twice_is_as_once(db, tmp_path, settings):
    assert settings.CELERY_TASK_ALWAYS_EAGER and app.conf.task_always_eager
    today = clock.today().isoformat()
    rates = tmp_path / "rates.csv"
    rates.write_text(f"currency,date,cny_per_unit,source\nAED,{today},1.95,Bank\n")
    assert import_rates_file.delay(str(rates)).get() == 1
    assert import_rates_file.delay(str(rates)).get() == 1
    (row,) = ExchangeRate.objects.filter(currency="AED")
    assert row.cny_per_unit == Decimal("1.95")


def json_lines(logger_name: str):
    from pythonjsonlogger.json import JsonFormatter

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s"))
    handler.addFilter(RequestIdFilter())
    logger = logging.getLogger(logger_name)
    logger.addHandler(handler)
    old_level, logger.level = logger.level, logging.INFO
    return stream, lambda: (logger.removeHandler(handler), setattr(logger, "level", old_level))


def test_a_request_s_json_log_line_and_its_answer_carry_its_request_id(db, client):
    stream, done = json_lines("laihua.request")
    try:
        kept = client.get("/healthz", HTTP_X_REQUEST_ID="trace-42")
        made = client.get("/healthz", HTTP_X_REQUEST_ID="bad id\nforged")
    finally:
        done()
    assert kept["X-Request-ID"] == "trace-42"
    assert made["X-Request-ID"] != "bad id\nforged" and len(made["X-Request-ID"]) == 32
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [(line["request_id"], line["path"], line["status"]) for line in lines] == [
        ("trace-42", "/healthz", 200),
        (made["X-Request-ID"], "/healthz", 200),
    ]


def test_a_job_logs_with_the_request_id_its_headers_carry(db, tmp_path):
    rates = tmp_path / "rates.csv"
    rates.write_text(f"currency,date,cny_per_unit,source\nSAR,{clock.today().isoformat()},1.91,Bank\n")
    stream, done = json_lines("laihua.jobs")
    try:
        import_rates_file.apply(args=[str(rates)], headers={"laihua_request_id": "req-7"})
    finally:
        done()
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert lines and all(line["request_id"] == "req-7" for line in lines)
    assert any("Imported the rates" in line["message"] for line in lines)


def test_a_changed_rate_shows_at_once_though_another_server_kept_the_old_one_before_the_commit(
    db, django_capture_on_commit_callbacks
):
    from django.core.cache import cache
    from django.utils.translation import get_language

    from laihua.rates import services

    day = clock.today()
    rate = ExchangeRate.objects.create(currency="AED", rate_date=day, cny_per_unit=Decimal("1.95"), source="Bank")
    old = services.display_rate("AED")
    assert old.cny_per_unit == Decimal("1.95")
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        rate.cny_per_unit = Decimal("2.05")
        rate.save()
        # Meanwhile another server, which still sees the committed rate, reads it and keeps it in the shared cache.
        version = cache.get(services._DISPLAY_VERSION)
        cache.set(f"rates:display:{version}:AED:{day.isoformat()}:{get_language()}", old, 60)
        assert services.display_rate("AED") == old
    assert services.display_rate("AED").cny_per_unit == Decimal("2.05")
    assert services.display_rate("AED", day - datetime.timedelta(days=0)).cny_per_unit == Decimal("2.05")


def test_the_seal_job_chains_every_pending_audit_event(db, settings):
    """With sealing after commits limited (the production default), events wait unsealed; the every-minute job
    chains them all, and running it again changes nothing."""
    from laihua.audit.models import AuditEvent
    from laihua.audit.services import record_event
    from laihua.jobs.tasks import seal_audit_chain

    settings.LAIHUA_AUDIT_SEAL_INTERVAL_MS = 3_600_000
    for n in range(3):
        with transaction.atomic():
            record_event(None, "jobs.check", detail={"n": n})
    assert AuditEvent.objects.filter(seq__isnull=True).count() >= 1
    seal_audit_chain.delay()
    assert not AuditEvent.objects.filter(seq__isnull=True).exists()
    sealed = list(AuditEvent.objects.order_by("seq").values_list("seq", "hash"))
    seal_audit_chain.delay()
    assert list(AuditEvent.objects.order_by("seq").values_list("seq", "hash")) == sealed
    out = io.StringIO()
    call_command("audit", "verify", stdout=out)
