"""The outbox sends each e-mail exactly once, whatever happens between the request and the mail server:
deliveries run again, workers dying before the mail server took the message, refusals, retries."""

import smtplib

import pytest
from django.core import mail
from django.core.mail import BadHeaderError, EmailMessage, send_mail
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.db import transaction
from django.test import override_settings
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from laihua.jobs import outbox
from laihua.jobs.models import EmailStatus, OutgoingEmail

OUTBOX = {"EMAIL_BACKEND": "laihua.jobs.mail.OutboxBackend"}
LOCMEM = "django.core.mail.backends.locmem.EmailBackend"


class WorkerDied(BaseException):
    """The worker's process ends in the middle of the job: no handler runs, the transaction is abandoned."""


class DyingBackend(LocmemBackend):
    """The mail server never answers: the worker dies while it waits, before the message was taken."""

    def send_messages(self, messages):
        raise WorkerDied()


class RefusingBackend(LocmemBackend):
    def send_messages(self, messages):
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")


BACKENDS = {"ok": LOCMEM, "dies": f"{__name__}.DyingBackend", "refuses": f"{__name__}.RefusingBackend"}


def keys_sent() -> list[str]:
    return [message.extra_headers["Message-ID"] for message in mail.outbox]


class OutboxMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        OutgoingEmail.objects.all().delete()
        mail.outbox = []
        self.rows: list[int] = []

    @rule(subject=st.text(min_size=1, max_size=20))
    def enqueue(self, subject):
        """A request writes an e-mail in its transaction; one that could never be sent is refused at once."""
        count = OutgoingEmail.objects.count()
        message = EmailMessage(subject, "body", to=["someone@example.test"])
        if "\n" in subject or "\r" in subject or "\x00" in subject:
            with pytest.raises(BadHeaderError), transaction.atomic():
                outbox.store(message)
            assert OutgoingEmail.objects.count() == count
            return
        with transaction.atomic():
            row = outbox.store(message)
        self.rows.append(row.pk)

    @rule(data=st.data(), how=st.sampled_from(sorted(BACKENDS)))
    def deliver(self, data, how):
        """A worker runs the job of one row (again, maybe): it sends, dies mid-way, or is refused and retries."""
        if not self.rows:
            return
        email_id = data.draw(st.sampled_from(self.rows))
        before = OutgoingEmail.objects.get(pk=email_id)
        with override_settings(LAIHUA_EMAIL_DELIVERY_BACKEND=BACKENDS[how]):
            if how == "dies" and before.status == EmailStatus.PENDING:
                with pytest.raises(WorkerDied):
                    outbox.deliver(email_id)
            elif how == "refuses" and before.status == EmailStatus.PENDING:
                with pytest.raises(outbox.DeliveryFailed):
                    outbox.deliver(email_id)
            else:
                outbox.deliver(email_id)
        after = OutgoingEmail.objects.get(pk=email_id)
        if how == "dies" or before.status == EmailStatus.SENT:
            assert (after.status, after.attempts) == (before.status, before.attempts)
        elif how == "refuses":
            assert (after.status, after.attempts) == (EmailStatus.PENDING, before.attempts + 1)
            assert "SMTPServerDisconnected" in after.last_error

    @invariant()
    def each_row_marked_sent_was_sent_exactly_once_and_no_other(self):
        sent = keys_sent()
        assert len(sent) == len(set(sent))
        marked = {row.message_id for row in OutgoingEmail.objects.filter(status=EmailStatus.SENT)}
        assert set(sent) == marked
        assert not OutgoingEmail.objects.filter(status=EmailStatus.SENT, sent_at__isnull=True).exists()

    def teardown(self):
        """In the end every row is delivered: each e-mail reached the server exactly once."""
        with override_settings(LAIHUA_EMAIL_DELIVERY_BACKEND=LOCMEM):
            for email_id in self.rows:
                outbox.deliver(email_id)
        sent = keys_sent()
        assert sorted(sent) == sorted(row.message_id for row in OutgoingEmail.objects.filter(pk__in=self.rows))


def test_every_email_is_sent_exactly_once(db):
    run_state_machine_as_test(
        OutboxMachine,
        settings=settings(
            max_examples=40, stateful_step_count=15, deadline=None, suppress_health_check=list(HealthCheck)
        ),
    )


@override_settings(**OUTBOX, LAIHUA_EMAIL_DELIVERY_BACKEND=LOCMEM)
def test_send_mail_writes_a_row_and_delivers_it_after_the_commit(db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        assert send_mail("Your visit", "See you on Monday.", None, ["patient@example.test"]) == 1
        row = OutgoingEmail.objects.get()
        assert row.status == EmailStatus.PENDING and mail.outbox == []
    assert len(callbacks) == 1
    row.refresh_from_db()
    assert (row.status, row.attempts) == (EmailStatus.SENT, 1) and row.sent_at is not None
    (message,) = mail.outbox
    assert (message.subject, message.to, message.extra_headers["Message-ID"]) == (
        "Your visit",
        ["patient@example.test"],
        row.message_id,
    )


def _send_then_fail():
    with transaction.atomic():
        send_mail("Never", "Rolled back.", None, ["patient@example.test"])
        raise RuntimeError


@override_settings(**OUTBOX, LAIHUA_EMAIL_DELIVERY_BACKEND=LOCMEM)
def test_a_rolled_back_request_sends_nothing(db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(RuntimeError):
        _send_then_fail()
    assert callbacks == [] and mail.outbox == [] and not OutgoingEmail.objects.exists()


@override_settings(**OUTBOX, LAIHUA_EMAIL_DELIVERY_BACKEND=LOCMEM)
def test_alternatives_attachments_and_headers_survive_the_outbox(db, django_capture_on_commit_callbacks):
    message = mail.EmailMultiAlternatives(
        "Letter", "Text", to=["a@example.test"], cc=["b@example.test"], reply_to=["c@example.test"]
    )
    message.attach_alternative("<p>Text</p>", "text/html")
    message.attach("letter.pdf", b"%PDF-1.7 \x00\xff", "application/pdf")
    message.extra_headers["X-Case"] = "LH-2026-000001"
    with django_capture_on_commit_callbacks(execute=True):
        message.send()
    (sent,) = mail.outbox
    assert sent.alternatives[0][:2] == ("<p>Text</p>", "text/html")
    assert sent.attachments[0][:3] == ("letter.pdf", b"%PDF-1.7 \x00\xff", "application/pdf")
    assert (sent.cc, sent.reply_to, sent.extra_headers["X-Case"]) == (
        ["b@example.test"],
        ["c@example.test"],
        "LH-2026-000001",
    )


@override_settings(**OUTBOX, LAIHUA_EMAIL_DELIVERY_BACKEND=BACKENDS["refuses"])
def test_a_refused_email_is_retried_and_marked_failed_when_the_retries_are_used_up(
    db, django_capture_on_commit_callbacks, monkeypatch
):
    from laihua.celery_app import app
    from laihua.jobs.tasks import deliver_email

    monkeypatch.setitem(app.conf, "task_eager_propagates", False)  # the retries run in-process, one after another

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        send_mail("Retry", "Body", None, ["patient@example.test"])
    row = OutgoingEmail.objects.get()
    result = deliver_email.apply(args=[row.pk])
    assert len(callbacks) == 1 and result.failed()
    row.refresh_from_db()
    assert row.status == EmailStatus.FAILED and row.attempts == deliver_email.max_retries + 1
    assert "SMTPServerDisconnected" in row.last_error and mail.outbox == []

    from laihua.jobs.tasks import retry_failed

    with override_settings(LAIHUA_EMAIL_DELIVERY_BACKEND=LOCMEM):
        assert retry_failed([row.pk]) == 1  # the admin's "send again"
    row.refresh_from_db()
    assert row.status == EmailStatus.SENT and len(mail.outbox) == 1
