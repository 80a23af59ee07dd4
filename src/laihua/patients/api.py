"""Patients through the API.

The passport number: every response carries `passport_masked` (only the last three characters shown).
The plain `passport_number` is returned only under /me, to the patient themselves, about their own
profile and companions (they typed it and must be able to check it against the passport), with
`Cache-Control: no-store`. Registration answers with the masked profile; staff only ever get it masked.
"""

from django.http import HttpResponse
from django.utils.translation import gettext as _
from ninja import Router, Schema, Status

from laihua.accounts.auth import AUTH
from laihua.patients import services
from laihua.patients.schemas import (
    CompanionIn,
    OwnCompanionOut,
    OwnPatientOut,
    PatientIn,
    PatientOut,
    RegistrationIn,
)

router = Router(tags=["patients"])


def _form_data(payload) -> dict:
    """A JSON payload as the data the forms read (strings; a country code in upper case)."""
    data = {key: ("" if value is None else value) for key, value in payload.dict().items()}
    if isinstance(data.get("nationality"), str):
        data["nationality"] = data["nationality"].strip().upper()
    if "password" in data:
        data["password1"] = data["password2"] = data.pop("password")
    return data


def companion_out(companion, *, reveal: bool) -> dict:
    out = {
        "id": companion.pk,
        "family_name": companion.family_name,
        "given_names": companion.given_names,
        "full_name": companion.full_name,
        "relation": companion.relation,
        "sex": companion.sex,
        "date_of_birth": companion.date_of_birth,
        "nationality": companion.nationality.code,
        "passport_masked": companion.passport_masked,
    }
    if reveal:
        out["passport_number"] = companion.passport_number
    return out


def patient_out(patient, *, reveal: bool) -> dict:
    out = {
        "id": patient.pk,
        "full_name": patient.full_name,
        "nationality": patient.nationality.code,
        "nationality_name": str(patient.nationality.name),
        "passport_masked": patient.passport_masked,
        "companions": [companion_out(c, reveal=reveal) for c in patient.companions.all()],
        **{
            name: getattr(patient, name)
            for name in (
                "family_name",
                "given_names",
                "sex",
                "date_of_birth",
                "passport_expiry",
                "languages",
                "preferred_currency",
                "email",
                "phone",
                "address",
                "emergency_name",
                "emergency_relation",
                "emergency_phone",
            )
        },
    }
    if reveal:
        out["passport_number"] = patient.passport_number
    return out


def _no_store(response: HttpResponse) -> None:
    response["Cache-Control"] = "no-store"


class RegistrationOut(Schema):
    status: str
    detail: str


@router.post(
    "/register",
    response={202: RegistrationOut},
    auth=None,
    summary="Start a patient account (the e-mail address is the username); the account works once confirmed",
    description="No authentication. Answers 202 with `status: confirmation_sent` whether or not the address "
    "already has an account, so the answer never tells: a new address gets a link that confirms the account, "
    "an address with an account gets an e-mail saying so. Once confirmed, sign in with the e-mail address "
    "and password (session), and create a personal token if a program will call the API. Bad fields are "
    "422 as elsewhere; too many registrations from one client or for one address are 429.",
)
def register(request, payload: RegistrationIn):
    services.register_patient(_form_data(payload))
    detail = _("Check your e-mail: open the link in it to confirm your address and start using your account.")
    return Status(202, {"status": "confirmation_sent", "detail": detail})


@router.get(
    "/me",
    response=OwnPatientOut,
    auth=AUTH,
    summary="My patient profile, with my passport number in full",
    description="The only answers with a plain `passport_number` are those under /me, to the patient about "
    "their own profile and companions (sent with Cache-Control: no-store). Every other answer, to staff "
    "included, carries only `passport_masked`.",
)
def get_me(request, response: HttpResponse):
    _no_store(response)
    return patient_out(services.own_patient(request.auth), reveal=True)


@router.put("/me", response=OwnPatientOut, auth=AUTH, summary="Change my patient profile (every field)")
def update_me(request, payload: PatientIn, response: HttpResponse):
    _no_store(response)
    patient = services.update_profile(request.auth, services.own_patient(request.auth), _form_data(payload))
    return patient_out(patient, reveal=True)


@router.get("/me/companions", response=list[OwnCompanionOut], auth=AUTH, summary="People travelling with me")
def list_companions(request, response: HttpResponse):
    _no_store(response)
    patient = services.own_patient(request.auth)
    return [companion_out(c, reveal=True) for c in services.companions_of(request.auth, patient)]


@router.post("/me/companions", response={201: OwnCompanionOut}, auth=AUTH, summary="Add a companion")
def add_companion(request, payload: CompanionIn, response: HttpResponse):
    _no_store(response)
    patient = services.own_patient(request.auth)
    companion = services.add_companion(request.auth, patient, _form_data(payload))
    return Status(201, companion_out(companion, reveal=True))


@router.put("/me/companions/{companion_id}", response=OwnCompanionOut, auth=AUTH, summary="Change a companion")
def update_companion(request, companion_id: int, payload: CompanionIn, response: HttpResponse):
    _no_store(response)
    companion = services.update_companion(request.auth, companion_id, _form_data(payload))
    return companion_out(companion, reveal=True)


@router.delete("/me/companions/{companion_id}", response={204: None}, auth=AUTH, summary="Remove a companion")
def remove_companion(request, companion_id: int):
    services.remove_companion(request.auth, companion_id)
    return Status(204, None)


@router.get(
    "/{patient_id}",
    response=PatientOut,
    auth=AUTH,
    summary="A patient's profile, for staff of a hospital where the patient has a case (passport masked)",
)
def get_patient(request, patient_id: int):
    return patient_out(services.get_patient_for(request.auth, patient_id), reveal=False)
