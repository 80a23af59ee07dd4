"""The demo carries clinical-order defaults and clinical pathways, an accepted knee case with a planned trip,
and a hip replacement planned along its pathway and booked, with interpreters, flights and accommodation;
loaded once."""

import datetime

from laihua.demo import planning as demo
from laihua.interpreters.models import Interpreter
from laihua.planning.models import InterpreterMode, Itinerary, ItineraryStatus, Pathway, ServiceOrder, ServiceRule
from laihua.travel.models import Flight, FlightDirection


def test_demo_plans_the_knee_trip_and_books_the_hip_replacement_once(db, settings, client):
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
    # The pools are loaded before the hip case is planned: every visit has an interpreter of the patient's
    # language in person, of the case's hospital, and the itinerary API names them on the visits' events.
    language = hip.case.language.split("-")[0]
    rows = list(hip.items.filter(kind="visit").select_related("interpreter"))
    assert rows and all(r.interpreter_mode == InterpreterMode.IN_PERSON for r in rows)
    assert all(r.interpreter_language == language for r in rows)
    assert all(r.interpreter.hospital_id == hip.case.hospital_id and language in r.interpreter.languages for r in rows)
    assert Interpreter.objects.filter(hospital=hip.case.hospital).count() > 1
    client.force_login(hip.case.coordinator)
    events = client.get(f"/api/planning/cases/{hip.case.reference}/itinerary").json()["events"]
    interpreted = [e for e in events if e["kind"] in ("appointment", "procedure")]
    assert len(interpreted) == len(rows)
    names = {row.interpreter.name for row in rows}
    assert all(e["interpreter"] and e["interpreter"]["name"] in names for e in interpreted)
    assert all(e["interpreter"]["mode"] == "in_person" for e in interpreted)
    # Each visit is followed by its interpreter's event: the same times, service and interpreter.
    interpreting = [e for e in events if e["kind"] == "interpreter"]
    assert len(interpreting) == len(interpreted)
    for visit in interpreted:
        after = events[events.index(visit) + 1]
        assert after["kind"] == "interpreter"
        assert (after["start"], after["end"], after["service"]) == (visit["start"], visit["end"], visit["service"])
        assert after["interpreter"] == visit["interpreter"] and after["reason"].startswith("Interpreter for ")
    others = [e for e in events if e not in interpreted and e not in interpreting]
    assert others and all(e["interpreter"] is None for e in others)
    assert demo.load() == 0
    assert Itinerary.objects.count() == 2
