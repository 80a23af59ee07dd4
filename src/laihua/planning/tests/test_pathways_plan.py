"""The planner plans a hip replacement along its clinical pathway: the work-up before surgery in order, the
reports ready before the anaesthetic review, exactly the quote's inpatient nights (booked too), the wound
check after surgery, the flight no earlier than the fit-to-fly day, and a reason for every day."""

import datetime

import pytest

from laihua.capacity.models import Booking, BookingStatus, ServiceUsage
from laihua.planning import pathways, services
from laihua.planning.models import ItemKind
from laihua.planning.services.events import EVENT_KINDS
from laihua.planning.tests.conftest import accept_quote, inputs, make_resource
from tests.builders import make_case, make_item

pytestmark = pytest.mark.django_db

HIP_STEPS = [
    ("workup", "CON-ORTH", "Orthopaedic consultation", "骨科会诊", False, 0, 0),
    ("test", "LAB-CBC", "Blood tests", "血液检查", False, 0, 1),
    ("test", "IM-ECG", "ECG", "心电图", True, 0, 0),
    ("test", "RAD-XR-CH", "Chest X-ray", "胸片", True, 0, 1),
    ("workup", "CON-ANAES", "Anaesthetic review", "麻醉评估", False, 0, 0),
    ("procedure", "ORTH-THR", "Total hip replacement", "全髋关节置换", False, 1, 0),
    ("postop_check", "ORTH-FU", "Wound check", "伤口检查", False, 7, 0),
]


@pytest.fixture
def hip(hospital, users):
    """The hip replacement package with its pathway: 5 nights, fit to fly 10 days after surgery."""
    clinic = make_resource(hospital, "clinics", "clinic_session", "visit", 100)
    theatre = make_resource(hospital, "theatre", "theatre", "theatre_hour", 60, "08:00-18:00")
    beds = make_resource(hospital, "beds", "bed", "bed_day", 100, "")
    package = make_item(hospital, code="PKG-THR", kind="package", en="Hip replacement package", zh="髋关节置换套餐")
    items = {}
    for kind, code, en, zh, *_rest in HIP_STEPS:
        item_kind = {"test": "laboratory", "procedure": "procedure"}.get(kind, "consultation")
        items[code] = make_item(hospital, code=code, kind=item_kind, en=en, zh=zh)
    for code in ("CON-ORTH", "CON-ANAES", "ORTH-FU"):
        ServiceUsage.objects.create(item=items[code], resource=clinic)
    ServiceUsage.objects.create(item=items["ORTH-THR"], resource=theatre, units=3)
    ServiceUsage.objects.create(item=items["ORTH-THR"], resource=beds, units=1, days=7)  # the catalog's 7: not booked
    ward = make_item(hospital, code="WARD-DAY", kind="inpatient_day", en="Inpatient day", zh="住院日")
    ServiceUsage.objects.create(item=ward, resource=beds)
    data = {
        "item": "PKG-THR",
        "procedure_kind": "joint_replacement",
        "nights": 5,
        "source": "UK CAA, Assessing fitness to fly",
        "steps": [
            {
                "kind": kind,
                "service": code,
                "label": {"en": en, "zh-hans": zh},
                "with_previous": together,
                "min_gap_days": gap,
                "turnaround_days": turnaround,
                "theatre_minutes": 180 if kind == "procedure" else None,
            }
            for kind, code, en, zh, together, gap, turnaround in HIP_STEPS
        ],
    }
    pathways.save_pathway(users["coordinator"], hospital, data)
    return {"package": package, "items": items, "beds": beds, "ward": ward}


@pytest.fixture
def hip_case(patient, hospital, hip, users, arrival):
    case = make_case(patient, hospital, state="accepted", services=[hip["package"]], desired_arrival=arrival)
    accept_quote(case, [hip["package"]], users["coordinator"])
    return case


def _plan(users, case, arrival):
    data = inputs(arrival, latest_departure=(arrival + datetime.timedelta(days=40)).isoformat(), visits_per_day=4)
    return services.plan_case(users["coordinator"], case, data)


def test_hip_replacement_follows_its_pathway(users, hip_case, arrival):
    itinerary = _plan(users, hip_case, arrival)
    assert itinerary.feasible and itinerary.pathways == ["PKG-THR"]
    visits = {row.item.code: row for row in itinerary.items.filter(kind=ItemKind.VISIT).select_related("item")}
    assert set(visits) == {code for _k, code, *_r in HIP_STEPS}  # the package itself is not planned
    day = {code: row.day for code, row in visits.items()}
    for test in ("LAB-CBC", "IM-ECG", "RAD-XR-CH"):
        assert day["CON-ORTH"] <= day[test] < day["ORTH-THR"]
    # The anaesthetic review waits for the blood and X-ray reports (a working day), surgery the day after.
    assert day["CON-ANAES"] > day["LAB-CBC"] and day["CON-ANAES"] > day["RAD-XR-CH"]
    assert day["ORTH-THR"] >= day["CON-ANAES"] + datetime.timedelta(days=1)
    assert visits["ORTH-THR"].step == "procedure" and visits["ORTH-THR"].nights == 5
    assert (visits["ORTH-THR"].ends_at.hour * 60 + visits["ORTH-THR"].ends_at.minute) - (
        visits["ORTH-THR"].starts_at.hour * 60 + visits["ORTH-THR"].starts_at.minute
    ) == 180
    nights = itinerary.items.filter(kind=ItemKind.STAY)
    assert nights.count() == 5 and itinerary.nights == 5
    assert day["ORTH-FU"] >= day["ORTH-THR"] + datetime.timedelta(days=7)
    assert itinerary.fit_to_fly == day["ORTH-THR"] + datetime.timedelta(days=10)
    assert itinerary.departure >= itinerary.fit_to_fly and itinerary.departure > day["ORTH-FU"]
    # Every day says why it is there.
    every = itinerary.arrival
    while every <= itinerary.departure:
        assert itinerary.day_reasons.get(every.isoformat()), every
        every += datetime.timedelta(days=1)
    codes = [r["code"] for r in itinerary.day_reasons[day["ORTH-THR"].isoformat()]]
    assert "procedure" in codes
    assert any(r["code"] == "fit_to_fly" for r in itinerary.day_reasons[itinerary.departure.isoformat()])


def test_booked_nights_are_the_quotes(users, hip_case, hip, arrival):
    itinerary = _plan(users, hip_case, arrival)
    services.confirm_itinerary(users["coordinator"], itinerary)
    beds = Booking.objects.filter(case=hip_case, resource=hip["beds"], status=BookingStatus.BOOKED)
    assert beds.count() == 5  # not the catalog usage's 7 bed-days


def test_extra_nights_only_as_a_priced_line(users, patient, hospital, hip, arrival):
    """Two more nights on the quote (inpatient-day lines, priced) make seven, booked as nights after surgery."""
    case = make_case(patient, hospital, state="accepted", services=[hip["package"]], desired_arrival=arrival)
    quote = accept_quote(case, [hip["package"], hip["ward"]], users["coordinator"])
    quote.lines.filter(item=hip["ward"]).update(quantity=2)
    itinerary = _plan(users, case, arrival)
    assert itinerary.nights == 7 and itinerary.items.filter(kind=ItemKind.STAY).count() == 7
    assert not itinerary.items.filter(kind=ItemKind.VISIT, item=hip["ward"]).exists()


def test_itinerary_api_lists_the_events_in_order(client, users, hip_case, arrival):
    _plan(users, hip_case, arrival)
    client.force_login(users["coordinator"])
    body = client.get(f"/api/planning/cases/{hip_case.reference}/itinerary").json()
    events = body["events"]
    assert events[0]["kind"] == "arrival" and events[-1]["kind"] == "departure"
    assert {e["kind"] for e in events} <= set(EVENT_KINDS)
    procedure = next(e for e in events if e["kind"] == "procedure")
    assert procedure["service"] == "ORTH-THR" and "night 1 of 5" in procedure["reason"]
    assert [e["kind"] for e in events].count("inpatient") == 5
    assert all("interpreter" in e for e in events)
    assert "fit to fly from" in events[-1]["reason"]
    assert body["nights"] == 5 and body["fit_to_fly"]


def test_the_trip_page_says_why_each_day_with_dates_in_the_readers_locale(client, users, hip_case, arrival):
    itinerary = _plan(users, hip_case, arrival)
    client.force_login(users["coordinator"])
    day = itinerary.arrival
    english = client.get(f"/en/planning/cases/{hip_case.reference}/").content.decode()
    assert f"{day.day} {day:%B %Y}" in english and f"{day:%b}. {day.day}, {day.year}" not in english
    assert "inpatient night 1 of 5" in english and "fit to fly from" in english
    assert "waiting for the" in english  # the reports, or the wound check
    chinese = client.get(f"/zh-hans/planning/cases/{hip_case.reference}/").content.decode()
    assert f"{day.year}年{day.month}月{day.day}日" in chinese and "住院第1晚（共5晚）" in chinese
