"""A quote line's quantity above 1: sessions on separate days, inpatient days in a row, tests in one visit."""

import datetime

import pytest

from laihua.capacity import services as capacity
from laihua.capacity.models import Booking, BookingStatus, ServiceUsage
from laihua.errors import InvalidInput
from laihua.planning import services
from laihua.planning.models import ItemKind, Repeat, ServiceOrder, ServiceRule
from laihua.quotes.models import QuoteLine
from tests.builders import make_case, make_item

from .conftest import accept_quote, inputs, make_resource

pytestmark = pytest.mark.django_db


@pytest.fixture
def rehab(hospital):
    """A consultation, physiotherapy sessions, ward days and a blood count, each using a resource."""
    clinic = make_resource(hospital, "clinics", "clinic_session", "visit", 100)
    gym = make_resource(hospital, "physio", "clinic_session", "visit", 40)
    beds = make_resource(hospital, "beds", "bed", "bed_day", 30, "")
    lab = make_resource(hospital, "lab", "lab", "visit", 100, "07:00-11:00")
    consult = make_item(hospital, code="CON-REHAB", kind="consultation", en="Rehabilitation visit", zh="康复会诊")
    physio = make_item(hospital, code="PT-SESSION", kind="procedure", en="Physiotherapy session", zh="理疗")
    ward = make_item(hospital, code="WARD-DAY", kind="inpatient_day", en="Ward day", zh="住院日")
    bloods = make_item(hospital, code="LAB-CBC", kind="laboratory", en="Blood count", zh="血常规")
    for item, resource in ((consult, clinic), (physio, gym), (ward, beds), (bloods, lab)):
        ServiceUsage.objects.create(item=item, resource=resource)
    ServiceOrder.objects.create(before=consult, after=physio, min_gap_days=1)
    ServiceOrder.objects.create(before=consult, after=ward, min_gap_days=0)
    ServiceOrder.objects.create(before=physio, after=bloods, min_gap_days=1)
    return {"consult": consult, "physio": physio, "ward": ward, "bloods": bloods, "gym": gym, "beds": beds}


@pytest.fixture
def rehab_case(patient, hospital, rehab, users, arrival):
    items = [rehab["consult"], rehab["physio"], rehab["ward"], rehab["bloods"]]
    case = make_case(patient, hospital, state="accepted", services=items, desired_arrival=arrival)
    quote = accept_quote(case, items, users["coordinator"])
    for code, quantity in (("PT-SESSION", 3), ("WARD-DAY", 4), ("LAB-CBC", 2)):
        QuoteLine.objects.filter(quote=quote, code=code).update(quantity=quantity)
    return case


def visit_days(itinerary, item) -> list[datetime.date]:
    return sorted(itinerary.items.filter(kind=ItemKind.VISIT, item=item).values_list("day", flat=True))


def test_each_time_is_planned_as_its_kind_asks(users, rehab_case, rehab, arrival):
    itinerary = services.plan_case(users["coordinator"], rehab_case, inputs(arrival))
    assert itinerary.feasible
    consult = visit_days(itinerary, rehab["consult"])
    physio = visit_days(itinerary, rehab["physio"])
    ward = visit_days(itinerary, rehab["ward"])
    bloods = visit_days(itinerary, rehab["bloods"])
    assert len(consult) == 1 and len(bloods) == 1  # the two blood counts are taken in one visit
    assert len(physio) == 3 and len(set(physio)) == 3  # three sessions, each on its own day
    assert physio[0] >= consult[0] + datetime.timedelta(days=1)  # the order holds from the first session
    assert bloods[0] >= physio[-1] + datetime.timedelta(days=1)  # ... and to the last one
    assert [(day - ward[0]).days for day in ward] == [0, 1, 2, 3]  # four ward days in a row
    assert itinerary.stay_days >= (physio[-1] - consult[0]).days + 2


def test_confirming_books_every_time(users, rehab_case, rehab, arrival):
    itinerary = services.plan_case(users["coordinator"], rehab_case, inputs(arrival))
    services.confirm_itinerary(users["coordinator"], itinerary)
    booked = Booking.objects.filter(case=rehab_case, status=BookingStatus.BOOKED)
    assert booked.filter(resource=rehab["gym"]).count() == 3
    assert sorted(booked.filter(resource=rehab["beds"]).values_list("day", flat=True)) == visit_days(
        itinerary, rehab["ward"]
    )
    for day in visit_days(itinerary, rehab["ward"]):
        assert capacity.booked_units(rehab["beds"], day) == 1


def test_a_rule_can_plan_the_times_together_or_in_a_row(users, rehab_case, rehab, arrival):
    ServiceRule.objects.create(item=rehab["physio"], repeat=Repeat.CONSECUTIVE)
    ServiceRule.objects.create(item=rehab["ward"], repeat=Repeat.TOGETHER)
    itinerary = services.plan_case(users["coordinator"], rehab_case, inputs(arrival))
    physio = visit_days(itinerary, rehab["physio"])
    assert [(day - physio[0]).days for day in physio] == [0, 1, 2]
    assert len(visit_days(itinerary, rehab["ward"])) == 1


def test_too_many_times_is_refused_naming_the_service(users, rehab_case, arrival):
    QuoteLine.objects.filter(quote__case=rehab_case, code="PT-SESSION").update(quantity=services.MAX_REPEATS + 1)
    with pytest.raises(InvalidInput) as refused:
        services.plan_case(users["coordinator"], rehab_case, inputs(arrival))
    assert refused.value.field == "items" and "PT-SESSION" in str(refused.value.message)
    assert not rehab_case.itineraries.exists()
