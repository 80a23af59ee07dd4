"""Everything about the patient's days in China in one read, for the case page and the API: the trip's dates,
the flights (which one enters and leaves China), the pickup, the accommodation bookings and the ones on offer,
the companions staying, the permitted stay with the way to extend it, and whether the letter needs reissuing."""

from laihua.cases.models import Case
from laihua.kit import clock
from laihua.kit.i18n import pick
from laihua.travel import airports
from laihua.travel.models import Flight
from laihua.travel.services.limits import WARNING_DAYS, due_warning, letter_needs_reissue, permitted_stay
from laihua.travel.services.stay import (
    bookings_of,
    entry_flight,
    exit_flight,
    flights_of,
    may_edit_stay,
    offered_accommodations,
    read_stay,
    trip_dates,
)


def stay_overview(actor, case: Case) -> dict:
    """The case's stay as its patient or its hospital's staff may read it (audited once)."""
    stay = read_stay(actor, case)
    flights = flights_of(case)
    dates = trip_dates(case, flights)
    permitted = permitted_stay(case, stay=stay, flights=flights)
    today = clock.today()
    return {
        "case": case,
        "stay": stay,
        "flights": flights,
        "entry_flight": entry_flight(flights),
        "exit_flight": exit_flight(flights),
        "dates": dates,
        "permitted": permitted,
        "days_left": permitted.days_left(today) if permitted else None,
        "warning_due": due_warning(permitted, today),
        "warning_days": WARNING_DAYS,
        "bookings": list(bookings_of(case)),
        "companions": list(stay.companions.all()) if stay.pk else [],
        "offered": list(offered_accommodations(case)),
        "letter_reissue": letter_needs_reissue(case, dates),
        "can_edit": may_edit_stay(actor, case),
    }


def flight_json(flight: Flight) -> dict:
    return {
        "id": flight.pk,
        "direction": flight.direction,
        "number": flight.number,
        "from_airport": flight.from_airport,
        "from_airport_name": airports.label(flight.from_airport),
        "to_airport": flight.to_airport,
        "to_airport_name": airports.label(flight.to_airport),
        "departs": flight.departs_local.isoformat(),
        "departs_tz": flight.departs_tz,
        "arrives": flight.arrives_local.isoformat(),
        "arrives_tz": flight.arrives_tz,
    }


def stay_json(overview: dict) -> dict:
    """The overview as plain data (API)."""
    stay, dates, permitted = overview["stay"], overview["dates"], overview["permitted"]
    letter = overview["letter_reissue"]
    return {
        "case": overview["case"].reference,
        "arrival": dates.arrival,
        "arrival_from": dates.arrival_from,
        "departure": dates.departure,
        "departure_from": dates.departure_from,
        "flights": [flight_json(flight) for flight in overview["flights"]],
        "entry_flight": overview["entry_flight"].pk if overview["entry_flight"] else None,
        "exit_flight": overview["exit_flight"].pk if overview["exit_flight"] else None,
        "pickup": {"status": stay.pickup_status, "note": stay.pickup_note},
        "accommodation_bookings": [
            {
                "id": booking.pk,
                "accommodation": booking.accommodation_id,
                "name": booking.accommodation.name,
                "address": booking.accommodation.address,
                "check_in": booking.check_in,
                "check_out": booking.check_out,
                "nights": booking.nights,
                "guests": booking.guests,
                "status": booking.status,
                "nightly_price_cny": str(booking.nightly_price_cny),
                "note": booking.note,
            }
            for booking in overview["bookings"]
        ],
        "companions": [
            {"id": companion.pk, "name": companion.full_name, "relation": companion.relation}
            for companion in overview["companions"]
        ],
        "entry_route": stay.entry_route,
        "visa_stay_days": stay.visa_stay_days,
        "extended_until": stay.extended_until,
        "permitted_stay": permitted.as_dict() if permitted else None,
        "warning_due": overview["warning_due"],
        "letter_to_reissue": ({"id": letter.pk, "number": letter.number} if letter else None),
        "accommodations_offered": [
            {"id": place.pk, "name": pick(place.name), "distance_m": place.distance_m} for place in overview["offered"]
        ],
    }
