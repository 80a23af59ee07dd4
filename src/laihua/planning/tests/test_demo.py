"""The demo carries clinical-order defaults and an accepted knee case with a planned trip, loaded once."""

from laihua.demo import planning as demo
from laihua.planning.models import Itinerary, ServiceOrder, ServiceRule


def test_demo_plans_the_knee_trip_once(db, settings):
    from laihua.demo.loader import load_demo

    settings.DEMO_MODE = True
    load_demo()
    assert ServiceRule.objects.filter(item__code="HIDH-LAB-CBC", morning_only=True).exists()
    assert ServiceOrder.objects.filter(before__code="HIDH-RAD-MRI-1", after__code="HIDH-ORTH-ARTHRO").exists()
    itinerary = Itinerary.objects.get()
    assert (
        itinerary.feasible
        and itinerary.case.state == "accepted"
        and itinerary.case.hospital.slug == "huangpu-international-demo"
    )
    assert {row.item.code for row in itinerary.items.filter(kind="visit")} == {
        f"HIDH-{code}" for code in demo.TRIP_SERVICES
    }
    assert demo.load() == 0
    assert Itinerary.objects.count() == 1
