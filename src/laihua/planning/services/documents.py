"""What the patient and the pages see: the itinerary day by day, as plain data, as an iCalendar file
and as a PDF."""

import datetime

from django.utils import translation
from django.utils.translation import gettext as _

from laihua.accounts.models import Role
from laihua.audit.services import record_event
from laihua.cases.models import Case
from laihua.cases.services import require_case_party
from laihua.kit import clock
from laihua.kit.i18n import pick
from laihua.kit.pdf import render_pdf
from laihua.planning import ics
from laihua.planning.models import ItemKind, Itinerary, ItineraryItem
from laihua.planning.services.reasons import reason_text


def days_of(itinerary: Itinerary) -> list[dict]:
    """The itinerary day by day, from arrival to departure (free days included)."""
    rows = list(
        itinerary.items.select_related("item", "resource", "resource__department").order_by("day", "starts_at", "pk")
    )
    if not rows or itinerary.arrival is None:
        return []
    by_day: dict = {}
    for row in rows:
        by_day.setdefault(row.day, []).append(row)
    out, day = [], itinerary.arrival
    while day <= itinerary.departure:
        out.append({"day": day, "entries": by_day.get(day, [])})
        day += datetime.timedelta(days=1)
    return out


def itinerary_json(itinerary: Itinerary, language: str | None = None) -> dict:
    """The itinerary as plain data (API)."""
    return {
        "id": itinerary.pk,
        "case": itinerary.case.reference,
        "status": itinerary.status,
        "feasible": itinerary.feasible,
        "method": itinerary.method,
        "arrival": itinerary.arrival,
        "departure": itinerary.departure,
        "stay_days": itinerary.stay_days,
        "hospital_days": itinerary.hospital_days,
        "waiting_days": itinerary.waiting_days,
        "greedy_departure": itinerary.greedy_departure,
        "greedy_stay_days": itinerary.greedy_stay_days,
        "bound_days": itinerary.bound_days,
        "route": itinerary.route,
        "stay_limit": itinerary.stay_limit,
        "reasons": [{**r, "text": reason_text(r)} for r in itinerary.reasons],
        "nearest": itinerary.nearest,
        "items": [
            {
                "day": row.day,
                "kind": row.kind,
                "service": row.item.code if row.item else None,
                "name": pick(row.item.name, language) if row.item else "",
                "starts_at": row.starts_at,
                "ends_at": row.ends_at,
                "booked": bool(row.booking_request_id),
            }
            for row in itinerary.items.select_related("item").order_by("day", "starts_at", "pk")
        ],
    }


def _entry_summary(row: ItineraryItem, language: str) -> str:
    if row.kind == ItemKind.ARRIVAL:
        return _("Arrival in China")
    if row.kind == ItemKind.DEPARTURE:
        return _("Departure")
    name = pick(row.item.name, language) if row.item else ""
    if row.kind == ItemKind.STAY:
        return _("In hospital: %(service)s") % {"service": name}
    return name


def _document_language(actor, case: Case, reading: str | None) -> str:
    """The patient reads their documents in the language they read the site in (`reading`, the request's);
    staff, and anyone without a request, get the case's language (the patient's)."""
    if reading and actor.role == Role.PATIENT:
        return reading
    return case.language or "en"


def itinerary_ics(actor, itinerary: Itinerary, *, reading: str | None = None) -> bytes:
    """The itinerary as an iCalendar file, in the reader's language (_document_language), the hospital's
    address on each event."""
    case = itinerary.case
    require_case_party(actor, case)
    language = _document_language(actor, case, reading)
    with translation.override(language):
        address = ", ".join(
            part for part in [pick(case.hospital.name, language), pick(case.hospital.address, language)] if part
        )
        # UIDs stay the same from one plan of the case to the next (with a higher SEQUENCE), so that a
        # calendar importing the new file moves the events instead of adding them again.
        sequence = Itinerary.objects.filter(case=case, pk__lte=itinerary.pk).count() - 1
        events = _ics_events(itinerary, language, address, sequence)
        # An event of a trip booked before that this plan no longer has (a shorter stay, a service
        # dropped) is sent as cancelled, so that it leaves the patient's calendar.
        current = {event["uid"] for event in events}
        earlier = Itinerary.objects.filter(case=case, pk__lt=itinerary.pk, confirmed_at__isnull=False).order_by("pk")
        gone = {}
        for old in earlier:
            for event in _ics_events(old, language, address, sequence):
                if event["uid"] not in current:
                    gone[event["uid"]] = {**event, "status": "CANCELLED"}
        name = _("Trip %(reference)s") % {"reference": case.reference}
    record_event(actor, "planning.itinerary.ics", case, hospital=case.hospital, detail={"itinerary": itinerary.pk})
    return ics.calendar(name, events + list(gone.values()), stamp=itinerary.updated_at or clock.now())


def _ics_events(itinerary: Itinerary, language: str, address: str, sequence: int) -> list[dict]:
    """The itinerary's events, each with its UID (the case, the kind of entry, the service, its count)."""
    case = itinerary.case
    events, seen = [], {}
    for row in itinerary.items.select_related("item", "resource").order_by("day", "starts_at", "pk"):
        key = f"case-{case.pk}-{row.kind}-{row.item_id or 0}"
        seen[key] = seen.get(key, 0) + 1
        events.append(
            {
                "uid": f"{key}-{seen[key]}",
                "sequence": sequence,
                "day": row.day,
                "start": row.starts_at,
                "end": row.ends_at,
                "summary": _entry_summary(row, language),
                "location": address,  # the arrival and departure days too: where the trip is bound
                "description": _("Case %(reference)s") % {"reference": case.reference},
            }
        )
    return events


def itinerary_pdf(actor, itinerary: Itinerary, *, reading: str | None = None) -> bytes:
    """The itinerary as a PDF in the reader's language (_document_language) and Chinese."""
    case = itinerary.case
    require_case_party(actor, case)
    language = _document_language(actor, case, reading)
    record_event(actor, "planning.itinerary.pdf", case, hospital=case.hospital, detail={"itinerary": itinerary.pk})
    return render_pdf(
        "planning/itinerary_pdf.html",
        {"itinerary": itinerary, "case": case, "days": days_of(itinerary), "language": language},
        language=language,
    )
