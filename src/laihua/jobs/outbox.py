"""The e-mail outbox: writing a message as a row, and delivering a row once.

`laihua.jobs.mail.OutboxBackend` (Django's EMAIL_BACKEND) makes `send_mail` and `EmailMessage.send` write an
OutgoingEmail row in the caller's transaction (`store`) and ask for its delivery once that transaction
commits (a rolled-back request sends nothing). `deliver` sends one row with the real backend
(LAIHUA_EMAIL_BACKEND) under a lock on the row and marks it sent in the same transaction: a second delivery
of the row (a job run again after its worker died, the sweeper) waits for the lock and then finds it sent.
A worker killed while the mail server is still taking the message holds no lock any more (its database
connection is gone) and has not marked it: the job runs again and sends it then. Each message carries its
row's key in its Message-ID.
"""

import base64
import logging
from email.mime.base import MIMEBase

from django.conf import settings
from django.core.mail import BadHeaderError, EmailMessage, EmailMultiAlternatives, get_connection
from django.db import transaction

from laihua.jobs.models import EmailStatus, OutgoingEmail
from laihua.kit import clock
from laihua.kit.requestctx import request_id

logger = logging.getLogger("laihua.jobs.mail")


def _attachment(item) -> list[str]:
    if isinstance(item, MIMEBase):
        filename, content, mimetype = item.get_filename() or "", item.get_payload(decode=True), item.get_content_type()
    else:
        filename, content, mimetype = item[0] or "", item[1], item[2] or "application/octet-stream"
    data = content.encode() if isinstance(content, str) else bytes(content)
    return [filename, base64.b64encode(data).decode("ascii"), mimetype]


def store(message: EmailMessage) -> OutgoingEmail:
    """Write the message as an outbox row (in the caller's transaction). A message that could never be sent (a
    line break in a header: BadHeaderError) is refused here, to its sender, as sending it at once would have; so
    is a NUL character anywhere (no mail server takes one, and PostgreSQL cannot store it)."""
    message.message()
    texts = [message.subject, message.body, message.from_email or "", *message.to, *message.cc, *message.bcc]
    texts += [*message.reply_to, *(str(value) for value in (message.extra_headers or {}).values())]
    texts += [str(content) for content, _mimetype in getattr(message, "alternatives", [])]
    if any("\x00" in str(text) for text in texts):
        raise BadHeaderError("An e-mail cannot hold a NUL character.")
    extra = message.extra_headers or {}
    headers = {name: str(value) for name, value in extra.items() if name.lower() != "message-id"}
    row = OutgoingEmail.objects.create(
        from_email=message.from_email or settings.DEFAULT_FROM_EMAIL,
        to=list(message.to),
        cc=list(message.cc),
        bcc=list(message.bcc),
        reply_to=list(message.reply_to),
        subject=str(message.subject),
        body=str(message.body),
        alternatives=[[str(content), mimetype] for content, mimetype in getattr(message, "alternatives", [])],
        attachments=[_attachment(item) for item in message.attachments],
        headers=headers,
        request_id=request_id.get(),
    )
    return row


def as_message(row: OutgoingEmail, connection) -> EmailMessage:
    message = EmailMultiAlternatives(
        subject=row.subject,
        body=row.body,
        from_email=row.from_email,
        to=row.to,
        cc=row.cc,
        bcc=row.bcc,
        reply_to=row.reply_to,
        headers={**row.headers, "Message-ID": row.message_id},
        alternatives=[tuple(alternative) for alternative in row.alternatives],
        connection=connection,
    )
    for filename, data, mimetype in row.attachments:
        message.attach(filename or None, base64.b64decode(data), mimetype)
    return message


class DeliveryFailed(Exception):
    """The mail server refused or could not be reached; the row stays pending for the job's next try."""


def deliver(email_id: int) -> bool:
    """Send the row once; True when it was sent now, False when it was already sent, failed for good or gone.

    The row is locked for the whole conversation with the mail server and marked sent in the same transaction;
    a failure is written down (attempts, last error) and raised as DeliveryFailed for the job to retry."""
    error = None
    with transaction.atomic():
        row = OutgoingEmail.objects.select_for_update().filter(pk=email_id).first()
        if row is None or row.status != EmailStatus.PENDING:
            return False
        connection = get_connection(settings.LAIHUA_EMAIL_DELIVERY_BACKEND, fail_silently=False)
        try:
            connection.send_messages([as_message(row, connection)])
        except Exception as exc:  # SMTP errors, refused connections, time-outs: all worth another try
            error = exc
        row.attempts += 1
        if error is None:
            row.status, row.sent_at, row.last_error = EmailStatus.SENT, clock.now(), ""
        else:
            row.last_error = f"{type(error).__name__}: {error}"[:2000]
        row.save(update_fields=["status", "sent_at", "last_error", "attempts"])
    if error is not None:
        logger.warning("E-mail %s not sent (attempt %d): %s", email_id, row.attempts, row.last_error)
        raise DeliveryFailed(row.last_error) from error
    logger.info("E-mail %s sent to %d recipients.", email_id, len(row.to) + len(row.cc) + len(row.bcc))
    return True


def give_up(email_id: int, reason: str) -> None:
    """The job's retries are used up: the row is marked failed (shown in /admin, sent again from there)."""
    OutgoingEmail.objects.filter(pk=email_id, status=EmailStatus.PENDING).update(
        status=EmailStatus.FAILED, last_error=reason[:2000]
    )
    logger.error("E-mail %s failed for good: %s", email_id, reason)
