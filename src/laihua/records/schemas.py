import datetime

from ninja import Schema


class EpisodeSummaryIn(Schema):
    """The structured discharge summary (records/discharge.py); `complete` marks it as done at discharge.
    Diagnoses need a code: ICD-10 (checked) or a code of the term list."""

    diagnoses: list[dict] = []  # [{"system": ICD-10 by default, "code": "S83.2", "text", "text_second"}]
    procedures: list[dict] = []  # [{"system", "code", "text", "text_second", "date": "YYYY-MM-DD"}]
    # [{"system", "code", "text", "dose", "unit", "route", "frequency", "period_unit", "duration_days", "dosage_text"}]
    medications: list[dict] = []
    allergies: list[dict] = []  # [{"text": "..."}]
    results: list[dict] = []  # [{"text": "...", "value": "..."}]
    follow_ups: list[dict] = []  # [{"date": "YYYY-MM-DD", "text": "..."}]
    language: str = "en"  # of the free text: en | zh-hans
    plan_of_care: str = ""
    plan_of_care_second: str = ""
    follow_up: str = ""
    follow_up_second: str = ""
    complete: bool = False


class TermIn(Schema):
    system: str
    code: str
    en: str = ""
    zh_hans: str = ""
    scope: str | None = None  # "platform" (platform administrators) or "hospital" (the actor's hospital's override)


class ConsentIn(Schema):
    recipient_name: str
    recipient_email: str
    recipient_country: str = ""
    purpose: str
    data_types: list[str]
    period_start: datetime.date
    period_end: datetime.date


class TransferIn(Schema):
    recipient_email: str
    data_types: list[str] = []
    language: str = ""


class PdfStateOut(Schema):
    """A records PDF: `ready` (fetch `pdf_url`), `pending` (being prepared by a job: ask `status_url` again in a
    few seconds) or `failed` (fetching `pdf_url` asks for it again). `items`: the items it shows (null when it
    is rendered at once)."""

    status: str
    items: int | None = None
    pdf_url: str
    status_url: str
