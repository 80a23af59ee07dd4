import datetime
from decimal import Decimal

import pytest

from laihua.capacity.models import Resource, ServiceUsage
from laihua.kit import clock
from tests.builders import make_case, make_item


def make_resource(hospital, code="mri-1", kind="mri", unit="slot", daily_capacity=100, share=Decimal("0.10"), **extra):
    return Resource.objects.create(
        hospital=hospital,
        code=code,
        kind=kind,
        unit=unit,
        name={"en": code.upper(), "zh-hans": code},
        daily_capacity=daily_capacity,
        intl_share=share,
        **extra,
    )


@pytest.fixture
def day():
    """A day ten days ahead, not at a month's edge so that the nearest days stay in one month."""
    candidate = clock.today() + datetime.timedelta(days=10)
    while candidate.day < 8 or candidate.day > 20:
        candidate += datetime.timedelta(days=1)
    return candidate


@pytest.fixture
def scanner(hospital):
    """An MRI with 100 slots a day: 10 international places a day."""
    return make_resource(hospital)


@pytest.fixture
def mri_usage(mri, scanner):
    return ServiceUsage.objects.create(item=mri, resource=scanner, units=1)


@pytest.fixture
def accepted(patient, hospital, mri, mri_usage):
    return make_case(patient, hospital, state="accepted", services=[mri])


@pytest.fixture
def hip(hospital):
    """A hip replacement: 3 theatre hours on day 0 and a bed-day on days 0..6."""
    item = make_item(
        hospital, code="HIP-01", kind="procedure", en="Hip replacement", zh="髋关节置换", department="orthopaedics"
    )
    theatre = make_resource(hospital, "theatre-1", "theatre", "theatre_hour", daily_capacity=30)
    beds = make_resource(hospital, "beds-ortho", "bed", "bed_day", daily_capacity=20)
    ServiceUsage.objects.create(item=item, resource=theatre, units=3, day_offset=0, days=1)
    ServiceUsage.objects.create(item=item, resource=beds, units=1, day_offset=0, days=7)
    return item, theatre, beds
