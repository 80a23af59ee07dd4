"""Billing: the invoice of a case (FHIR Invoice), its lines split between insurer and patient, the claim
sent to the insurer (FHIR Claim use=claim) and its response, payments and write-offs.

Amounts are CNY Decimal to the fen. What each payer still owes is always computed from the rows
(billing.services.balances_of), never stored. That parts add up is checked by the services and the
Hypothesis tests, not by CHECK constraints: SQLite compares sums of decimals as floats."""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from laihua.kit.i18n import TranslatedField, pick

MONEY = {"max_digits": 14, "decimal_places": 2}


class InvoiceStatus(models.TextChoices):
    """FHIR Invoice.status codes."""

    DRAFT = "draft", _("Draft")
    ISSUED = "issued", _("Issued")
    BALANCED = "balanced", _("Balanced")
    CANCELLED = "cancelled", _("Cancelled")
    ENTERED_IN_ERROR = "entered-in-error", _("Entered in error")


OPEN_STATUSES = (InvoiceStatus.DRAFT, InvoiceStatus.ISSUED, InvoiceStatus.BALANCED)
# A cancelled invoice (replaced) or one entered in error owes nothing, whatever its parts were.
VOID_STATUSES = (InvoiceStatus.CANCELLED, InvoiceStatus.ENTERED_IN_ERROR)


class OfficialReceiptKind(models.TextChoices):
    """The hospital's official document for the money (Laihua's statement of charges is neither): a fapiao
    issued through the tax system, or the electronic medical receipt public hospitals issue."""

    FAPIAO = "fapiao", _("Fapiao (tax invoice)")
    MEDICAL_RECEIPT = "medical_receipt", _("Electronic medical receipt")


class InvoiceSequence(models.Model):
    """The last invoice number given by a hospital in a year (locked while numbering)."""

    hospital = models.ForeignKey("hospitals.Hospital", on_delete=models.CASCADE, related_name="+")
    year = models.PositiveIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["hospital", "year"], name="invoice_sequence_unique")]

    def __str__(self):
        return f"{self.hospital_id}/{self.year}: {self.last}"


class Invoice(models.Model):
    """A case's invoice (FHIR Invoice; shown as the "statement of charges", never as a fapiao): drafted from what
    was delivered, issued (then frozen), balanced when nothing is owed."""

    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="invoices", verbose_name=_("case"))
    hospital = models.ForeignKey(
        "hospitals.Hospital", on_delete=models.PROTECT, related_name="invoices", verbose_name=_("hospital")
    )
    number = models.CharField(_("statement number"), max_length=40, unique=True, null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=InvoiceStatus.choices, default=InvoiceStatus.DRAFT, db_index=True
    )
    quote = models.ForeignKey(
        "quotes.Quote", null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("quote")
    )
    replaces = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("replaces")
    )
    # The insurer and the guarantee the split was made under (empty: the patient pays everything).
    insurer = models.ForeignKey(
        "insurance.Insurer",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("insurer"),
    )
    insurer_name = models.CharField(_("insurer's name"), max_length=200, blank=True)
    guarantee_ref = models.CharField(_("guarantee of payment"), max_length=60, blank=True)
    rules = models.JSONField(_("contract rules applied"), default=dict, blank=True)
    currency = models.CharField(_("patient's currency"), max_length=3)
    language = models.CharField(_("patient's language"), max_length=16, default="en")
    rate_cny_per_unit = models.DecimalField(max_digits=18, decimal_places=8, null=True, blank=True)
    rate_date = models.DateField(null=True, blank=True)
    rate_source = models.CharField(max_length=200, blank=True)
    total_cny = models.DecimalField(_("total (CNY)"), default=Decimal("0.00"), **MONEY)
    insurer_cny = models.DecimalField(_("insurer's part (CNY)"), default=Decimal("0.00"), **MONEY)
    patient_cny = models.DecimalField(_("patient's part (CNY)"), default=Decimal("0.00"), **MONEY)
    total_converted = models.DecimalField(_("total (patient's currency)"), null=True, blank=True, **MONEY)
    # Pinned at issue (the rate above): paying a part's amount in the patient's currency settles that part exactly.
    patient_converted = models.DecimalField(_("patient's part (patient's currency)"), null=True, blank=True, **MONEY)
    insurer_converted = models.DecimalField(_("insurer's part (patient's currency)"), null=True, blank=True, **MONEY)
    issue_date = models.DateField(_("issued on"), null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    issued_at = models.DateTimeField(_("issued"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled"), null=True, blank=True)
    cancel_reason = models.TextField(_("reason for cancelling"), blank=True)
    # The hospital's official receipt for this statement (fapiao or electronic medical receipt), recorded by finance.
    official_receipt_kind = models.CharField(
        _("official receipt"), max_length=20, choices=OfficialReceiptKind.choices, blank=True
    )
    official_receipt_number = models.CharField(_("official receipt number"), max_length=60, blank=True)
    official_receipt_date = models.DateField(_("official receipt date"), null=True, blank=True)
    official_receipt_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    official_receipt_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("statement of charges")
        verbose_name_plural = _("statements of charges")
        ordering = ["-created_at", "-pk"]
        constraints = [
            # One invoice in force per case: a correction cancels it and drafts its replacement.
            models.UniqueConstraint(
                fields=["case"], condition=Q(status__in=["draft", "issued", "balanced"]), name="invoice_one_open"
            ),
            models.CheckConstraint(name="invoice_insurer_not_negative", condition=Q(insurer_cny__gte=0)),
            models.CheckConstraint(name="invoice_patient_not_negative", condition=Q(patient_cny__gte=0)),
        ]

    def __str__(self):
        return self.number or f"{self.case} draft invoice"

    @property
    def label(self) -> str:
        return self.number or str(_("Draft statement"))

    @property
    def is_draft(self) -> bool:
        return self.status == InvoiceStatus.DRAFT

    @property
    def is_frozen(self) -> bool:
        return self.status != InvoiceStatus.DRAFT

    @property
    def is_void(self) -> bool:
        return self.status in VOID_STATUSES


class InsurerDecision(models.TextChoices):
    """What the guarantee says of a line, when the insurer does not pay all of it."""

    APPROVED = "approved", _("approved by the insurer")
    REDUCED = "reduced", _("reduced by the insurer")
    DECLINED = "declined", _("declined by the insurer")
    PENDING = "pending", _("not decided by the insurer")
    OUTSIDE_STAY = "outside_stay", _("outside the stay the guarantee covers")


class LineSource(models.TextChoices):
    QUOTE = "quote", _("Accepted quote")
    BOOKING = "booking", _("Booked service")
    EXTRA = "extra", _("Added by staff")


class InvoiceLine(models.Model):
    """What was delivered: a quoted or booked service (staff confirm the quantity) or an extra with a reason.

    The split columns are filled when the invoice is issued."""

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines", verbose_name=_("invoice"))
    position = models.PositiveIntegerField(_("position"))
    source = models.CharField(_("source"), max_length=10, choices=LineSource.choices)
    quote_line = models.ForeignKey(
        "quotes.QuoteLine", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    booking_request = models.ForeignKey(
        "capacity.BookingRequest", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    item = models.ForeignKey("catalog.CatalogItem", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    code = models.CharField(_("code"), max_length=40, blank=True)
    kind = models.CharField(_("kind"), max_length=20, blank=True, help_text=_("The catalog kind, for coverage."))
    description = TranslatedField(_("description"))
    service_date = models.DateField(_("service date"))
    quantity = models.PositiveIntegerField(_("quantity delivered"), default=1)
    confirmed = models.BooleanField(_("delivery confirmed"), default=False)
    unit_price_cny = models.DecimalField(_("unit price (CNY)"), max_digits=12, decimal_places=2)
    discount_percent = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    discount_fixed_cny = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    gross_cny = models.DecimalField(_("before discount (CNY)"), **MONEY)
    discount_cny = models.DecimalField(_("discount (CNY)"), default=Decimal("0.00"), **MONEY)
    amount_cny = models.DecimalField(_("amount (CNY)"), **MONEY)
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    discount_reason = models.CharField(_("reason for the discount"), max_length=300, blank=True)
    not_covered_cny = models.DecimalField(_("not covered"), default=Decimal("0.00"), **MONEY)
    excess_cny = models.DecimalField(_("excess"), default=Decimal("0.00"), **MONEY)
    copay_cny = models.DecimalField(_("co-payment"), default=Decimal("0.00"), **MONEY)
    over_limit_cny = models.DecimalField(_("above the guarantee"), default=Decimal("0.00"), **MONEY)
    declined_cny = models.DecimalField(_("not approved by the insurer"), default=Decimal("0.00"), **MONEY)
    # The GOP line the invoice line was matched to, the insurer's decision on it and its reason (set at issue).
    gop_sequence = models.PositiveIntegerField(_("GOP line"), null=True, blank=True)
    insurer_decision = models.CharField(
        _("insurer's decision"), max_length=12, choices=InsurerDecision.choices, blank=True
    )
    insurer_reason = models.CharField(_("insurer's reason"), max_length=300, blank=True)
    insurer_cny = models.DecimalField(_("insurer's part"), default=Decimal("0.00"), **MONEY)
    patient_cny = models.DecimalField(_("patient's part"), default=Decimal("0.00"), **MONEY)
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("invoice line")
        verbose_name_plural = _("invoice lines")
        ordering = ["invoice", "position", "pk"]
        constraints = [
            models.CheckConstraint(name="invoice_line_amount_not_negative", condition=Q(amount_cny__gte=0)),
            models.CheckConstraint(name="invoice_extra_has_reason", condition=~Q(source="extra") | ~Q(reason="")),
        ]

    def __str__(self):
        return f"{self.invoice} #{self.position} {pick(self.description)}"


class PaymentKind(models.TextChoices):
    DEPOSIT = "deposit", _("Deposit")
    BALANCE = "balance", _("Balance payment")
    REFUND = "refund", _("Refund")
    REMITTANCE = "remittance", _("Insurer's remittance")


class Payer(models.TextChoices):
    PATIENT = "patient", _("Patient")
    INSURER = "insurer", _("Insurer")


class PaymentMethod(models.TextChoices):
    CARD = "card", _("Card")
    BANK_TRANSFER = "bank_transfer", _("Bank transfer")
    CASH = "cash", _("Cash")
    ALIPAY = "alipay", _("Alipay")
    WECHAT_PAY = "wechat_pay", _("WeChat Pay")
    OTHER = "other", _("Other")


class Payment(models.Model):
    """Money received for (or refunded from) an invoice. The amount is always positive; a refund counts
    negative. Retrying with the same idempotency key returns the same payment."""

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="payments", verbose_name=_("invoice"))
    hospital = models.ForeignKey("hospitals.Hospital", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("kind"), max_length=12, choices=PaymentKind.choices)
    payer = models.CharField(_("payer"), max_length=10, choices=Payer.choices)
    method = models.CharField(_("method"), max_length=20, choices=PaymentMethod.choices)
    reference = models.CharField(_("reference"), max_length=120)
    amount = models.DecimalField(_("amount"), **MONEY)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    amount_cny = models.DecimalField(_("amount (CNY)"), **MONEY)
    rate_cny_per_unit = models.DecimalField(max_digits=18, decimal_places=8, null=True, blank=True)
    # What the payment counts for towards the balance: its amount in CNY, or, paid in the invoice's pinned currency,
    # its share of the part at the pinned rate; the exchange gain (a loss negative) is amount_cny less that.
    settled_cny = models.DecimalField(_("settled (CNY)"), **MONEY)
    exchange_difference_cny = models.DecimalField(_("exchange gain or loss (CNY)"), default=Decimal("0.00"), **MONEY)
    pinned_rate = models.DecimalField(_("pinned rate"), max_digits=18, decimal_places=8, null=True, blank=True)
    received_on = models.DateField(_("received on"))
    idempotency_key = models.CharField(_("idempotency key"), max_length=100)
    claim = models.ForeignKey("Claim", null=True, blank=True, on_delete=models.PROTECT, related_name="remittances")
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["received_on", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["hospital", "idempotency_key"], name="payment_key_unique"),
            models.CheckConstraint(name="payment_amount_positive", condition=Q(amount__gt=0) & Q(amount_cny__gt=0)),
            models.CheckConstraint(name="payment_settled_not_negative", condition=Q(settled_cny__gte=0)),
            models.CheckConstraint(
                name="payment_exchange_only_at_pin",
                condition=Q(pinned_rate__isnull=False) | Q(exchange_difference_cny=0),
            ),
            models.CheckConstraint(
                name="payment_payer_matches_kind",
                condition=(Q(kind="remittance", payer="insurer") | (~Q(kind="remittance") & Q(payer="patient"))),
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.amount} {self.currency} ({self.reference})"

    def save(self, *args, **kwargs):
        if self.settled_cny is None:  # not paid at a pinned rate: it settles what it is worth in CNY
            self.settled_cny = self.amount_cny
        super().save(*args, **kwargs)

    @property
    def signed_cny(self) -> Decimal:
        return -self.amount_cny if self.kind == PaymentKind.REFUND else self.amount_cny

    @property
    def signed_settled_cny(self) -> Decimal:
        return -self.settled_cny if self.kind == PaymentKind.REFUND else self.settled_cny


class WriteOffStatus(models.TextChoices):
    PROPOSED = "proposed", _("Waiting for approval")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


class WriteOff(models.Model):
    """An amount the hospital gives up on one part of an invoice; it counts only once finance approves it."""

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="write_offs")
    part = models.CharField(_("part"), max_length=10, choices=Payer.choices)
    amount_cny = models.DecimalField(_("amount (CNY)"), **MONEY)
    reason = models.CharField(_("reason"), max_length=300)
    status = models.CharField(_("status"), max_length=10, choices=WriteOffStatus.choices, default="proposed")
    claim_response = models.ForeignKey(
        "ClaimResponse", null=True, blank=True, on_delete=models.PROTECT, related_name="write_offs"
    )
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("write-off")
        verbose_name_plural = _("write-offs")
        ordering = ["requested_at", "pk"]
        constraints = [
            models.CheckConstraint(name="write_off_positive", condition=Q(amount_cny__gt=0)),
            models.CheckConstraint(name="write_off_has_reason", condition=~Q(reason="")),
        ]

    def __str__(self):
        return f"{self.invoice} {self.get_part_display()} {self.amount_cny} ({self.get_status_display()})"


class ClaimStatus(models.TextChoices):
    """FHIR Claim.status codes."""

    ACTIVE = "active", _("Sent")
    CANCELLED = "cancelled", _("Cancelled")
    DRAFT = "draft", _("Draft")
    ENTERED_IN_ERROR = "entered-in-error", _("Entered in error")


class Claim(models.Model):
    """The insurer's part of an issued invoice, sent as a FHIR Claim (use = claim)."""

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="claims", verbose_name=_("invoice"))
    hospital = models.ForeignKey("hospitals.Hospital", on_delete=models.PROTECT, related_name="+")
    insurer = models.ForeignKey(
        "insurance.Insurer", on_delete=models.PROTECT, related_name="+", verbose_name=_("insurer")
    )
    insurer_name = models.CharField(_("insurer's name"), max_length=200, blank=True)
    guarantee_ref = models.CharField(_("guarantee of payment"), max_length=60, blank=True)
    number = models.CharField(_("claim number"), max_length=50, unique=True)
    status = models.CharField(_("status"), max_length=20, choices=ClaimStatus.choices, default=ClaimStatus.ACTIVE)
    amount_cny = models.DecimalField(_("amount claimed (CNY)"), **MONEY)
    resource = models.JSONField(_("FHIR Claim"), default=dict)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    submitted_at = models.DateTimeField(_("sent"), auto_now_add=True)

    class Meta:
        verbose_name = _("claim")
        verbose_name_plural = _("claims")
        ordering = ["-submitted_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["invoice"], condition=Q(status="active"), name="claim_one_active_per_invoice"
            ),
        ]

    def __str__(self):
        return self.number


class ClaimOutcome(models.TextChoices):
    """FHIR ClaimResponse.outcome codes."""

    QUEUED = "queued", _("Queued")
    COMPLETE = "complete", _("Complete")
    ERROR = "error", _("Error")
    PARTIAL = "partial", _("Partial")


class Disposition(models.TextChoices):
    PATIENT = "patient", _("Patient pays")
    WRITE_OFF = "write_off", _("Write off")


class ClaimResponse(models.Model):
    """The insurer's answer to a claim: per line, what it pays, adjusts down or rejects."""

    claim = models.OneToOneField(Claim, on_delete=models.PROTECT, related_name="response")
    outcome = models.CharField(_("outcome"), max_length=10, choices=ClaimOutcome.choices)
    paid_cny = models.DecimalField(_("paid (CNY)"), **MONEY)
    adjusted_cny = models.DecimalField(_("adjusted (CNY)"), **MONEY)
    rejected_cny = models.DecimalField(_("rejected (CNY)"), **MONEY)
    moved_to_patient_cny = models.DecimalField(_("moved to the patient's part (CNY)"), **MONEY)
    disposition_note = models.CharField(_("note"), max_length=300, blank=True)
    resource = models.JSONField(_("FHIR ClaimResponse"), default=dict, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("claim response")
        verbose_name_plural = _("claim responses")
        constraints = [
            models.CheckConstraint(
                name="claim_response_not_negative",
                condition=Q(paid_cny__gte=0, adjusted_cny__gte=0, rejected_cny__gte=0, moved_to_patient_cny__gte=0),
            )
        ]

    def __str__(self):
        return f"{self.claim} {self.outcome}"


class ClaimResponseLine(models.Model):
    response = models.ForeignKey(ClaimResponse, on_delete=models.CASCADE, related_name="lines")
    line = models.ForeignKey(InvoiceLine, on_delete=models.PROTECT, related_name="+")
    submitted_cny = models.DecimalField(**MONEY)
    paid_cny = models.DecimalField(**MONEY)
    adjusted_cny = models.DecimalField(**MONEY)
    rejected_cny = models.DecimalField(**MONEY)
    disposition = models.CharField(max_length=10, choices=Disposition.choices, blank=True)
    reason = models.CharField(_("reason"), max_length=300, blank=True)

    class Meta:
        ordering = ["response", "line__position"]

    def __str__(self):
        return f"{self.response} #{self.line.position}"
