"""API shapes for cases. Input fields are plain values checked by the same forms as the pages, so the API
gives the same translated, field-named errors (dates are YYYY-MM-DD)."""

import datetime
import uuid

from ninja import Field, Schema


class HospitalRef(Schema):
    slug: str
    name: dict[str, str]


class ServiceRef(Schema):
    id: int
    code: str
    name: dict[str, str]


class PersonRef(Schema):
    username: str
    name: str


class PatientSummary(Schema):
    name: str
    sex: str
    date_of_birth: datetime.date
    nationality: str
    passport_masked: str
    languages: list[str]


class Insurance(Schema):
    insurer: str
    policy: str
    member: str


class AttachmentOut(Schema):
    id: int
    name: str
    kind: str
    content_type: str
    size: int
    sha256: str
    internal: bool
    created_at: datetime.datetime
    url: str = Field(description="Download (the API route; sign in or send a token)")


class EventOut(Schema):
    at: datetime.datetime
    kind: str
    actor: str | None
    from_state: str
    to_state: str
    note: str
    staff_only: bool
    detail: dict


class CaseSummaryOut(Schema):
    reference: str
    inquiry_group: uuid.UUID
    state: str
    state_label: str
    hospital: HospitalRef
    department: str | None
    patient: PatientSummary
    coordinator: PersonRef | None
    services: list[ServiceRef]
    desired_arrival: datetime.date | None
    desired_departure: datetime.date | None
    language: str
    created_at: datetime.datetime
    state_changed_at: datetime.datetime
    first_response_at: datetime.datetime | None
    first_response_due: datetime.datetime
    overdue: bool
    url: str = Field(description="The case's page")


class CaseOut(CaseSummaryOut):
    description: str
    insurance: Insurance
    allowed_moves: list[str] = Field(description="States the caller may move the case to now")
    timeline: list[EventOut]
    documents: list[AttachmentOut]


class CaseListOut(Schema):
    total: int
    limit: int
    offset: int
    counts: dict[str, int] = Field(description="Cases in each state under the other filters")
    results: list[CaseSummaryOut]


class InquiryIn(Schema):
    hospitals: list[str] = Field([], description="Hospital slugs")
    services: list[int] = Field([], description="Catalog item ids (their hospitals are asked too)")
    description: str = ""
    desired_arrival: str = Field("", json_schema_extra={"format": "date", "example": "2027-03-01"})
    desired_departure: str = Field("", json_schema_extra={"format": "date", "example": "2027-03-10"})
    insurer_name: str = ""
    insurance_policy: str = ""
    insurance_member: str = ""


class InquiryOut(Schema):
    inquiry_group: uuid.UUID
    cases: list[CaseOut]


class CaseFilters(Schema):
    state: str = ""
    country: str = Field("", description="Patient's nationality, ISO 3166-1 alpha-2")
    department: str = Field("", description="Department code")
    coordinator: str = Field("", description="A coordinator's username, 'mine' or 'unassigned'")
    opened_within: int | None = Field(None, description="Opened within this many days")
    older_than: int | None = Field(None, description="Opened more than this many days ago")
    overdue: bool = False
    q: str = Field("", description="Reference or patient's name")
    limit: int = 25
    offset: int = 0


class TransitionIn(Schema):
    state: str
    note: str = ""


class AssignIn(Schema):
    coordinator: str | None = Field(None, description="A coordinator's username; null to unassign")


class MessageOut(Schema):
    id: int
    author: str
    from_patient: bool
    body: str
    internal: bool
    created_at: datetime.datetime
    attachments: list[AttachmentOut]
