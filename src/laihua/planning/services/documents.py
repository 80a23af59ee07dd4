"""What the patient and the pages see: the itinerary day by day, as plain data, as an iCalendar file
and as a PDF.

`schedule` is the day-by-day schedule the patient reads (page, PDF, calendar): the itinerary's visits and
days in hospital with the flights in and out, the airport pickup and the accommodation booked (travel), the
interpreter when an entry carries one, every place named in the reader's language and in Chinese (for a
taxi driver), and only the notes that apply (a fasting note only when a fasting test is planned)."""

import datetime
from dataclasses import dataclass, field

from django.utils import translation
from django.utils.translation import gettext as _

from laihua.accounts.models import Role
from laihua.audit.services import record_event
from laihua.cases.models import Case
from laihua.cases.services import require_case_party
from laihua.interpreters.forms import language_name
from laihua.kit import clock
from laihua.kit.i18n import pick
from laihua.kit.pdf import render_pdf
from laihua.planning import ics
from laihua.planning.models import InterpreterMode, ItemKind, Itinerary, ItineraryItem, ServiceRule
from laihua.planning.services.interpreters import free_days, interpreter_json
from laihua.planning.services.reasons import day_reason_text, day_reasons_text, reason_text
from laihua.travel import services as travel
from laihua.travel.models import BookingStatus, FlightDirection, PickupStatus


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


def itinerary_json(itinerary: Itinerary, language: str | None = None, *, desk: bool = False) -> dict:
    """The itinerary as plain data (API). For the desk (`desk`), each visit without an interpreter in person
    also lists `interpreter_free_days`: the nearest days of the trip an interpreter of its language is free
    for it ({date, start, end}; `free_days`)."""
    offers = free_days(itinerary) if desk else {}
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
        "pathways": itinerary.pathways,
        "nights": itinerary.nights,
        "fit_to_fly": itinerary.fit_to_fly,
        "days": [
            {"day": day, "why": [day_reason_text(r) for r in reasons]}
            for day, reasons in sorted((itinerary.day_reasons or {}).items())
        ],
        "items": [
            {
                "day": row.day,
                "kind": row.kind,
                "service": row.item.code if row.item else None,
                "name": pick(row.item.name, language) if row.item else "",
                "starts_at": row.starts_at,
                "ends_at": row.ends_at,
                "booked": bool(row.booking_request_id),
                "interpreter": interpreter_json(row),
                **({"interpreter_free_days": offers[row.pk]} if row.pk in offers else {}),
            }
            for row in itinerary.items.select_related("item", "interpreter").order_by("day", "starts_at", "pk")
        ],
    }


# --- the schedule the patient reads ---------------------------------------------------------------

# Interpreters are planned per itinerary entry by the planner (services/interpreters.py).
HAS_INTERPRETER = True


def interpreter_of(row: ItineraryItem | None) -> str:
    """The interpreter an itinerary entry carries, as a line ("Wang Fang, Russian") or the remote mode
    ("Russian, remote by video"); "" when the visit needs none or none is arranged yet (the desk's page
    lists those)."""
    if row is None or not row.interpreter_language or row.interpreter_mode == InterpreterMode.NONE:
        return ""
    language = language_name(row.interpreter_language)
    if row.interpreter_id:
        return f"{row.interpreter.name}, {language}"
    if row.interpreter_mode == InterpreterMode.VIDEO:
        return _("%(language)s, remote by video") % {"language": language}
    if row.interpreter_mode == InterpreterMode.PHONE:
        return _("%(language)s, remote by phone") % {"language": language}
    return ""


@dataclass
class Entry:
    """One line of a day: a visit, a day in hospital, a flight, the pickup, a check-in or check-out."""

    kind: str  # arrival, departure, visit, stay, flight_in, flight_out, pickup, check_in, check_out
    start: datetime.time | None = None
    end: datetime.time | None = None
    row: ItineraryItem | None = None
    flight: object = None
    booking: object = None
    interpreter: str = ""
    fasting: bool = False

    @property
    def item(self):
        return self.row.item if self.row is not None else None

    @property
    def resource(self):
        return self.row.resource if self.row is not None else None

    @property
    def warning(self) -> str:
        return self.row.warning if self.row is not None else ""

    @property
    def booked(self) -> bool:
        return bool(self.row is not None and self.row.booking_request_id)

    @property
    def at_hospital(self) -> bool:
        return self.kind in (ItemKind.VISIT, ItemKind.STAY)


@dataclass
class Schedule:
    days: list[dict]
    hospital: object
    flights: list = field(default_factory=list)
    bookings: list = field(default_factory=list)  # the accommodation requested or confirmed
    pickup: str = PickupStatus.NONE
    pickup_note: str = ""
    fasting_days: list[datetime.date] = field(default_factory=list)
    interpreters: bool = False
    permitted_until: datetime.date | None = None
    in_hospital: bool = False


# Within a day: getting there, the pickup and the check-in; the hospital's visits; the check-out and leaving.
_RANK = {"flight_in": 0, "arrival": 0, "pickup": 1, "check_in": 2, "visit": 3, "stay": 3, "check_out": 4}


def _sort_key(entry: Entry):
    return (_RANK.get(entry.kind, 5), entry.start or datetime.time(0))


def schedule(itinerary: Itinerary) -> Schedule:
    """The trip day by day as the patient reads it (no access check: the callers have checked the itinerary)."""
    case = itinerary.case
    related = ["item", "resource", "resource__department"] + (["interpreter"] if HAS_INTERPRETER else [])
    rows = list(itinerary.items.select_related(*related).order_by("day", "starts_at", "pk"))
    fasting_ids = set(
        ServiceRule.objects.filter(item_id__in={r.item_id for r in rows if r.item_id}, morning_only=True).values_list(
            "item_id", flat=True
        )
    )
    stay = travel.stay_of(case)
    flights = travel.flights_of(case) if itinerary.arrival else []
    bookings = [b for b in travel.bookings_of(case) if b.status != BookingStatus.CANCELLED]
    entries: dict[datetime.date, list[Entry]] = {}

    def add(day, entry):
        entries.setdefault(day, []).append(entry)

    flight_days = {f.direction: f for f in flights}
    for row in rows:
        if row.kind == ItemKind.ARRIVAL and FlightDirection.IN in flight_days:
            continue  # the flight in says it, with its time
        if row.kind == ItemKind.DEPARTURE and FlightDirection.OUT in flight_days:
            continue
        fasting = row.kind == ItemKind.VISIT and row.item_id in fasting_ids
        add(
            row.day,
            Entry(row.kind, row.starts_at, row.ends_at, row=row, interpreter=interpreter_of(row), fasting=fasting),
        )
    for flight in flights:
        direction = "flight_in" if flight.direction == FlightDirection.IN else "flight_out"
        local = flight.arrives_local if direction == "flight_in" else flight.departs_local
        add(local.date(), Entry(direction, local.time().replace(second=0, microsecond=0), flight=flight))
    entry = travel.entry_flight(flights)
    if entry is not None and stay.pickup_status in (PickupStatus.REQUESTED, PickupStatus.CONFIRMED):
        local = entry.arrives_local
        add(local.date(), Entry("pickup", local.time().replace(second=0, microsecond=0), flight=entry))
    for booking in bookings:
        add(booking.check_in, Entry("check_in", booking=booking))
        add(booking.check_out, Entry("check_out", booking=booking))
    first = min([itinerary.arrival, *entries]) if itinerary.arrival else None
    last = max([itinerary.departure, *entries]) if itinerary.departure else None
    days, day = [], first
    while first and day <= last:
        found = sorted(entries.get(day, []), key=_sort_key)
        days.append(
            {
                "day": day,
                "entries": found,
                "at_hospital": any(e.at_hospital for e in found),
                "why": day_reasons_text(itinerary, day),
            }
        )
        day += datetime.timedelta(days=1)
    permitted = travel.permitted_stay(case, stay=stay, flights=flights, route=itinerary.route or None)
    return Schedule(
        days=days,
        hospital=case.hospital,
        flights=flights,
        bookings=bookings,
        pickup=stay.pickup_status,
        pickup_note=stay.pickup_note,
        fasting_days=sorted({r.day for r in rows if r.kind == ItemKind.VISIT and r.item_id in fasting_ids}),
        interpreters=any(e.interpreter for found in entries.values() for e in found),
        permitted_until=permitted.ends_on if permitted else None,
        in_hospital=any(r.kind == ItemKind.STAY for r in rows),
    )


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


def both_languages(texts: dict | None, language: str) -> str:
    """A name or address in the reader's language, then in Chinese when that differs (for a taxi driver)."""
    mine, chinese = pick(texts, language), pick(texts, "zh-hans")
    return mine if not chinese or chinese == mine else f"{mine} · {chinese}"


def itinerary_ics(actor, itinerary: Itinerary, *, reading: str | None = None) -> bytes:
    """The itinerary as an iCalendar file, in the reader's language (_document_language), the hospital's
    address on each event; the flights, the pickup and the accommodation as events of their own."""
    case = itinerary.case
    require_case_party(actor, case)
    language = _document_language(actor, case, reading)
    with translation.override(language):
        hospital = case.hospital
        address = ", ".join(part for part in [pick(hospital.name, language), pick(hospital.address, language)] if part)
        chinese = " ".join(part for part in [pick(hospital.name, "zh-hans"), pick(hospital.address, "zh-hans")] if part)
        if chinese and language != "zh-hans":
            address = f"{address} · {chinese}"  # for a taxi driver
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
        travel_events = _travel_events(itinerary, language, sequence)
        name = _("Trip %(reference)s") % {"reference": case.reference}
    record_event(actor, "planning.itinerary.ics", case, hospital=case.hospital, detail={"itinerary": itinerary.pk})
    return ics.calendar(name, events + list(gone.values()) + travel_events, stamp=itinerary.updated_at or clock.now())


def _ics_events(itinerary: Itinerary, language: str, address: str, sequence: int) -> list[dict]:
    """The itinerary's events, each with its UID (the case, the kind of entry, the service, its count)."""
    case = itinerary.case
    events, seen = [], {}
    related = ["item", "resource"] + (["interpreter"] if HAS_INTERPRETER else [])
    for row in itinerary.items.select_related(*related).order_by("day", "starts_at", "pk"):
        key = f"case-{case.pk}-{row.kind}-{row.item_id or 0}"
        seen[key] = seen.get(key, 0) + 1
        description = [_("Case %(reference)s") % {"reference": case.reference}]
        if interpreter_of(row):
            description.append(_("Interpreter: %(name)s") % {"name": interpreter_of(row)})
        events.append(
            {
                "uid": f"{key}-{seen[key]}",
                "sequence": sequence,
                "day": row.day,
                "start": row.starts_at,
                "end": row.ends_at,
                "summary": _entry_summary(row, language),
                "location": address,  # the arrival and departure days too: where the trip is bound
                "description": "\n".join(description),
            }
        )
    return events


def _travel_events(itinerary: Itinerary, language: str, sequence: int) -> list[dict]:
    """The flights (timed, from their instants), the pickup and each accommodation's check-in and check-out."""
    from laihua.travel import airports

    case = itinerary.case
    events = []
    stay = travel.stay_of(case)
    flights = travel.flights_of(case)
    for flight in flights:
        events.append(
            {
                "uid": f"case-{case.pk}-flight-{flight.pk}",
                "sequence": sequence,
                "instant_start": flight.departs_at,
                "instant_end": flight.arrives_at,
                "summary": _("Flight %(number)s %(origin)s → %(destination)s")
                % {"number": flight.number, "origin": flight.from_airport, "destination": flight.to_airport},
                "location": airports.label(flight.from_airport),
                "description": _("Arrives at %(airport)s") % {"airport": airports.label(flight.to_airport)},
            }
        )
    entry = travel.entry_flight(flights)
    if entry is not None and stay.pickup_status in (PickupStatus.REQUESTED, PickupStatus.CONFIRMED):
        events.append(
            {
                "uid": f"case-{case.pk}-pickup",
                "sequence": sequence,
                "instant_start": entry.arrives_at,
                "instant_end": entry.arrives_at + datetime.timedelta(hours=1),
                "summary": _("Airport pickup (%(status)s)") % {"status": stay.get_pickup_status_display()},
                "location": airports.label(entry.to_airport),
                "description": stay.pickup_note,
            }
        )
    for booking in travel.bookings_of(case):
        if booking.status == BookingStatus.CANCELLED:
            continue
        place = booking.accommodation
        where = f"{both_languages(place.name, language)}, {both_languages(place.address, language)}"
        for kind, day, summary in (
            ("in", booking.check_in, _("Check in: %(place)s")),
            ("out", booking.check_out, _("Check out: %(place)s")),
        ):
            events.append(
                {
                    "uid": f"case-{case.pk}-stay-{booking.pk}-{kind}",
                    "sequence": sequence,
                    "day": day,
                    "start": None,
                    "end": None,
                    "summary": summary % {"place": pick(place.name, language)},
                    "location": where,
                    "description": booking.get_status_display(),
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
        {"itinerary": itinerary, "case": case, "schedule": schedule(itinerary), "language": language},
        language=language,
    )
