from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AppendOnlyError(Exception):
    pass


class AuditQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("Audit events are append-only.")

    def delete(self):
        raise AppendOnlyError("Audit events are append-only.")


class AuditEvent(models.Model):
    """Who did what to which record, when, and from where. Never changed, never deleted."""

    at = models.DateTimeField(_("when"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, verbose_name=_("who")
    )
    actor_label = models.CharField(_("who (as recorded)"), max_length=150, blank=True)
    actor_role = models.CharField(_("role"), max_length=32, blank=True)
    hospital = models.ForeignKey(
        "hospitals.Hospital", null=True, blank=True, on_delete=models.SET_NULL, verbose_name=_("hospital")
    )
    action = models.CharField(_("action"), max_length=80, db_index=True)
    object_type = models.CharField(_("record type"), max_length=80, blank=True)
    object_id = models.CharField(_("record"), max_length=64, blank=True)
    object_label = models.CharField(_("record (as recorded)"), max_length=200, blank=True)
    ip_address = models.GenericIPAddressField(_("address"), null=True, blank=True)
    channel = models.CharField(_("channel"), max_length=8, blank=True)
    detail = models.JSONField(_("detail"), default=dict, blank=True)
    # The hash chain (audit/chain.py): set once, right after the recording transaction commits.
    seq = models.BigIntegerField(_("place in the chain"), null=True, blank=True, unique=True, editable=False)
    prev_hash = models.CharField(_("previous event's hash"), max_length=64, blank=True, default="", editable=False)
    hash = models.CharField(_("hash"), max_length=64, blank=True, default="", editable=False)

    objects = AuditQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["hospital", "-at"])]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor_label} {self.action} {self.object_type}:{self.object_id}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise AppendOnlyError("Audit events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("Audit events are append-only.")


class AuditChainHead(models.Model):
    """The chain's last sealed event (one row): locked while events are sealed, so that the chain never forks,
    and compared with the last event by `laihua audit verify`, so that events cut off the end are noticed."""

    seq = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        verbose_name = _("audit chain head")
        verbose_name_plural = _("audit chain head")
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="audit_chain_head_one_row")]

    def __str__(self):
        return f"{self.seq} {self.hash}"
