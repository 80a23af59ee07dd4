"""The e-mail outbox: a message is a row written in the sender's transaction, delivered after the commit."""

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _


class EmailStatus(models.TextChoices):
    PENDING = "pending", _("waiting to be sent")
    SENT = "sent", _("sent")
    FAILED = "failed", _("failed (retries used up)")


class OutgoingEmail(models.Model):
    """One e-mail as its sender made it. `key` is its identity: the job sends the row with that key, marks it
    sent under a row lock and skips a row already sent, and the message carries it in its Message-ID."""

    key = models.UUIDField(_("key"), default=uuid.uuid4, unique=True, editable=False)
    created_at = models.DateTimeField(_("queued"), auto_now_add=True)
    from_email = models.CharField(_("from"), max_length=320)
    to = models.JSONField(_("to"), default=list)
    cc = models.JSONField(_("cc"), default=list, blank=True)
    bcc = models.JSONField(_("bcc"), default=list, blank=True)
    reply_to = models.JSONField(_("reply to"), default=list, blank=True)
    subject = models.CharField(_("subject"), max_length=998)
    body = models.TextField(_("body"), blank=True)
    # [[content, mimetype], ...] and [[filename, base64 content, mimetype], ...]
    alternatives = models.JSONField(_("alternatives"), default=list, blank=True)
    attachments = models.JSONField(_("attachments"), default=list, blank=True)
    headers = models.JSONField(_("headers"), default=dict, blank=True)
    request_id = models.CharField(_("request id"), max_length=128, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=EmailStatus.choices, default=EmailStatus.PENDING)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)

    class Meta:
        verbose_name = _("outgoing e-mail")
        verbose_name_plural = _("outgoing e-mails")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["status", "created_at"], name="jobs_email_status_created")]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(status="sent") | models.Q(sent_at__isnull=False), name="jobs_email_sent_has_time"
            )
        ]

    def __str__(self):
        return f"{self.subject} → {', '.join(self.to)}"

    @property
    def message_id(self) -> str:
        return f"<{self.key}@laihua>"
