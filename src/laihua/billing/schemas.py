import datetime
from decimal import Decimal

from ninja import Field, Schema


class InvoiceIn(Schema):
    case: str = Field(description="The case reference, e.g. LH-2026-000123")


class ExtraIn(Schema):
    """Something delivered beyond the quote: a catalog item (`item` id) or a line priced by hand."""

    reason: str
    item: int | None = None
    quantity: int = 1
    unit_price: Decimal | None = None
    service_date: datetime.date | None = None
    code: str = ""
    kind: str = ""
    description: dict[str, str] | None = None


class ConfirmIn(Schema):
    quantity: int = Field(description="The quantity delivered; 0 leaves the line off the invoice")


class IssueIn(Schema):
    confirm_shortfall: bool = Field(
        False, description="Issue although the insurer gets less than its guarantee allows (after reading why)"
    )
    insurer_cny: Decimal | None = Field(
        None, description="The insurer's part you saw in the draft's split: refused if the split has changed since"
    )


class OfficialReceiptIn(Schema):
    kind: str = Field(description="fapiao | medical_receipt")
    number: str
    date: datetime.date


class ReasonIn(Schema):
    reason: str


class PaymentIn(Schema):
    kind: str = Field(description="deposit | balance | refund | remittance")
    method: str = Field(description="card | bank_transfer | cash | alipay | wechat_pay | other")
    reference: str
    amount: Decimal
    currency: str = "CNY"
    received_on: datetime.date | None = None
    payer: str | None = Field(None, description="patient | insurer (follows from the kind)")
    idempotency_key: str = Field("", description="Or send the Idempotency-Key header")
    confirm_duplicate: bool = Field(
        False, description="Record it although a payment with the same reference and amount came within a day"
    )


class WriteOffIn(Schema):
    part: str = Field(description="patient | insurer")
    amount: Decimal
    reason: str


class ResponseLineIn(Schema):
    sequence: int = Field(description="The claim item's sequence (the invoice line's position)")
    paid: Decimal = Decimal("0")
    adjusted: Decimal | None = None
    rejected: Decimal = Decimal("0")
    disposition: str = Field("", description="For what is not paid: patient | write_off (empty: decide later)")
    reason: str = ""


class ClaimResponseIn(Schema):
    lines: list[ResponseLineIn]
    note: str = ""


class ShortfallIn(Schema):
    disposition: str = Field(description="patient | write_off")
    reason: str = ""


class InvoiceLineOut(Schema):
    id: int
    position: int
    source: str
    item: int | None
    code: str
    kind: str
    description: dict
    service_date: datetime.date
    quantity: int
    confirmed: bool
    unit_price_cny: Decimal
    gross_cny: Decimal
    discount_percent: Decimal | None
    discount_fixed_cny: Decimal | None
    discount_cny: Decimal
    discount_reason: str
    amount_cny: Decimal
    reason: str
    not_covered_cny: Decimal
    excess_cny: Decimal
    copay_cny: Decimal
    declined_cny: Decimal
    over_limit_cny: Decimal
    insurer_cny: Decimal
    patient_cny: Decimal
    gop_sequence: int | None
    insurer_decision: str
    insurer_reason: str


class PaymentOut(Schema):
    id: int
    invoice: int
    kind: str
    payer: str
    method: str
    reference: str
    amount: Decimal
    currency: str
    amount_cny: Decimal
    received_on: datetime.date
    idempotency_key: str
    rate_cny_per_unit: Decimal | None = Field(None, description="The rate of the day received (a foreign amount)")
    pinned_rate: Decimal | None = Field(None, description="The invoice's pinned rate it settled at, if any")
    settled_cny: Decimal = Field(description="What it counts for towards the balance (a refund negative there)")
    exchange_difference_cny: Decimal = Field(description="amount_cny less settled_cny: a gain, a loss negative")


class DuplicateOut(Schema):
    error: str = Field(description="possible_duplicate")
    detail: str
    field: str | None
    duplicate_of: PaymentOut = Field(description="The earlier payment; send confirm_duplicate: true to go ahead")


class WriteOffOut(Schema):
    id: int
    part: str
    amount_cny: Decimal
    reason: str
    status: str
    requested_by: str
    decided_by: str


class BalancesOut(Schema):
    total: Decimal
    insurer_part: Decimal
    patient_part: Decimal
    moved_to_patient: Decimal
    patient_paid: Decimal
    insurer_paid: Decimal
    patient_written_off: Decimal
    insurer_written_off: Decimal
    pending_write_offs: Decimal
    insurer_due: Decimal
    patient_due: Decimal
    balance: Decimal
    patient_exchange: Decimal = Decimal("0.00")
    insurer_exchange: Decimal = Decimal("0.00")
    exchange: Decimal = Field(Decimal("0.00"), description="Exchange gains (losses negative) on the payments")


class PinnedOut(Schema):
    """An issued invoice's amounts in the patient's currency, pinned at the issue day's rate: paying a part's amount
    owed in this currency settles it exactly."""

    currency: str
    rate: Decimal
    rate_date: datetime.date | None
    total: Decimal
    patient: Decimal
    insurer: Decimal
    patient_due: Decimal
    insurer_due: Decimal


class InvoiceOut(Schema):
    id: int
    number: str | None
    case: str
    status: str
    replaces: str | None
    replaces_id: int | None
    replaced_by: str | None = Field(description="The number of the invoice that replaced this cancelled one")
    replaced_by_id: int | None
    insurer: str | None
    insurer_name: str
    guarantee_ref: str
    rules: dict
    currency: str
    language: str
    rate: dict | None
    total_cny: Decimal
    insurer_cny: Decimal
    patient_cny: Decimal
    total_converted: Decimal | None
    pinned: PinnedOut | None = None
    issue_date: datetime.date | None
    official_receipt: dict | None = Field(description="The hospital's fapiao or electronic medical receipt")
    lines: list[InvoiceLineOut]
    split: dict | None = Field(
        description="Insurer and patient per line and in total with the reasons: a draft's as issuing would make it "
        "now (computed, not stored), an issued invoice's as stored"
    )
    balances: BalancesOut
    payments: list[PaymentOut]
    write_offs: list[WriteOffOut]
    claims: list[str]
    pdf: str | None
    receipt: str | None


class ClaimLineOut(Schema):
    sequence: int
    submitted_cny: Decimal
    paid_cny: Decimal
    adjusted_cny: Decimal
    rejected_cny: Decimal
    disposition: str
    reason: str


class ClaimOut(Schema):
    id: int
    number: str
    invoice: str
    case: str
    insurer: str
    insurer_name: str
    guarantee_ref: str
    status: str
    amount_cny: Decimal
    submitted_at: datetime.datetime
    outcome: str | None
    paid_cny: Decimal | None
    moved_to_patient_cny: Decimal | None
    response_lines: list[ClaimLineOut]
    resource: dict


class ReceivableOut(Schema):
    invoice: str
    case: str
    payer: str
    amount_cny: Decimal
    age_days: int
    bucket: str
    official_receipt: dict | None


class ReceivablesOut(Schema):
    buckets: list[str]
    by_payer: list[dict]
    rows: list[ReceivableOut]
    total: Decimal


class ExchangeRowOut(Schema):
    received_on: datetime.date
    payment: int
    invoice: str
    case: str
    kind: str
    payer: str
    reference: str
    currency: str
    amount: Decimal
    pinned_rate: Decimal | None
    day_rate: Decimal | None
    settled_cny: Decimal
    received_cny: Decimal
    exchange_cny: Decimal


class ExchangeTotalOut(Schema):
    currency: str
    payments: int
    amount: Decimal
    settled_cny: Decimal
    received_cny: Decimal
    exchange_cny: Decimal


class ExchangeReportOut(Schema):
    month: str
    rows: list[ExchangeRowOut]
    by_currency: list[ExchangeTotalOut]
    settled_cny: Decimal
    received_cny: Decimal
    exchange_cny: Decimal
    gains_cny: Decimal
    losses_cny: Decimal
