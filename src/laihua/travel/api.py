"""Entry guidance and invitation letters over JSON: thin routes calling travel.services."""

import datetime

from django.http import HttpResponse
from django.urls import reverse
from ninja import Field, Query, Router, Schema, Status

from laihua.accounts.auth import AUTH
from laihua.travel import services

router = Router(tags=["travel"])


def _anonymous(request):
    """Lets the public guidance through without a sign-in; a signed-in caller is still recognised."""
    return request.user if request.user.is_authenticated else True


OPTIONAL_AUTH = [*AUTH, _anonymous]


class GuidanceParams(Schema):
    case: str = Field("", description="A case reference: the case's patient and dates (sign-in needed).")
    nationality: str = Field("", description="ISO 3166-1 alpha-2 code, e.g. FR (public check).")
    arrival: str = ""
    departure: str = ""


class RouteOut(Schema):
    scheme: str
    name: str
    fallback: bool
    fits: bool
    max_stay_days: int | None
    stay_days: int | None
    fits_stay: bool | None
    exceeded_by_days: int
    medical_purpose_listed: bool
    place_fits: bool | None
    onward_ticket_required: bool
    conditions: str
    notes: str
    country_note: str
    valid_from: datetime.date | None
    valid_until: datetime.date | None
    source_title: str
    source_url: str
    warnings: list[str]


class GuidanceOut(Schema):
    case: str | None = None
    nationality: str
    nationality_name: str
    arrival: datetime.date | None
    departure: datetime.date | None
    stay_days: int | None
    checked_for: datetime.date
    best: str | None = Field(None, description="The first route that fits the trip as planned.")
    routes: list[RouteOut]
    ended: list[str]
    warnings: list[str]


def _user(request):
    user = request.auth if request.auth is not True else None
    return user if user is not None and getattr(user, "is_authenticated", False) else None


@router.get(
    "/guidance",
    response=GuidanceOut,
    auth=OPTIONAL_AUTH,
    summary="Which entry route fits: for a case (?case=REF, signed in) "
    "or for anyone (?nationality=FR&arrival=&departure=)",
)
def guidance(request, params: Query[GuidanceParams]):
    if params.case:
        found = services.case_guidance(_user(request), params.case)
        return {"case": params.case, **found.as_dict()}
    return services.public_guidance(
        {"nationality": params.nationality.upper(), "arrival": params.arrival, "departure": params.departure}
    ).as_dict()


class LetterIn(Schema):
    case: str
    arrival: datetime.date
    departure: datetime.date
    purpose: str
    payer: str = Field("self", description="self, insurer or other")
    payer_name: str = ""
    companions: list[int] = Field(default_factory=list, description="Ids of the patient's companions to list.")


class LetterOut(Schema):
    id: int
    number: str
    case: str
    issued_at: datetime.datetime
    issued_by: str
    arrival: datetime.date
    departure: datetime.date
    payer: str
    companions: int
    revoked: bool
    revoked_at: datetime.datetime | None
    revoke_reason: str
    pdf_url: str


def letter_out(letter) -> dict:
    snapshot = letter.snapshot
    return {
        "id": letter.pk,
        "number": letter.number,
        "case": snapshot.get("case", ""),
        "issued_at": letter.issued_at,
        "issued_by": letter.issued_by.get_full_name() or letter.issued_by.get_username(),
        "arrival": snapshot["arrival"],
        "departure": snapshot["departure"],
        "payer": snapshot["payer"]["kind"],
        "companions": len(snapshot.get("companions", [])),
        "revoked": letter.revoked,
        "revoked_at": letter.revoked_at,
        "revoke_reason": letter.revoke_reason,
        "pdf_url": reverse("api:travel_letter_pdf", args=[letter.pk]),
    }


@router.post(
    "/letters", response={201: LetterOut}, auth=AUTH, summary="Issue the invitation letter for an accepted case"
)
def issue_letter(request, payload: LetterIn):
    data = payload.dict()
    reference = data.pop("case")
    data["companions"] = [str(pk) for pk in data["companions"]]
    letter = services.issue_letter(request.auth, reference, data)
    return Status(201, letter_out(letter))


@router.get("/letters", response=list[LetterOut], auth=AUTH, summary="A case's invitation letters (?case=REF)")
def list_letters(request, case: str):
    return [letter_out(letter) for letter in services.list_letters(request.auth, case)]


@router.get("/letters/{letter_id}/pdf", auth=AUTH, url_name="travel_letter_pdf", summary="An invitation letter's PDF")
def letter_pdf(request, letter_id: int):
    letter, pdf = services.letter_pdf(request.auth, letter_id)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="invitation-{letter.number}.pdf"'
    return response


class RevokeIn(Schema):
    reason: str = ""


@router.post("/letters/{letter_id}/revoke", response=LetterOut, auth=AUTH, summary="Withdraw an invitation letter")
def revoke_letter(request, letter_id: int, payload: RevokeIn):
    return letter_out(services.revoke_letter(request.auth, letter_id, reason=payload.reason))
