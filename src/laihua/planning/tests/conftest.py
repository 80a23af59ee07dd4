import datetime
from decimal import Decimal

import pytest

from laihua.capacity.models import ServiceUsage
from laihua.capacity.tests.conftest import make_resource as capacity_resource
from laihua.kit import clock
from laihua.planning.models import ServiceOrder, ServiceRule
from laihua.quotes.models import Quote, QuoteLine
from tests.builders import make_case, make_item, make_patient


def make_resource(hospital, code, kind="mri", unit="slot", daily_capacity=20, hours="08:00-17:00"):
    """A resource with 10% for international patients (20 a day: 2 places) and its opening hours."""
    return capacity_resource(hospital, code, kind, unit, daily_capacity, opening_hours=hours)


def accept_quote(case, items, author):
    """An accepted quote for the case with one line per item."""
    quote = Quote.objects.create(
        case=case,
        revision=1,
        number=f"{case.reference}-Q1",
        status="accepted",
        quote_date=clock.today(),
        currency="USD",
        created_by=author,
    )
    for position, item in enumerate(items, start=1):
        QuoteLine.objects.create(
            quote=quote,
            position=position,
            item=item,
            code=item.code,
            description=item.name,
            unit_price_cny=Decimal("100.00"),
            gross_cny=Decimal("100.00"),
            amount_cny=Decimal("100.00"),
        )
    return quote


@pytest.fixture
def knee(hospital):
    """Consultation, fasting bloods, MRI and knee surgery (2 theatre hours, 2 bed-days) with their orders."""
    clinic = make_resource(hospital, "clinics", "clinic_session", "visit", 100)
    scanner = make_resource(hospital, "mri", "mri", "slot", 20, "08:00-20:00")
    theatre = make_resource(hospital, "theatre", "theatre", "theatre_hour", 30, "08:00-18:00")
    beds = make_resource(hospital, "beds", "bed", "bed_day", 30, "")
    consult = make_item(hospital, code="CON-ORTH", kind="consultation", en="Orthopaedic consultation", zh="骨科会诊")
    bloods = make_item(hospital, code="LAB-CBC", kind="laboratory", en="Blood count", zh="血常规")
    mri = make_item(hospital, code="RAD-MRI", kind="imaging", en="MRI of the knee", zh="膝关节磁共振")
    surgery = make_item(hospital, code="ORTH-ARTHRO", kind="procedure", en="Knee arthroscopy", zh="膝关节镜")
    ServiceUsage.objects.create(item=consult, resource=clinic)
    ServiceUsage.objects.create(item=mri, resource=scanner)
    ServiceUsage.objects.create(item=surgery, resource=theatre, units=2)
    ServiceUsage.objects.create(item=surgery, resource=beds, units=1, days=2)
    ServiceRule.objects.create(item=bloods, morning_only=True, duration_minutes=15)
    ServiceRule.objects.create(item=surgery, stay_days=2, duration_minutes=120)
    ServiceOrder.objects.create(before=consult, after=mri, min_gap_days=0)
    ServiceOrder.objects.create(before=consult, after=bloods, min_gap_days=0)
    ServiceOrder.objects.create(before=mri, after=surgery, min_gap_days=1)
    ServiceOrder.objects.create(before=bloods, after=surgery, min_gap_days=1)
    return {
        "items": [consult, bloods, mri, surgery],
        "clinic": clinic,
        "mri": scanner,
        "theatre": theatre,
        "beds": beds,
    }


@pytest.fixture
def arrival():
    return clock.today() + datetime.timedelta(days=10)


@pytest.fixture
def trip_case(patient, hospital, knee, users, arrival):
    """An accepted case (a British patient: 30 days visa-free is not assumed; the stay limit is given)."""
    case = make_case(
        patient,
        hospital,
        state="accepted",
        services=knee["items"],
        desired_arrival=arrival,
        desired_departure=arrival + datetime.timedelta(days=20),
    )
    accept_quote(case, knee["items"], users["coordinator"])
    return case


@pytest.fixture
def other_case(other_patient, hospital, knee, users, arrival):
    """Another patient's accepted case at the same hospital."""
    case = make_case(other_patient, hospital, state="accepted", services=knee["items"], desired_arrival=arrival)
    accept_quote(case, knee["items"], users["coordinator"])
    return case


def inputs(arrival, **extra):
    data = {
        "earliest_arrival": arrival.isoformat(),
        "latest_departure": (arrival + datetime.timedelta(days=20)).isoformat(),
        "route": "",
        "stay_limit": 30,
        "visits_per_day": 3,
    }
    data.update(extra)
    return data


__all__ = ["make_patient", "inputs"]
