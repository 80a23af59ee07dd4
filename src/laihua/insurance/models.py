"""Insurers, their contracts with hospitals, a patient's coverage on a case, and the guarantee of
payment (GOP): a FHIR Claim with use = preauthorization built from the accepted quote, and the
insurer's answer (a ClaimResponse). Status codes follow FHIR where the meaning matches
(ClaimResponse.outcome: queued, complete, partial, error) with the Da Vinci PAS review actions
(approved, partly approved, pended, denied) spelled out as our own codes. The rules are in services.py."""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Insurer(models.Model):
    """An international insurer or assistance company the platform works with (a FHIR Organization)."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=200)
    country = models.CharField(_("country"), max_length=2, blank=True, help_text=_("ISO 3166 code."))
    payer_id = models.CharField(
        _("payer identifier"), max_length=80, blank=True, help_text=_("The insurer's own identifier in FHIR messages.")
    )
    contact_name = models.CharField(_("contact"), max_length=200, blank=True)
    contact_email = models.EmailField(_("contact e-mail"), blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=40, blank=True)
    api_contact_email = models.EmailField(_("API contact e-mail"), blank=True)
    api_endpoint = models.URLField(
        _("FHIR endpoint"), blank=True, help_text=_("Where the insurer's own system receives claims, if it has one.")
    )
    active = models.BooleanField(_("active"), default=True)
    is_demo = models.BooleanField(_("demo data"), default=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("insurer")
        verbose_name_plural = _("insurers")
        ordering = ["name"]

    def __str__(self):
        return self.name


class InsurerAgent(models.Model):
    """Links a user with role insurer_agent to the insurer they work for (and whose members they see)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="insurer_agent", verbose_name=_("user")
    )
    insurer = models.ForeignKey(Insurer, on_delete=models.CASCADE, related_name="agents", verbose_name=_("insurer"))

    class Meta:
        verbose_name = _("insurer agent")
        verbose_name_plural = _("insurer agents")

    def __str__(self):
        return f"{self.user} ({self.insurer})"


class Contract(models.Model):
    """What one insurer and one hospital agreed: direct billing, what needs pre-authorisation, how fast
    the insurer answers and in which currency it pays."""

    hospital = models.ForeignKey(
        "hospitals.Hospital", on_delete=models.CASCADE, related_name="insurer_contracts", verbose_name=_("hospital")
    )
    insurer = models.ForeignKey(Insurer, on_delete=models.PROTECT, related_name="contracts", verbose_name=_("insurer"))
    direct_billing = models.BooleanField(_("direct billing"), default=True)
    preauth_kinds = models.JSONField(
        _("kinds of service needing pre-authorisation"),
        default=list,
        blank=True,
        help_text=_("Catalog kinds (imaging, procedure, inpatient_day, ...) that always need a GOP."),
    )
    preauth_threshold_cny = models.DecimalField(
        _("pre-authorisation above (CNY)"),
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("Any line above this amount needs a GOP; empty means no threshold."),
    )
    answer_hours = models.PositiveIntegerField(_("answer deadline (hours)"), default=48)
    # What the insurer pays of a covered bill (read by billing for the insurer/patient split).
    covered_kinds = models.JSONField(
        _("kinds of service covered"),
        default=list,
        blank=True,
        help_text=_("Catalog kinds the insurer pays for; empty means every kind."),
    )
    copay_percent = models.DecimalField(
        _("patient's co-payment (%)"), max_digits=5, decimal_places=2, default=Decimal("0.00")
    )
    excess_cny = models.DecimalField(_("excess (CNY)"), max_digits=12, decimal_places=2, default=Decimal("0.00"))
    currency = models.CharField(_("pays in"), max_length=3, default="USD")
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("insurer contract")
        verbose_name_plural = _("insurer contracts")
        ordering = ["hospital", "insurer__name"]
        constraints = [
            models.UniqueConstraint(fields=["hospital", "insurer"], name="contract_one_per_hospital_insurer"),
            models.CheckConstraint(
                name="contract_copay_is_a_percentage",
                condition=Q(copay_percent__gte=Decimal("0")) & Q(copay_percent__lte=Decimal("100")),
            ),
            models.CheckConstraint(name="contract_excess_not_negative", condition=Q(excess_cny__gte=Decimal("0"))),
            models.CheckConstraint(
                name="contract_threshold_not_negative",
                condition=Q(preauth_threshold_cny__isnull=True) | Q(preauth_threshold_cny__gte=Decimal("0")),
            ),
        ]

    def __str__(self):
        return f"{self.insurer} / {self.hospital}"


class Coverage(models.Model):
    """The patient's policy recorded on a case (a FHIR Coverage), checked against the hospital's contract."""

    case = models.OneToOneField("cases.Case", on_delete=models.CASCADE, related_name="coverage", verbose_name=_("case"))
    insurer = models.ForeignKey(Insurer, on_delete=models.PROTECT, related_name="coverages", verbose_name=_("insurer"))
    contract = models.ForeignKey(
        Contract, null=True, blank=True, on_delete=models.SET_NULL, related_name="coverages", verbose_name=_("contract")
    )
    member_id = models.CharField(_("member number"), max_length=60)
    policy_number = models.CharField(_("policy number"), max_length=60, blank=True)
    plan = models.CharField(_("plan"), max_length=120, blank=True)
    valid_from = models.DateField(_("valid from"))
    valid_until = models.DateField(_("valid until"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("recorded by")
    )
    created_at = models.DateTimeField(_("recorded"), auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("coverage")
        verbose_name_plural = _("coverages")
        constraints = [
            models.CheckConstraint(name="coverage_period_ordered", condition=Q(valid_until__gte=models.F("valid_from")))
        ]

    def __str__(self):
        return f"{self.insurer} {self.member_id}"


class GuaranteeStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Waiting for the insurer")
    APPROVED = "approved", _("Approved")
    PARTIAL = "partial", _("Partly approved")
    PENDED = "pended", _("More information needed")
    DENIED = "denied", _("Denied")
    CANCELLED = "cancelled", _("Cancelled")


OPEN_STATUSES = (GuaranteeStatus.SUBMITTED, GuaranteeStatus.PENDED)
ANSWERED_STATUSES = (GuaranteeStatus.APPROVED, GuaranteeStatus.PARTIAL, GuaranteeStatus.PENDED, GuaranteeStatus.DENIED)
GRANTED_STATUSES = (GuaranteeStatus.APPROVED, GuaranteeStatus.PARTIAL)


class Guarantee(models.Model):
    """A guarantee of payment request for a case (FHIR Claim, use = preauthorization) and its answer."""

    number = models.CharField(_("GOP number"), max_length=40, unique=True, editable=False)
    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="guarantees", verbose_name=_("case"))
    # Denormalised from the case and the coverage so that scoping is one indexed filter.
    hospital = models.ForeignKey(
        "hospitals.Hospital", on_delete=models.PROTECT, related_name="guarantees", verbose_name=_("hospital")
    )
    insurer = models.ForeignKey(Insurer, on_delete=models.PROTECT, related_name="guarantees", verbose_name=_("insurer"))
    coverage = models.ForeignKey(
        Coverage, on_delete=models.PROTECT, related_name="guarantees", verbose_name=_("coverage")
    )
    contract = models.ForeignKey(
        Contract, on_delete=models.PROTECT, related_name="guarantees", verbose_name=_("contract")
    )
    quote = models.ForeignKey(
        "quotes.Quote", on_delete=models.PROTECT, related_name="guarantees", verbose_name=_("quote")
    )
    status = models.CharField(
        _("status"), max_length=12, choices=GuaranteeStatus.choices, default=GuaranteeStatus.DRAFT, db_index=True
    )
    diagnosis_code = models.CharField(_("diagnosis (ICD-10)"), max_length=10)
    diagnosis_text = models.CharField(_("diagnosis"), max_length=300)
    treating_doctor = models.CharField(_("treating doctor"), max_length=200)
    planned_start = models.DateField(_("planned from"))
    planned_end = models.DateField(_("planned until"))
    clinical_notes = models.TextField(_("symptoms and reason"), blank=True)
    requested_cny = models.DecimalField(_("requested (CNY)"), max_digits=14, decimal_places=2)
    requested_amount = models.DecimalField(_("requested"), max_digits=16, decimal_places=2, null=True, blank=True)
    requested_currency = models.CharField(_("requested currency"), max_length=3, blank=True)
    rate_cny_per_unit = models.DecimalField(max_digits=18, decimal_places=8, null=True, blank=True)
    rate_date = models.DateField(null=True, blank=True)
    submitted_at = models.DateTimeField(_("sent"), null=True, blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    deadline_at = models.DateTimeField(_("answer due"), null=True, blank=True, db_index=True)
    reminded_at = models.DateTimeField(_("coordinator reminded"), null=True, blank=True)
    # The answer.
    answered_at = models.DateTimeField(_("answered"), null=True, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reference = models.CharField(_("insurer's reference"), max_length=80, blank=True)
    approved_amount = models.DecimalField(_("approved amount"), max_digits=16, decimal_places=2, null=True, blank=True)
    approved_currency = models.CharField(_("approved currency"), max_length=3, blank=True)
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    disposition = models.TextField(_("insurer's note"), blank=True)
    claim_json = models.JSONField(_("FHIR Claim bundle sent"), default=dict, blank=True)
    response_json = models.JSONField(_("FHIR ClaimResponse received"), default=dict, blank=True)
    # The hospital system's own Claim.identifier ("system|value") when the request came over FHIR: PAS
    # $inquire and a repeated $submit find the request by it.
    request_identifier = models.CharField(_("Claim identifier (FHIR)"), max_length=300, blank=True, db_index=True)
    # What Laihua noticed and the coordinator should know (items of an incoming Claim that were ignored,
    # an approval that does not cover the planned stay): [{"code", "expression", "params", "at"}],
    # stored as message codes so that each reader sees them in their own language (warning_messages).
    warnings = models.JSONField(_("warnings"), default=list, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("guarantee of payment")
        verbose_name_plural = _("guarantees of payment")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["insurer", "status"], name="gop_insurer_status_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["case"],
                condition=Q(status__in=["draft", "submitted", "pended"]),
                name="gop_one_open_per_case",
            ),
            models.CheckConstraint(
                name="gop_approved_amount_not_negative",
                condition=Q(approved_amount__isnull=True) | Q(approved_amount__gte=Decimal("0")),
            ),
        ]

    def __str__(self):
        return self.number

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def is_granted(self) -> bool:
        return self.status in GRANTED_STATUSES

    def warning_messages(self) -> list[str]:
        """The warnings in the active language."""
        return [describe_warning(warning) for warning in self.warnings or [] if isinstance(warning, dict)]


WARNING_MESSAGES = {
    "claim_item_ignored": _(
        "%(element)s (%(code)s %(display)s) is not a line of the accepted quote %(quote)s: it was ignored."
    ),
    "claim_item_quantity": _(
        "%(element)s: the quantity %(given)s differs from the accepted quote's %(expected)s; the quote's was sent."
    ),
    "claim_item_price": _(
        "%(element)s: the unit price %(given)s differs from the accepted quote's %(expected)s; the quote's was sent."
    ),
    "claim_currency": _(
        "%(element)s: amounts in %(currency)s were ignored; the request carries the accepted quote's amounts in CNY."
    ),
    "claim_line_added": _(
        "The accepted quote's line %(sequence)s (%(code)s) was sent although the Claim does not list it."
    ),
    "claim_total": _(
        "%(element)s: the total %(given)s differs from the accepted quote's %(expected)s; the quote's was sent."
    ),
    "claim_more": _("%(count)s more differences from the accepted quote were ignored."),
    "claim_diagnosis_reused": _(
        "The Claim has no diagnosis: the diagnosis %(code)s of the earlier request %(gop)s was sent."
    ),
    "preauth_period_short": _(
        "The approval is valid %(start)s – %(end)s, which does not cover the planned stay %(planned_start)s – "
        "%(planned_end)s. Ask the insurer to extend it before treatment outside those dates."
    ),
}


def describe_warning(warning: dict) -> str:
    """One stored warning as a sentence in the active language (an unknown code shows its code)."""
    message = WARNING_MESSAGES.get(warning.get("code", ""))
    params = {key: str(value) for key, value in (warning.get("params") or {}).items()}
    params.setdefault("element", warning.get("expression") or "")
    if message is None:
        return str(warning.get("code", ""))
    try:
        return str(message) % params
    except (KeyError, TypeError, ValueError):
        return str(warning.get("code", ""))


class GuaranteeLine(models.Model):
    """One line of the GOP request (copied from a quote line) and the insurer's answer for it."""

    guarantee = models.ForeignKey(Guarantee, on_delete=models.CASCADE, related_name="lines", verbose_name=_("GOP"))
    sequence = models.PositiveIntegerField(_("sequence"))
    quote_line = models.ForeignKey(
        "quotes.QuoteLine", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    code = models.CharField(_("code"), max_length=40, blank=True)
    description = models.CharField(_("description"), max_length=300)
    kind = models.CharField(_("kind"), max_length=20, blank=True)
    quantity = models.PositiveIntegerField(_("quantity"), default=1)
    unit_price_cny = models.DecimalField(_("unit price (CNY)"), max_digits=12, decimal_places=2)
    amount_cny = models.DecimalField(_("amount (CNY)"), max_digits=14, decimal_places=2)
    needs_preauth = models.BooleanField(_("needs pre-authorisation"), default=True)
    review_action = models.CharField(_("insurer's decision"), max_length=10, blank=True)
    approved_amount = models.DecimalField(_("approved"), max_digits=16, decimal_places=2, null=True, blank=True)
    # The insurer's reason for declining or reducing this line (a FHIR item's adjudication reason, or typed in the
    # portal); billing shows it on the invoice line the patient pays instead.
    reason = models.CharField(_("insurer's reason"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("GOP line")
        verbose_name_plural = _("GOP lines")
        ordering = ["guarantee", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["guarantee", "sequence"], name="gop_line_sequence_unique"),
            models.CheckConstraint(name="gop_line_amount_not_negative", condition=Q(amount_cny__gte=0)),
        ]

    def __str__(self):
        return f"{self.guarantee} #{self.sequence}"


class InsurerConsent(models.Model):
    """Links the patient's payment consent (a records Consent, use = payment) to the insurer it names: the
    real reference the GOP request and the claims after treatment are checked against."""

    consent = models.OneToOneField(
        "records.Consent",
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="insurer_link",
        verbose_name=_("consent"),
    )
    insurer = models.ForeignKey(Insurer, on_delete=models.PROTECT, related_name="consents", verbose_name=_("insurer"))

    class Meta:
        verbose_name = _("consent to send health data to an insurer")
        verbose_name_plural = _("consents to send health data to insurers")

    def __str__(self):
        return f"{self.insurer} ({self.consent.get_status_display()})"
