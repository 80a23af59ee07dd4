"""Partner accommodations near every demo hospital and the planned knee trip's stay (stay.yaml): its flights in
and out on the planned days, the airport pickup, the hotel booked and the companions coming along.

Written through travel's services, as the coordinator would; loading twice is harmless: accommodations are found
by their English name, and the trip's stay is recorded only while its case has no flights."""

import datetime

from django.db import transaction

from laihua.accounts.models import User
from laihua.cases.models import CaseEvent
from laihua.demo import datafiles
from laihua.demo import planning as demo_planning
from laihua.demo.hospitals import BY_CODE
from laihua.hospitals.models import Hospital
from laihua.planning.models import Itinerary
from laihua.travel import rules
from laihua.travel import services as travel
from laihua.travel.models import Accommodation, Flight
from laihua.travel.services.stay import offered_accommodations

DATA = datafiles.read("stay")
TRIP = DATA["planned_trip"]
HIP_TRIP = DATA["pathway_trip"]  # the hip replacement planned along its clinical pathway


def _accommodations() -> int:
    added = 0
    for code, places in DATA["accommodations"].items():
        spec = BY_CODE.get(code)
        hospital = Hospital.objects.filter(slug=spec.slug, is_demo=True).first() if spec else None
        if hospital is None:
            continue
        for place in places:
            if Accommodation.objects.filter(hospital=hospital, name__en=place["name"]["en"]).exists():
                continue
            Accommodation.objects.create(
                hospital=hospital,
                kind=place["kind"],
                name=place["name"],
                address=place["address"],
                distance_m=place["distance_m"],
                nightly_price_cny=place["nightly_price_cny"],
                phone=place.get("phone", ""),
                note=place.get("note", {}),
            )
            added += 1
    return added


def _trip_days(case) -> tuple[datetime.date, datetime.date] | None:
    """The planned trip's arrival and departure: its itinerary's, else the desired dates."""
    itinerary = Itinerary.objects.filter(case=case, feasible=True).exclude(status="revoked").first()
    if itinerary is not None and itinerary.arrival:
        return itinerary.arrival, itinerary.departure
    if case.desired_arrival and case.desired_departure:
        return case.desired_arrival, case.desired_departure
    return None


def _stay(case, trip=TRIP, coordinator_name=demo_planning.TRIP.coordinator) -> int:
    coordinator = User.objects.filter(username=coordinator_name).first()
    days = _trip_days(case)
    if coordinator is None or days is None or Flight.objects.filter(case=case).exists():
        return 0
    arrival, departure = days
    for flight in trip["flights"]:
        anchor = arrival if flight["direction"] == "in" else departure
        departs = anchor + datetime.timedelta(days=flight["departs_day"])
        arrives = anchor + datetime.timedelta(days=flight["arrives_day"])
        travel.save_flight(
            coordinator,
            case,
            {
                "direction": flight["direction"],
                "number": flight["number"],
                "from_airport": flight["from"],
                "departs": f"{departs.isoformat()}T{flight['departs']}",
                "to_airport": flight["to"],
                "arrives": f"{arrives.isoformat()}T{flight['arrives']}",
            },
        )
    if "entry_route" in trip:
        travel.set_entry(
            coordinator, case, {"entry_route": trip["entry_route"], "visa_stay_days": trip.get("visa_stay_days") or ""}
        )
    if trip.get("companions") == "all":
        travel.set_companions(coordinator, case, {"companions": [str(c.pk) for c in case.patient.companions.all()]})
    if trip.get("pickup"):
        travel.set_pickup(
            coordinator,
            case,
            {"pickup_status": trip["pickup"]["status"], "pickup_note": trip["pickup"].get("note", "")},
        )
    wanted = trip.get("accommodation")
    places = list(offered_accommodations(case)) if wanted else []
    if wanted and wanted["hotel"] < len(places):
        booking = travel.request_accommodation(
            coordinator,
            case,
            {
                "accommodation": places[wanted["hotel"]].pk,
                "check_in": arrival.isoformat(),
                "check_out": departure.isoformat(),
                "guests": wanted["guests"],
                "note": wanted.get("note", ""),
            },
        )
        if wanted["status"] != "requested":
            travel.set_booking_status(coordinator, case, booking.pk, {"status": wanted["status"]})
    return 1


@transaction.atomic
def load() -> int:
    """Partner accommodations of the demo hospitals and the planned trip's stay; returns what was added.

    The shipped entry rules and ways to extend a stay are loaded first when the tables lack them (a database
    emptied after its migrations, as the browser tests' is): the trip's permitted stay is read from them."""
    rules.load_entry_rules(None, extensions_file=rules.EXTENSIONS_FILE)
    added = _accommodations()
    opened = CaseEvent.objects.filter(kind="opened", detail__demo=demo_planning.DEMO_KEY).select_related("case").first()
    if opened is not None:
        added += _stay(opened.case)
    hip = CaseEvent.objects.filter(kind="opened", detail__demo=demo_planning.HIP_KEY).select_related("case").first()
    if hip is not None:
        added += _stay(hip.case, HIP_TRIP, demo_planning.HIP.coordinator)
    return added
