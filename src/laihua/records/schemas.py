import datetime

from ninja import Schema


class EpisodeSummaryIn(Schema):
    """Diagnoses need ICD-10 codes; `complete` marks the summary as done at discharge."""

    diagnoses: list[dict] = []  # [{"code": "S83.2", "text": "..."}]
    procedures: list[dict] = []  # [{"text": "...", "date": "YYYY-MM-DD"}]
    medications: list[dict] = []  # [{"text": "...", "dosage": "..."}]
    allergies: list[dict] = []  # [{"text": "..."}]
    results: list[dict] = []  # [{"text": "...", "value": "..."}]
    plan_of_care: str = ""
    follow_up: str = ""
    complete: bool = False


class TermIn(Schema):
    system: str
    code: str
    en: str = ""
    zh_hans: str = ""


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
