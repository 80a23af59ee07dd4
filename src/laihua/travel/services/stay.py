"""The patient's days in China: the flights in and out, the airport pickup, accommodation booked near the
hospital and the companions staying with the patient; and the trip's dates that everything else follows.

The case's hospital desk (coordinators, hospital admins) records them once the patient has accepted a quote;
the patient and the hospital's staff read them. Every change is one transaction with its audit event, and
what the patient should know is put on the case's timeline in each reader's language.
"""

import datetime
from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from laihua.audit.services import record_event
from laihua.cases.models import Case
from laihua.cases.services import add_event, require_case_party, require_case_staff, timeline_note
from laihua.cases.states import DESK
from laihua.errors import Conflict, FormInvalid, InvalidInput, NotFound
from laihua.travel import airports
from laihua.travel.models import (
    Accommodation,
    AccommodationBooking,
    BookingStatus,
    Flight,
    FlightDirection,
    PickupStatus,
    Stay,
)
from laihua.travel.services.common import LETTER_STATES
from laihua.travel.signals import booked_trip
from laihua.travel.stayforms import (
    AccommodationRequestForm,
    BookingStatusForm,
    CompanionsForm,
    FlightForm,
    PickupForm,
)

STAY_DESK = DESK  # coordinators and hospital admins record the stay
STAY_STATES = LETTER_STATES  # from the accepted quote on


class StayNotOpen(Conflict):
    code = "stay_not_open"


# --- the trip's dates -----------------------------------------------------------------------------


@dataclass(frozen=True)
class TripDates:
    """The trip's arrival and departure days (local time in China), each with where it comes from:
    "flight" (the flights recorded), "booked" (the confirmed trip plan) or "desired" (the patient's wish)."""

    arrival: datetime.date | None
    departure: datetime.date | None
    arrival_from: str = ""
    departure_from: str = ""

    @property
    def booked(self) -> bool:
        """Both days are settled: by the flights or by the confirmed plan, not the patient's wish."""
        return self.arrival_from in ("flight", "booked") and self.departure_from in ("flight", "booked")


def flights_of(case: Case) -> list[Flight]:
    return list(Flight.objects.filter(case=case).order_by("departs_at", "pk"))


def entry_flight(flights: list[Flight]) -> Flight | None:
    """The flight in that lands in mainland China last (the entry); a connection abroad is not the entry."""
    landing = [f for f in flights if f.direction == FlightDirection.IN and airports.in_mainland_china(f.to_airport)]
    return max(landing, key=lambda f: f.arrives_at, default=None)


def exit_flight(flights: list[Flight]) -> Flight | None:
    """The flight out that leaves mainland China first (the exit)."""
    leaving = [f for f in flights if f.direction == FlightDirection.OUT and airports.in_mainland_china(f.from_airport)]
    return min(leaving, key=lambda f: f.departs_at, default=None)


def booked_trip_dates(case: Case) -> tuple[datetime.date, datetime.date] | None:
    """The confirmed trip's arrival and departure, as the domain that books trips answers (planning)."""
    for _receiver, answer in booked_trip.send(sender=Case, case=case):
        if answer:
            return answer
    return None


def trip_dates(case: Case, flights: list[Flight] | None = None) -> TripDates:
    """The days the trip runs: the flights when recorded, else the confirmed plan, else the desired dates."""
    flights = flights_of(case) if flights is None else flights
    entry, leaving = entry_flight(flights), exit_flight(flights)
    booked = booked_trip_dates(case)
    arrival, arrival_from = case.desired_arrival, "desired" if case.desired_arrival else ""
    departure, departure_from = case.desired_departure, "desired" if case.desired_departure else ""
    if booked:
        (arrival, departure), arrival_from, departure_from = booked, "booked", "booked"
    if entry is not None:
        arrival, arrival_from = entry.arrives_local.date(), "flight"
    if leaving is not None:
        departure, departure_from = leaving.departs_local.date(), "flight"
    return TripDates(arrival, departure, arrival_from, departure_from)


# --- reading --------------------------------------------------------------------------------------


def stay_of(case: Case) -> Stay:
    """The case's stay, or an unsaved empty one."""
    return Stay.objects.filter(case=case).first() or Stay(case=case)


def may_edit_stay(actor, case: Case) -> bool:
    return (
        actor is not None
        and actor.is_authenticated
        and actor.role in STAY_DESK
        and actor.hospital_id == case.hospital_id
        and case.state in STAY_STATES
    )


def require_stay_desk(actor, case: Case) -> None:
    require_case_staff(actor, case, STAY_DESK)
    if case.state not in STAY_STATES:
        raise StayNotOpen(
            _("Flights, pickup and accommodation are recorded once the patient has accepted a quote."), field="case"
        )


def bookings_of(case: Case):
    return AccommodationBooking.objects.filter(case=case).select_related("accommodation")


def offered_accommodations(case: Case):
    """The partner accommodations of the case's hospital that can be booked, nearest first."""
    return Accommodation.objects.filter(hospital_id=case.hospital_id, active=True).order_by("distance_m", "pk")


def read_stay(actor, case: Case) -> Stay:
    """The case's stay for its patient or its hospital's staff; the reading is audited."""
    require_case_party(actor, case)
    stay = stay_of(case)
    record_event(actor, "travel.stay.view", case, hospital=case.hospital)
    return stay


# --- changes --------------------------------------------------------------------------------------


def locked_stay(case: Case) -> Stay:
    """The case's stay (made when missing), after locking the case's row: changes to one stay queue."""
    Case.objects.select_for_update().filter(pk=case.pk).first()
    stay, _created = Stay.objects.get_or_create(case=case)
    return stay


def _timeline(case: Case, actor, kind: str, msgid: str, **params) -> None:
    add_event(case, actor, kind, note=timeline_note(msgid, **params))


def _flight_detail(flight: Flight) -> dict:
    return {
        "flight": flight.number,
        "direction": flight.direction,
        "from": flight.from_airport,
        "to": flight.to_airport,
        "departs": flight.departs_local.isoformat(),
        "arrives": flight.arrives_local.isoformat(),
    }


@transaction.atomic
def save_flight(actor, case: Case, data, flight_id: int | None = None) -> Flight:
    """Record a flight of the trip (or correct one): number, airports, and times as read on each airport's clock."""
    require_stay_desk(actor, case)
    form = FlightForm(data)
    if not form.is_valid():
        raise FormInvalid(form)
    values = form.cleaned_data
    locked_stay(case)
    flight = Flight(case=case) if flight_id is None else Flight.objects.filter(case=case, pk=flight_id).first()
    if flight is None:
        raise NotFound(_("No such flight."))
    for name in ("direction", "number", "from_airport", "to_airport", "departs_at", "departs_tz"):
        setattr(flight, name, values[name])
    flight.arrives_at, flight.arrives_tz = values["arrives_at"], values["arrives_tz"]
    created = flight.pk is None
    flight.save()
    _timeline(
        case,
        actor,
        "flights_changed",
        gettext_noop("Flight %(flight)s %(origin)s → %(destination)s recorded."),
        flight=flight.number,
        origin=flight.from_airport,
        destination=flight.to_airport,
    )
    record_event(
        actor,
        "travel.flight.create" if created else "travel.flight.update",
        case,
        hospital=case.hospital,
        detail=_flight_detail(flight),
    )
    return flight


@transaction.atomic
def remove_flight(actor, case: Case, flight_id: int) -> None:
    require_stay_desk(actor, case)
    locked_stay(case)
    flight = Flight.objects.filter(case=case, pk=flight_id).first()
    if flight is None:
        raise NotFound(_("No such flight."))
    detail = _flight_detail(flight)
    flight.delete()
    _timeline(
        case,
        actor,
        "flights_changed",
        gettext_noop("Flight %(flight)s %(origin)s → %(destination)s removed."),
        flight=detail["flight"],
        origin=detail["from"],
        destination=detail["to"],
    )
    record_event(actor, "travel.flight.remove", case, hospital=case.hospital, detail=detail)


PICKUP_NOTES = {
    PickupStatus.NONE: gettext_noop("No airport pickup."),
    PickupStatus.REQUESTED: gettext_noop("Airport pickup requested."),
    PickupStatus.CONFIRMED: gettext_noop("Airport pickup confirmed."),
    PickupStatus.CANCELLED: gettext_noop("Airport pickup cancelled."),
}


@transaction.atomic
def set_pickup(actor, case: Case, data) -> Stay:
    """Ask for, confirm or cancel the airport pickup; a pickup needs the flight in that it meets."""
    require_stay_desk(actor, case)
    form = PickupForm(data)
    if not form.is_valid():
        raise FormInvalid(form)
    status, note = form.cleaned_data["pickup_status"], form.cleaned_data["pickup_note"]
    stay = locked_stay(case)
    if status in (PickupStatus.REQUESTED, PickupStatus.CONFIRMED) and entry_flight(flights_of(case)) is None:
        raise InvalidInput(
            _("Record the flight that lands in China first: the pickup meets it."), field="pickup_status"
        )
    changed = status != stay.pickup_status
    stay.pickup_status, stay.pickup_note, stay.updated_by = status, note, actor
    stay.save(update_fields=["pickup_status", "pickup_note", "updated_by", "updated_at"])
    if changed:
        _timeline(case, actor, "pickup_changed", PICKUP_NOTES[status])
    record_event(actor, "travel.pickup.change", case, hospital=case.hospital, detail={"status": status})
    return stay


@transaction.atomic
def request_accommodation(actor, case: Case, data) -> AccommodationBooking:
    """Ask a partner accommodation of the case's hospital for the nights; the night's price is kept as quoted."""
    require_stay_desk(actor, case)
    form = AccommodationRequestForm(data, accommodations=offered_accommodations(case))
    if not form.is_valid():
        raise FormInvalid(form)
    values = form.cleaned_data
    locked_stay(case)
    most = 1 + case.patient.companions.count()
    if values["guests"] > most:
        raise InvalidInput(
            _("At most %(count)d guests: the patient and the companions on file.") % {"count": most}, field="guests"
        )
    place = values["accommodation"]
    booking = AccommodationBooking.objects.create(
        case=case,
        accommodation=place,
        check_in=values["check_in"],
        check_out=values["check_out"],
        guests=values["guests"],
        nightly_price_cny=place.nightly_price_cny,
        note=" ".join(values["note"].split()),
        created_by=actor,
    )
    _timeline(
        case,
        actor,
        "accommodation_changed",
        gettext_noop("Accommodation requested: %(nights)s night(s) from %(check_in)s."),
        nights=booking.nights,
        check_in=booking.check_in.isoformat(),
    )
    record_event(
        actor,
        "travel.accommodation_booking.request",
        case,
        hospital=case.hospital,
        detail={
            "booking": booking.pk,
            "accommodation": place.pk,
            "check_in": booking.check_in.isoformat(),
            "check_out": booking.check_out.isoformat(),
            "guests": booking.guests,
        },
    )
    return booking


BOOKING_NOTES = {
    BookingStatus.REQUESTED: gettext_noop("Accommodation request reopened."),
    BookingStatus.CONFIRMED: gettext_noop("Accommodation confirmed: %(nights)s night(s) from %(check_in)s."),
    BookingStatus.CANCELLED: gettext_noop("Accommodation cancelled."),
}


@transaction.atomic
def set_booking_status(actor, case: Case, booking_id: int, data) -> AccommodationBooking:
    """Confirm or cancel an accommodation request (the accommodation's answer)."""
    require_stay_desk(actor, case)
    form = BookingStatusForm(data)
    if not form.is_valid():
        raise FormInvalid(form)
    locked_stay(case)
    booking = bookings_of(case).filter(pk=booking_id).first()
    if booking is None:
        raise NotFound(_("No such accommodation booking."))
    status, note = form.cleaned_data["status"], " ".join(form.cleaned_data["note"].split())
    previous = booking.status
    booking.status = status
    if note:
        booking.note = note
    booking.save(update_fields=["status", "note", "updated_at"])
    if previous != status:
        _timeline(
            case,
            actor,
            "accommodation_changed",
            BOOKING_NOTES[status],
            nights=booking.nights,
            check_in=booking.check_in.isoformat(),
        )
    record_event(
        actor,
        "travel.accommodation_booking.change",
        case,
        hospital=case.hospital,
        detail={"booking": booking.pk, "from": previous, "to": status},
    )
    return booking


@transaction.atomic
def set_companions(actor, case: Case, data) -> Stay:
    """Who of the patient's companions stays with the patient."""
    require_stay_desk(actor, case)
    companions = list(case.patient.companions.all())
    form = CompanionsForm(data, companions=companions)
    if not form.is_valid():
        raise FormInvalid(form)
    chosen = {int(pk) for pk in form.cleaned_data["companions"]}
    stay = locked_stay(case)
    stay.companions.set([companion for companion in companions if companion.pk in chosen])
    stay.updated_by = actor
    stay.save(update_fields=["updated_by", "updated_at"])
    record_event(actor, "travel.stay.companions", case, hospital=case.hospital, detail={"companions": sorted(chosen)})
    return stay
