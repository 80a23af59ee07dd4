"""The demo's partner accommodations and the planned knee trip's stay: flights on the planned days, the pickup,
the hotel and the companions, from stay.yaml (checked against its schema), loaded once."""

from laihua.demo import planning as demo_planning
from laihua.demo import stay as demo
from laihua.planning.models import Itinerary
from laihua.travel import services
from laihua.travel.models import Accommodation, AccommodationBooking, Flight, Stay


def test_the_demo_trip_has_its_flights_pickup_and_hotel_once(db, settings):
    from laihua.demo.loader import load_demo

    settings.DEMO_MODE = True
    load_demo()
    itinerary = Itinerary.objects.get(case__events__kind="opened", case__events__detail__demo=demo_planning.DEMO_KEY)
    case = itinerary.case
    assert Accommodation.objects.filter(hospital=case.hospital).count() == 2
    assert Accommodation.objects.values("hospital").distinct().count() == 3
    flights = list(Flight.objects.filter(case=case).order_by("departs_at"))
    assert [f.number for f in flights] == ["UA857", "UA858"]
    assert (
        flights[0].arrives_local.date() == itinerary.arrival and flights[1].departs_local.date() == itinerary.departure
    )
    stay = Stay.objects.get(case=case)
    assert (stay.pickup_status, stay.entry_route, stay.visa_stay_days) == ("confirmed", "visa", 30)
    assert stay.companions.count() == case.patient.companions.count() >= 1
    booking = AccommodationBooking.objects.get(case=case)
    assert (booking.status, booking.check_in, booking.check_out) == (
        "confirmed",
        itinerary.arrival,
        itinerary.departure,
    )
    assert services.permitted_stay(case).limit_days == 30
    # The hip replacement planned along its pathway has its own flights, pickup and serviced apartment.
    hip = Itinerary.objects.get(case__events__kind="opened", case__events__detail__demo=demo_planning.HIP_KEY)
    home = Flight.objects.get(case=hip.case, direction="out")
    assert home.departs_local.date() == hip.departure >= hip.fit_to_fly
    assert AccommodationBooking.objects.get(case=hip.case).accommodation.kind == "serviced_apartment"
    assert demo.load() == 0 and Flight.objects.count() == 4 and Accommodation.objects.count() == 4
