"""Records that cross borders: IPS documents in and out, the clinical items they carry, the term list,
the discharge (episode) summary, and the patient's consents to send records outside the hospital."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from laihua.kit.crypto import SealedTextField


class Direction(models.TextChoices):
    IMPORTED = "imported", _("Imported")
    EXPORTED = "exported", _("Exported")


class ItemKind(models.TextChoices):
    PROBLEM = "problem", _("Problem")
    ALLERGY = "allergy", _("Allergy or intolerance")
    MEDICATION = "medication", _("Medication")
    IMMUNIZATION = "immunization", _("Immunization")
    RESULT = "result", _("Result")
    PROCEDURE = "procedure", _("Procedure")
    DEVICE = "device", _("Medical device")
    VITAL_SIGN = "vital_sign", _("Vital sign")


class IpsDocument(models.Model):
    """One International Patient Summary, stored as received. "The same document" is the same Bundle
    identifier with the same canonical content (sha256 of its FHIR JSON with sorted keys, whatever the
    file's layout) on the same case: importing it twice stores it once. (Per case, not per
    patient: each hospital keeps its own copy and never learns of another hospital's case.)"""

    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.CASCADE, related_name="ips_documents", verbose_name=_("patient")
    )
    case = models.ForeignKey(
        "cases.Case", on_delete=models.CASCADE, related_name="ips_documents", verbose_name=_("case")
    )
    hospital = models.ForeignKey("hospitals.Hospital", on_delete=models.PROTECT, related_name="+")
    direction = models.CharField(_("direction"), max_length=10, choices=Direction.choices, default=Direction.IMPORTED)
    identifier_system = models.CharField(_("identifier system"), max_length=255, blank=True)
    identifier_value = models.CharField(_("identifier"), max_length=255)
    timestamp = models.DateTimeField(_("document time"), null=True, blank=True)
    title = models.CharField(_("title"), max_length=255, blank=True)
    author = models.CharField(_("author"), max_length=255, blank=True)
    source_format = models.CharField(_("format"), max_length=4, default="json")  # json | xml
    # Compressed and encrypted (a document's Patient may carry a passport number): list documents with
    # `.defer("content")`.
    content = SealedTextField(_("document as received"))
    content_hash = models.CharField(_("canonical content hash"), max_length=64)
    item_count = models.PositiveIntegerField(default=0)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("stored"), auto_now_add=True)
    # What the sender should fix but that did not stop the import (a reference to a resource it left out,
    # a narrative that is not XHTML): [{"severity": "warning", "code", "diagnostics", "expression"}].
    warnings = models.JSONField(_("warnings"), default=list, blank=True)
    # A document whose Patient differs from the case's patient is refused; a clinician may import it
    # anyway with a written reason: the fields that differed ([{"field", "document", "patient"}]) and who, when, why.
    patient_mismatch = models.JSONField(_("patient differences"), default=list, blank=True)
    matched_by_hand_reason = models.TextField(_("reason for matching by hand"), blank=True)
    matched_by_hand_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    matched_by_hand_at = models.DateTimeField(_("matched by hand"), null=True, blank=True)

    class Meta:
        verbose_name = _("patient summary document")
        verbose_name_plural = _("patient summary documents")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["case", "identifier_system", "identifier_value", "content_hash"],
                name="ips_document_once_per_case",
            ),
            # what an item's one foreign key names on PostgreSQL: its document, with the document's case and
            # patient (migration records 0014)
            models.UniqueConstraint(fields=["id", "case", "patient"], name="ips_document_case_patient"),
        ]
        indexes = [models.Index(fields=["case", "-created_at", "-id"], name="ips_document_case_newest_idx")]

    def __str__(self):
        return self.title or self.identifier_value

    @property
    def matched_by_hand(self) -> bool:
        return self.matched_by_hand_at is not None


class ClinicalItem(models.Model):
    """One problem, allergy, medication, immunization, result, procedure, device or vital sign of a
    document, with its original text and codes."""

    # On PostgreSQL one foreign key checks these three together, (document, case, patient) against the
    # document's (migration records 0014): an item is of its document's case and patient, and an import
    # checks one key per item instead of three. Django's cascades remove items with any of the three.
    document = models.ForeignKey(IpsDocument, on_delete=models.CASCADE, related_name="items", db_constraint=False)
    # by patient: clinical_item_patient_idx (patient, kind) leads with it, so the key's own index is left out
    patient = models.ForeignKey(
        "patients.Patient",
        on_delete=models.CASCADE,
        related_name="clinical_items",
        db_index=False,
        db_constraint=False,
    )
    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="clinical_items", db_constraint=False)
    kind = models.CharField(_("kind"), max_length=16, choices=ItemKind.choices)
    position = models.PositiveIntegerField(default=0)
    resource_type = models.CharField(max_length=40)
    text = models.TextField(_("original text"), blank=True)
    codes = models.JSONField(_("codes"), default=list, blank=True)  # [{"system","code","display"}]
    status = models.CharField(_("status"), max_length=40, blank=True)
    date = models.CharField(_("date"), max_length=40, blank=True)  # FHIR date/dateTime as written
    value = models.CharField(_("value"), max_length=255, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    # Where the item comes from, to know it again in a re-sent document: "url:<fullUrl>",
    # "doc:<Bundle identifier>|<Type>/<id>" and "id:<Type>|<system>|<value>" for each identifier.
    source_keys = models.JSONField(default=list, blank=True)
    # One of the case's distinct items: of the items that share a source key (the same resource re-sent,
    # the same identifier) only the one of the newest document is current. Decided when a document is
    # stored (records/distinct.py), so that listing and exporting read only current rows.
    current = models.BooleanField(default=True)
    # The first item of its group of items that are one (the item its keys point at, ClinicalItemKey); empty
    # when this item began the group (records/distinct.py).
    anchor = models.BigIntegerField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("clinical item")
        verbose_name_plural = _("clinical items")
        ordering = ["document", "kind", "position"]
        indexes = [
            models.Index(fields=["patient", "kind"], name="clinical_item_patient_idx"),
            # The case's current items newest first (and by kind, and by status); PostgreSQL keeps only
            # current rows in them.
            models.Index(
                fields=["case", "-document", "position"],
                condition=models.Q(current=True),
                name="clinical_item_current_idx",
            ),
            models.Index(
                fields=["case", "kind", "-document", "position"],
                condition=models.Q(current=True),
                name="clinical_item_kind_idx",
            ),
            models.Index(
                fields=["case", "status"],
                condition=models.Q(current=True),
                name="clinical_item_status_idx",
            ),
            # The current item of each group, by the group's first item (an item's pk: no case needed).
            models.Index(Coalesce("anchor", "id"), condition=models.Q(current=True), name="clinical_item_group_idx"),
        ]

    def __str__(self):
        return self.text or (self.codes[0].get("code", "") if self.codes else self.kind)

    def value_text(self) -> str:
        """The value as a reader reads it: an allergy's FHIR criticality code in words, others as written."""
        if self.kind == ItemKind.ALLERGY and self.value in CRITICALITY:
            return str(CRITICALITY[self.value])
        return self.value

    def status_text(self) -> str:
        """The FHIR status code in words (a clinical status, a medication's or a result's), else as written."""
        return str(STATUS.get(self.status, self.status))


class ClinicalItemKey(models.Model):
    """A source key of a case's items (a fullUrl, a Type/id in the Bundle identifier, an identifier), as a
    digest, once per case, with the first item of the group of items that carry it: to find the items of a
    case that are one item without reading them all."""

    # A derived index of the items' `source_keys` (records.distinct writes it with the items and rebuilds it
    # with `settle_case`): its rows go with their case and item through Django's cascades, and the database
    # does not check its two foreign keys on every key an import writes (about 40 a document). By case:
    # clinical_item_key_idx (case, digest) leads with it, so the key's own index is left out.
    case = models.ForeignKey(
        "cases.Case", on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    digest = models.CharField(max_length=32)  # blake2b-128 of the key, hex
    item = models.ForeignKey(ClinicalItem, on_delete=models.CASCADE, related_name="keys", db_constraint=False)

    class Meta:
        indexes = [models.Index(fields=["case", "digest"], name="clinical_item_key_idx")]

    def __str__(self):
        return self.digest


# FHIR AllergyIntolerance.criticality (http://hl7.org/fhir/allergy-intolerance-criticality).
CRITICALITY = {
    "low": _("low criticality"),
    "high": _("high criticality"),
    "unable-to-assess": _("criticality not assessed"),
}


# The status codes of the items' resources (condition and allergy clinical status, medication,
# observation, procedure and immunization status) a reader meets most.
STATUS = {
    "active": pgettext_lazy("status", "active"),
    "recurrence": pgettext_lazy("status", "recurrence"),
    "relapse": pgettext_lazy("status", "relapse"),
    "inactive": pgettext_lazy("status", "inactive"),
    "remission": pgettext_lazy("status", "in remission"),
    "resolved": pgettext_lazy("status", "resolved"),
    "completed": pgettext_lazy("status", "completed"),
    "stopped": pgettext_lazy("status", "stopped"),
    "on-hold": pgettext_lazy("status", "on hold"),
    "intended": pgettext_lazy("status", "intended"),
    "not-taken": pgettext_lazy("status", "not taken"),
    "entered-in-error": pgettext_lazy("status", "entered in error"),
    "final": pgettext_lazy("status", "final"),
    "preliminary": pgettext_lazy("status", "preliminary"),
    "amended": pgettext_lazy("status", "amended"),
    "not-done": pgettext_lazy("status", "not done"),
}


class TermTranslation(models.Model):
    """A code's display in English and Chinese; made once, it serves every later record. Without a hospital it is
    the platform's list (edited by platform administrators only); with one, that hospital's own override, shown
    on its cases instead of the platform's."""

    hospital = models.ForeignKey(
        "hospitals.Hospital",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("hospital"),
    )
    system = models.CharField(_("code system"), max_length=255)
    code = models.CharField(_("code"), max_length=100)
    en = models.CharField(_("English"), max_length=255, blank=True)
    zh_hans = models.CharField(_("Chinese"), max_length=255, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("term translation")
        verbose_name_plural = _("term list")
        ordering = ["system", "code"]
        constraints = [
            models.UniqueConstraint(
                fields=["system", "code"], condition=models.Q(hospital__isnull=True), name="term_translation_unique"
            ),
            models.UniqueConstraint(
                fields=["hospital", "system", "code"],
                condition=models.Q(hospital__isnull=False),
                name="term_translation_override_unique",
            ),
        ]

    def __str__(self):
        return f"{self.system}|{self.code}"


class EpisodeSummary(models.Model):
    """What the clinician writes at discharge; once completed it can be exported as an IPS. Structured
    (records/discharge.py): diagnoses [{"system", "code", "text", "text_second"}] (ICD-10 or a term-list
    code), procedures [{... , "date"}], medications [{..., "dose", "unit", "route", "frequency",
    "period_unit", "duration_days", "dosage_text"}], dated follow-up instructions [{"date", "text"}]; free
    text in `language` with an optional second language."""

    case = models.OneToOneField(
        "cases.Case", on_delete=models.CASCADE, related_name="episode_summary", verbose_name=_("case")
    )
    diagnoses = models.JSONField(_("diagnoses (ICD-10)"), default=list, blank=True)
    procedures = models.JSONField(_("procedures done"), default=list, blank=True)
    medications = models.JSONField(_("discharge medications"), default=list, blank=True)
    allergies = models.JSONField(_("allergies"), default=list, blank=True)  # [{"text"}]
    results = models.JSONField(_("results"), default=list, blank=True)  # [{"text","value"}]
    follow_ups = models.JSONField(_("follow-up instructions"), default=list, blank=True)
    language = models.CharField(_("language of the free text"), max_length=10, default="en")
    plan_of_care = models.TextField(_("plan of care"), blank=True)
    plan_of_care_second = models.TextField(_("plan of care in a second language"), blank=True)
    follow_up = models.TextField(_("follow-up"), blank=True)
    follow_up_second = models.TextField(_("follow-up in a second language"), blank=True)
    # Lines of a summary written before the structure that could not be read into it, as written.
    unparsed = models.TextField(_("not read from the earlier summary"), blank=True)
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("episode summary")
        verbose_name_plural = _("episode summaries")

    def __str__(self):
        return f"{self.case} summary"


class ConsentStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    INACTIVE = "inactive", _("Withdrawn")
    REJECTED = "rejected", _("Refused")


class DataType(models.TextChoices):
    SUMMARY = "summary", _("Patient summary (IPS)")
    DISCHARGE = "discharge", _("Discharge summary")
    PROBLEM = "problem", _("Problems and diagnoses")
    ALLERGY = "allergy", _("Allergies")
    MEDICATION = "medication", _("Medications")
    RESULT = "result", _("Results")


class ConsentUse(models.TextChoices):
    """What a consent lets the hospital do: e-mail records to a named person, or send health data to the
    patient's insurer for a guarantee of payment and claims (that insurer is linked by insurance)."""

    RECORDS = "records", _("Send records")
    PAYMENT = "payment", _("Guarantee of payment and claims")


class PaymentDataType(models.TextChoices):
    """What a guarantee of payment request and a claim after treatment carry to the insurer."""

    DIAGNOSIS = "diagnosis", _("Diagnosis (with its ICD-10 code)")
    DOCTOR = "treating_doctor", _("Treating doctor")
    NOTES = "clinical_notes", _("Clinical notes (symptoms and reason for treatment)")
    ESTIMATE = "itemised_estimate", _("Itemised estimate and bill")


PAYMENT_PURPOSE = _("Send my health data to this insurer for a guarantee of payment and claims")


def paper_consent_path(instance, filename):
    return f"consents/{instance.case.hospital_id}/{instance.case_id}/{uuid.uuid4().hex}"


class Consent(models.Model):
    """The patient's separate consent (PIPL art. 38-39) to send their records to one named recipient,
    for one purpose, for some data types, during a period; a FHIR Consent with the same status codes.
    A payment consent names an organisation (the insurer) by identifier instead of an e-mail address."""

    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.CASCADE, related_name="consents", verbose_name=_("patient")
    )
    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="consents", verbose_name=_("case"))
    status = models.CharField(_("status"), max_length=10, choices=ConsentStatus.choices, default=ConsentStatus.ACTIVE)
    recipient_name = models.CharField(_("recipient"), max_length=200)
    recipient_email = models.EmailField(_("recipient's e-mail"), blank=True)
    recipient_country = models.CharField(_("recipient's country"), max_length=2, blank=True)
    use = models.CharField(_("use"), max_length=10, choices=ConsentUse.choices, default=ConsentUse.RECORDS)
    recipient_system = models.CharField(_("recipient's identifier system"), max_length=100, blank=True)
    recipient_identifier = models.CharField(_("recipient's identifier"), max_length=100, blank=True)
    purpose = models.CharField(_("purpose"), max_length=300)
    data_types = models.JSONField(_("data types"), default=list)
    period_start = models.DateField(_("from"))
    period_end = models.DateField(_("until"))
    granted_at = models.DateTimeField(_("granted"), auto_now_add=True)
    # The patient's own account when they gave it on their pages; empty for a signed paper consent, which the
    # hospital's staff recorded with its scan.
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("recorded by"),
    )
    paper_file = models.FileField(_("signed paper consent"), upload_to=paper_consent_path, max_length=200, blank=True)
    paper_content_type = models.CharField(max_length=80, blank=True)
    paper_sha256 = models.CharField(max_length=64, blank=True)
    withdrawn_at = models.DateTimeField(_("withdrawn"), null=True, blank=True)

    class Meta:
        verbose_name = _("consent")
        verbose_name_plural = _("consents")
        ordering = ["-granted_at", "-pk"]

    def __str__(self):
        return f"{self.recipient_name} ({self.get_status_display()})"

    @property
    def on_paper(self) -> bool:
        """Recorded by staff from a consent the patient signed on paper (with its scan)."""
        return bool(self.paper_file)

    def data_type_labels(self) -> list[str]:
        """The data types as the active language names them."""
        labels = {**dict(DataType.choices), **dict(PaymentDataType.choices)}
        return [str(labels.get(code, code)) for code in self.data_types]

    def purpose_text(self) -> str:
        """The purpose as the active language says it (a payment consent's is fixed; others as typed)."""
        return str(PAYMENT_PURPOSE) if self.use == ConsentUse.PAYMENT else self.purpose


class Transfer(models.Model):
    """Records made available to someone outside the hospital under a consent: the recipient gets a link
    to a download page (no health data in the e-mail). The link's token is stored only as its SHA-256;
    it serves this one transfer until it expires, is revoked, or its consent stops covering it."""

    consent = models.ForeignKey(Consent, on_delete=models.PROTECT, related_name="transfers")
    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="record_transfers")
    sent_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recipient_email = models.EmailField()
    data_types = models.JSONField(default=list)
    sent_at = models.DateTimeField(auto_now_add=True)
    # Transfers sent before links (attachments by e-mail) have no token and no expiry: no page serves them.
    token_hash = models.CharField(max_length=64, null=True, blank=True, unique=True, editable=False)
    expires_at = models.DateTimeField(_("link expires"), null=True, blank=True)
    language = models.CharField(_("recipient's language"), max_length=10, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("records transfer")
        verbose_name_plural = _("records transfers")
        ordering = ["-sent_at"]

    def __str__(self):
        return f"{self.recipient_email} {self.sent_at:%Y-%m-%d %H:%M}"


class TransferCode(models.Model):
    """A one-time code e-mailed to a transfer's recipient so that a browser may open the link: kept only as a
    keyed hash (HMAC with the site's secret key), valid for minutes, closed when a newer code replaces it,
    when it is used, or after too many wrong attempts."""

    transfer = models.ForeignKey(Transfer, on_delete=models.CASCADE, related_name="codes")
    code_hash = models.CharField(max_length=64, editable=False)
    sent_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    closed_at = models.DateTimeField(null=True, blank=True)
    # The address of the client that asked for it: the codes a single client may ask for are fewer than the
    # transfer's, so that whoever holds a leaked link cannot use up the recipient's codes alone.
    asked_from = models.GenericIPAddressField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-sent_at", "-pk"]
        indexes = [models.Index(fields=["transfer", "sent_at"], name="records_tcode_transfer_sent")]

    def __str__(self):
        return f"code for transfer {self.transfer_id} {self.sent_at:%Y-%m-%d %H:%M}"


class TransferOpening(models.Model):
    """A browser the recipient verified with a code: its cookie carries a random key, signed, stored here only
    as its SHA-256. It opens its transfer until the link's expiry, and never once the link stops opening."""

    transfer = models.ForeignKey(Transfer, on_delete=models.CASCADE, related_name="openings")
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    verified_at = models.DateTimeField()
    expires_at = models.DateTimeField()

    class Meta:
        ordering = ["-verified_at"]

    def __str__(self):
        return f"opening of transfer {self.transfer_id} {self.verified_at:%Y-%m-%d %H:%M}"


class PdfStatus(models.TextChoices):
    PENDING = "pending", _("Being prepared")
    READY = "ready", _("Ready")
    FAILED = "failed", _("Failed")


class PreparedPdf(models.Model):
    """The records PDF of a case too long to render inside a request, rendered by a job into the default
    storage (object storage when configured) for one version of the case's records in one language. A change
    to the records makes a new version (laihua.records.services.prepared.records_version); the file is served
    behind the same access check and audit as a PDF rendered at once."""

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="+")
    language = models.CharField(max_length=16)
    version = models.CharField(max_length=64)
    status = models.CharField(max_length=10, choices=PdfStatus.choices, default=PdfStatus.PENDING)
    items = models.PositiveIntegerField(default=0)
    file = models.FileField(upload_to="prepared-pdfs/%Y/%m/", max_length=255, blank=True)
    error = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    queued_at = models.DateTimeField(default=timezone.now)  # when its job was last asked for
    ready_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("prepared records PDF")
        verbose_name_plural = _("prepared records PDFs")
        constraints = [
            models.UniqueConstraint(fields=["case", "language", "version"], name="prepared_pdf_one_per_version")
        ]

    def __str__(self):
        return f"{self.case} {self.language} {self.version[:12]} ({self.status})"
