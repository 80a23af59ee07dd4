"""A foreign patient's case at one hospital, from first inquiry to follow-up, with its timeline."""

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from laihua.cases.states import State


class Case(models.Model):
    """One patient at one hospital. An inquiry sent to several hospitals opens one case at each."""

    reference = models.CharField(_("reference"), max_length=20, unique=True, editable=False)
    inquiry_group = models.UUIDField(_("inquiry"), default=uuid.uuid4, db_index=True, editable=False)
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="cases", verbose_name=_("patient")
    )
    hospital = models.ForeignKey(
        "hospitals.Hospital", on_delete=models.PROTECT, related_name="cases", verbose_name=_("hospital")
    )
    department = models.ForeignKey(
        "hospitals.Department",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="cases",
        verbose_name=_("department"),
    )
    state = models.CharField(_("state"), max_length=20, choices=State.choices, default=State.INQUIRY, db_index=True)
    coordinator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="coordinated_cases",
        verbose_name=_("coordinator"),
    )
    services = models.ManyToManyField(
        "catalog.CatalogItem", blank=True, related_name="cases", verbose_name=_("services asked about")
    )
    description = models.TextField(_("what the patient needs"), blank=True)
    desired_arrival = models.DateField(_("desired arrival"), null=True, blank=True)
    desired_departure = models.DateField(_("desired departure"), null=True, blank=True)
    insurer_name = models.CharField(_("insurer"), max_length=120, blank=True)
    insurance_policy = models.CharField(_("policy number"), max_length=60, blank=True)
    insurance_member = models.CharField(_("member number"), max_length=60, blank=True)
    language = models.CharField(_("patient's language"), max_length=16, default="en")
    created_at = models.DateTimeField(_("opened"), auto_now_add=True, db_index=True)
    first_response_at = models.DateTimeField(_("first answered"), null=True, blank=True)
    # When the coordinators were told that the first answer is due soon / overdue (each once per case).
    first_response_warned_at = models.DateTimeField(_("first answer due soon, told"), null=True, blank=True)
    first_response_reminded_at = models.DateTimeField(_("first answer overdue, told"), null=True, blank=True)
    state_changed_at = models.DateTimeField(_("state since"), auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["hospital", "state"], name="case_board_idx")]

    def __str__(self):
        return self.reference or f"case {self.pk}"


class CaseEvent(models.Model):
    """One line of the case's timeline: opened, moved, assigned, a message, a quote, a letter."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events", verbose_name=_("case"))
    at = models.DateTimeField(_("when"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(_("kind"), max_length=40)
    from_state = models.CharField(max_length=20, blank=True)
    to_state = models.CharField(max_length=20, blank=True)
    note = models.TextField(_("note"), blank=True)
    staff_only = models.BooleanField(_("staff only"), default=False)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("case event")
        verbose_name_plural = _("case events")
        ordering = ["at", "pk"]

    def __str__(self):
        return f"{self.case} {self.kind} {self.at:%Y-%m-%d %H:%M}"


class Message(models.Model):
    """A message in the case's one thread; an internal note is never shown to the patient."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="messages", verbose_name=_("case"))
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("author")
    )
    body = models.TextField(_("message"))
    internal = models.BooleanField(_("staff note"), default=False)
    created_at = models.DateTimeField(_("sent"), auto_now_add=True)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["created_at", "pk"]

    def __str__(self):
        return f"{self.case} {self.author} {self.created_at:%Y-%m-%d %H:%M}"


class AttachmentKind(models.TextChoices):
    PDF = "pdf", _("PDF document")
    JPEG = "jpeg", _("JPEG image")
    PNG = "png", _("PNG image")
    DICOM_ZIP = "dicom_zip", _("DICOM images (zip)")
    IPS = "ips", _("International Patient Summary (FHIR)")


def attachment_path(instance, filename):
    return f"cases/{instance.case.hospital_id}/{instance.case_id}/{uuid.uuid4().hex}"


class Attachment(models.Model):
    """A file the patient or staff attached; its kind is what its content is, not what its name says."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="attachments", verbose_name=_("case"))
    message = models.ForeignKey(Message, null=True, blank=True, on_delete=models.CASCADE, related_name="attachments")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    file = models.FileField(upload_to=attachment_path, max_length=200)
    original_name = models.CharField(_("file name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=12, choices=AttachmentKind.choices)
    content_type = models.CharField(max_length=80)
    size = models.PositiveBigIntegerField(_("size (bytes)"))
    sha256 = models.CharField(max_length=64)
    internal = models.BooleanField(_("staff only"), default=False)
    created_at = models.DateTimeField(_("uploaded"), auto_now_add=True)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        ordering = ["created_at", "pk"]

    def __str__(self):
        return self.original_name
