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


# --- the patient's days in China ------------------------------------------------------------------


def _case(request, reference: str):
    from laihua.cases.services import get_case

    return get_case(request.auth, reference, audit=None)


def _stay(request, case) -> dict:
    body = services.stay_json(services.stay_overview(request.auth, case))
    letter = body["letter_to_reissue"]
    if letter:
        letter["pdf_url"] = reverse("api:travel_letter_pdf", args=[letter["id"]])
    return body


@router.get(
    "/cases/{reference}/stay",
    response=dict,
    auth=AUTH,
    summary="A case's flights, pickup, accommodation, companions and permitted stay",
)
def stay(request, reference: str):
    """The case's patient and its hospital's staff; `permitted_stay` names the limit and how to extend it."""
    return _stay(request, _case(request, reference))


class FlightIn(Schema):
    direction: str = Field(..., description="in (towards China) or out")
    number: str = Field(..., description="e.g. MU554")
    from_airport: str = Field(..., description="IATA code, e.g. CDG")
    departs: str = Field(..., description="local time at the departure airport, e.g. 2027-01-05T21:40")
    to_airport: str = Field(..., description="IATA code, e.g. PVG")
    arrives: str = Field(..., description="local time at the arrival airport, e.g. 2027-01-06T15:05")


@router.post("/cases/{reference}/flights", response={201: dict}, auth=AUTH, summary="Record a flight of the trip")
def flight_add(request, reference: str, payload: FlightIn):
    case = _case(request, reference)
    services.save_flight(request.auth, case, payload.dict())
    return Status(201, _stay(request, case))


@router.put("/cases/{reference}/flights/{flight_id}", response=dict, auth=AUTH, summary="Correct a flight")
def flight_put(request, reference: str, flight_id: int, payload: FlightIn):
    case = _case(request, reference)
    services.save_flight(request.auth, case, payload.dict(), flight_id=flight_id)
    return _stay(request, case)


@router.delete("/cases/{reference}/flights/{flight_id}", response={204: None}, auth=AUTH, summary="Remove a flight")
def flight_delete(request, reference: str, flight_id: int):
    services.remove_flight(request.auth, _case(request, reference), flight_id)
    return Status(204, None)


class PickupIn(Schema):
    pickup_status: str = Field(..., description="none, requested, confirmed or cancelled")
    pickup_note: str = Field("", description="driver, phone, where to meet")


@router.put("/cases/{reference}/pickup", response=dict, auth=AUTH, summary="Ask for, confirm or cancel the pickup")
def pickup_put(request, reference: str, payload: PickupIn):
    case = _case(request, reference)
    services.set_pickup(request.auth, case, payload.dict())
    return _stay(request, case)


class AccommodationBookingIn(Schema):
    accommodation: int = Field(..., description="id of a partner accommodation of the case's hospital")
    check_in: datetime.date
    check_out: datetime.date
    guests: int = 1
    note: str = ""


@router.post(
    "/cases/{reference}/accommodation-bookings",
    response={201: dict},
    auth=AUTH,
    summary="Request accommodation near the hospital",
)
def booking_add(request, reference: str, payload: AccommodationBookingIn):
    case = _case(request, reference)
    services.request_accommodation(request.auth, case, payload.dict())
    return Status(201, _stay(request, case))


class BookingStatusIn(Schema):
    status: str = Field(..., description="requested, confirmed or cancelled")
    note: str = ""


@router.put(
    "/cases/{reference}/accommodation-bookings/{booking_id}",
    response=dict,
    auth=AUTH,
    summary="Confirm or cancel an accommodation booking",
)
def booking_put(request, reference: str, booking_id: int, payload: BookingStatusIn):
    case = _case(request, reference)
    services.set_booking_status(request.auth, case, booking_id, payload.dict())
    return _stay(request, case)


class CompanionsIn(Schema):
    companions: list[int] = Field(default_factory=list, description="ids of the patient's companions")


@router.put("/cases/{reference}/companions", response=dict, auth=AUTH, summary="Who stays with the patient")
def companions_put(request, reference: str, payload: CompanionsIn):
    case = _case(request, reference)
    services.set_companions(request.auth, case, {"companions": [str(pk) for pk in payload.companions]})
    return _stay(request, case)


class EntryIn(Schema):
    entry_route: str = Field("", description="scheme code (visa, visa_free_30, ...); empty: the best route")
    visa_stay_days: int | None = Field(None, description="the visa's duration of each stay")
    extended_until: datetime.date | None = Field(None, description="an extension granted")


@router.put("/cases/{reference}/entry", response=dict, auth=AUTH, summary="The entry route, visa stay and extension")
def entry_put(request, reference: str, payload: EntryIn):
    case = _case(request, reference)
    data = {key: ("" if value is None else value) for key, value in payload.dict().items()}
    services.set_entry(request.auth, case, data)
    return _stay(request, case)


class AccommodationIn(Schema):
    kind: str = Field(..., description="hotel or serviced_apartment")
    name: dict[str, str] = Field(..., description='{"en": ..., "zh-hans": ...}')
    address: dict[str, str] = Field(..., description='{"en": ..., "zh-hans": ...}')
    distance_m: int
    nightly_price_cny: str
    phone: str = ""
    note: dict[str, str] = Field(default_factory=dict)
    active: bool = True


def _accommodation_data(payload: AccommodationIn) -> dict:
    """The schema as the form's inputs (one per language for the translated fields)."""
    from laihua.kit.i18n import language_codes

    data = payload.dict()
    out = {key: data[key] for key in ("kind", "distance_m", "nightly_price_cny", "phone")}
    if data["active"]:
        out["active"] = "on"
    for name in ("name", "address", "note"):
        for code in language_codes():
            out[f"{name}_{code}"] = (data[name] or {}).get(code, "")
    return out


@router.get("/accommodations", response=list[dict], auth=AUTH, summary="Your hospital's partner accommodations")
def accommodations(request):
    return [services.accommodation_json(place) for place in services.hospital_accommodations(request.auth)]


@router.post("/accommodations", response={201: dict}, auth=AUTH, summary="Add a partner accommodation")
def accommodation_add(request, payload: AccommodationIn):
    place = services.save_accommodation(request.auth, _accommodation_data(payload))
    return Status(201, services.accommodation_json(place))


@router.put("/accommodations/{accommodation_id}", response=dict, auth=AUTH, summary="Change a partner accommodation")
def accommodation_put(request, accommodation_id: int, payload: AccommodationIn):
    place = services.save_accommodation(request.auth, _accommodation_data(payload), pk=accommodation_id)
    return services.accommodation_json(place)


@router.get(
    "/stay-warnings", response=list[dict], auth=AUTH, summary="Patients whose permitted stay ends within a week"
)
def stay_warnings(request):
    return [
        {
            "case": warning.case.reference,
            "ends_on": warning.ends_on,
            "route": warning.route,
            "warned_at": warning.created_at,
        }
        for warning in services.open_warnings(request.auth).values()
    ]
