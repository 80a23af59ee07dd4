import datetime
from decimal import Decimal

from ninja import Field, Schema


class ContractIn(Schema):
    insurer: str
    direct_billing: bool = True
    preauth_kinds: list[str] = []
    preauth_threshold_cny: Decimal | None = None
    answer_hours: int = 48
    covered_kinds: list[str] = []
    copay_percent: Decimal = Decimal("0")
    excess_cny: Decimal = Decimal("0")
    currency: str = "USD"
    valid_from: datetime.date | None = None
    valid_until: datetime.date | None = None
    notes: str = ""
    active: bool = True


class CoverageIn(Schema):
    insurer: str
    member_id: str
    policy_number: str = ""
    plan: str = ""
    valid_from: datetime.date
    valid_until: datetime.date


class GuaranteeIn(Schema):
    diagnosis_code: str
    diagnosis_text: str
    treating_doctor: str
    planned_start: datetime.date | None = None
    planned_end: datetime.date | None = None
    clinical_notes: str = ""


class AnswerLineIn(Schema):
    sequence: int
    decision: str = Field("", description="approved | reduced | declined (empty: as the whole answer)")
    amount: Decimal | None = Field(None, description="What is approved for the line, in the answer's currency")
    reason: str = Field("", description="The insurer's reason, shown to the hospital and the patient")


class AnswerIn(Schema):
    status: str
    reference: str = ""
    amount: Decimal | None = None
    currency: str = ""
    valid_from: datetime.date | None = None
    valid_until: datetime.date | None = None
    disposition: str = ""
    approved_lines: list[int] | None = None
    lines: list[AnswerLineIn] | None = None


class ResubmitIn(Schema):
    clinical_notes: str


class CancelIn(Schema):
    reason: str = ""


class InsurerConsentIn(Schema):
    period_end: str | None = None
