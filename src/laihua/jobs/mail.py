"""Django's e-mail backend (EMAIL_BACKEND): every message becomes an outbox row (laihua.jobs.outbox) written in
the caller's transaction, and its delivery is asked for once that transaction commits: a rolled-back request
sends nothing, and a slow mail server slows no request."""

from django.core.mail.backends.base import BaseEmailBackend
from django.db import transaction

from laihua.jobs.outbox import store
from laihua.jobs.tasks import enqueue


class OutboxBackend(BaseEmailBackend):
    """Writes each message with recipients as an outbox row and asks for its delivery after the commit."""

    def send_messages(self, email_messages) -> int:
        count = 0
        for message in email_messages:
            if not message.recipients():
                continue
            row = store(message)
            transaction.on_commit(lambda pk=row.pk: enqueue(pk))
            count += 1
        return count
