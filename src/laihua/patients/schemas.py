"""API shapes for patients. Input fields are plain strings so that every check happens in the forms the
web pages use, with the same translated, field-named messages (dates are YYYY-MM-DD)."""

import datetime

from ninja import Field, Schema

DATE = {"format": "date", "example": "1980-05-17"}


class CompanionIn(Schema):
    family_name: str = ""
    given_names: str = ""
    relation: str = ""
    sex: str = Field("", description="F, M or X")
    date_of_birth: str = Field("", json_schema_extra=DATE)
    nationality: str = Field("", description="ISO 3166-1 alpha-2 code, e.g. US")
    passport_number: str = ""


class PatientIn(Schema):
    family_name: str = ""
    given_names: str = ""
    sex: str = Field("", description="F, M or X")
    date_of_birth: str = Field("", json_schema_extra=DATE)
    nationality: str = Field("", description="ISO 3166-1 alpha-2 code, e.g. US")
    passport_number: str = Field("", description="5 to 20 letters and digits; spaces and hyphens are removed")
    passport_expiry: str = Field("", json_schema_extra=DATE)
    languages: list[str] = Field([], description="ISO 639-1 codes, e.g. en, ru")
    preferred_currency: str = Field("", description="One of the site's display currencies, e.g. USD")
    email: str = ""
    phone: str = ""
    address: str = ""
    emergency_name: str = ""
    emergency_relation: str = ""
    emergency_phone: str = ""


class RegistrationIn(PatientIn):
    password: str = Field("", description="Checked by the site's password rules")


class CompanionOut(Schema):
    id: int
    family_name: str
    given_names: str
    full_name: str
    relation: str
    sex: str
    date_of_birth: datetime.date
    nationality: str
    passport_masked: str


class OwnCompanionOut(CompanionOut):
    passport_number: str


class PatientOut(Schema):
    id: int
    family_name: str
    given_names: str
    full_name: str
    sex: str
    date_of_birth: datetime.date
    nationality: str
    nationality_name: str
    passport_masked: str
    passport_expiry: datetime.date | None
    languages: list[str]
    preferred_currency: str
    email: str
    phone: str
    address: str
    emergency_name: str
    emergency_relation: str
    emergency_phone: str
    companions: list[CompanionOut]


class OwnPatientOut(PatientOut):
    passport_number: str
    companions: list[OwnCompanionOut]
