"""The demo carries clinical-order defaults and clinical pathways, an accepted knee case with a planned trip,
and a hip replacement planned along its pathway and booked, with flights and accommodation; loaded once."""

import datetime

from laihua.demo import planning as demo
from laihua.planning.models import Itinerary, ItineraryStatus, Pathway, ServiceOrder, ServiceRule
from laihua.travel.models import Flight, FlightDirection


def test_demo_plans_the_knee_trip_and_books_the_hip_replacement_once(db, settings):
    from laihua.demo.loader import load_demo

    settings.DEMO_MODE = True
    load_demo()
    assert ServiceRule.objects.filter(item__code="HIDH-LAB-CBC", morning_only=True).exists()
    assert ServiceOrder.objects.filter(before__code="HIDH-RAD-MRI-1", after__code="HIDH-ORTH-ARTHRO").exists()
    assert {p.item.code for p in Pathway.objects.filter(item__hospital__slug="huangpu-international-demo")} == {
        "HIDH-PKG-THR",
        "HIDH-ORTH-TKR",
        "HIDH-PKG-CHECK",
        "HIDH-PKG-MRI",
    }
    knee = Itinerary.objects.get(case__events__kind="opened", case__events__detail__demo=demo.DEMO_KEY)
    assert knee.feasible and knee.case.state == "accepted" and knee.case.hospital.slug == "huangpu-international-demo"
    assert {row.item.code for row in knee.items.filter(kind="visit")} == {f"HIDH-{code}" for code in demo.TRIP_SERVICES}
    hip = Itinerary.objects.get(case__events__kind="opened", case__events__detail__demo=demo.HIP_KEY)
    assert hip.status == ItineraryStatus.ACTIVE and hip.case.state == "scheduled" and hip.case.language != "zh-hans"
    visits = {row.item.code: row.day for row in hip.items.filter(kind="visit")}
    assert set(visits) == {
        f"HIDH-{code}" for code in ("CON-ORTH", "LAB-CBC", "IM-ECG", "RAD-XR-CH", "CON-ANAES", "ORTH-THR", "ORTH-FU")
    }
    surgery = visits["HIDH-ORTH-THR"]
    assert all(day < surgery for code, day in visits.items() if code != "HIDH-ORTH-FU" and code != "HIDH-ORTH-THR")
    assert hip.nights == 5 and hip.items.filter(kind="stay").count() == 5
    assert visits["HIDH-ORTH-FU"] >= surgery + datetime.timedelta(days=7)
    assert hip.fit_to_fly == surgery + datetime.timedelta(days=10)
    home = Flight.objects.get(case=hip.case, direction=FlightDirection.OUT)
    assert home.departs_local.date() >= hip.fit_to_fly
    assert hip.case.accommodation_bookings.exists()
    assert demo.load() == 0
    assert Itinerary.objects.count() == 2
