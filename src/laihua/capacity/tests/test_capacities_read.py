"""Capacities.read (one statement, used under the counters' lock) gives the caps Capacities computes from
the resources and their day overrides."""

import datetime
from decimal import Decimal

from laihua.capacity.models import CapacityDay, Resource
from laihua.capacity.services import Capacities
from laihua.capacity.services.quota import month_days, month_start
from laihua.capacity.tests.conftest import make_resource


def test_read_gives_the_caps_of_the_stored_capacity(hospital, scanner, day):
    theatre = make_resource(hospital, code="theatre-1", kind="theatre", unit="theatre_hour", daily_capacity=37)
    other = make_resource(hospital, code="ct-1", kind="ct", daily_capacity=500)
    CapacityDay.objects.create(resource=scanner, day=day, capacity=250)
    CapacityDay.objects.create(resource=scanner, day=day + datetime.timedelta(days=1), capacity=80, closed=True)
    # Outside the months asked for: never read.
    CapacityDay.objects.create(resource=theatre, day=month_start(day) - datetime.timedelta(days=1), capacity=1)
    Resource.objects.filter(pk=theatre.pk).update(intl_share=Decimal("0.5"))  # above the platform maximum
    last = day + datetime.timedelta(days=40)

    read = Capacities.read([scanner.pk, theatre.pk], day, last)
    expected = Capacities(list(Resource.objects.filter(pk__in=[scanner.pk, theatre.pk])), day, last)

    assert set(read.resources) == {scanner.pk, theatre.pk}  # the CT was not asked for
    assert other.pk not in read.resources
    months = sorted({month_start(day), month_start(last)})
    for resource_id in (scanner.pk, theatre.pk):
        for first in months:
            assert read.month(resource_id, first) == expected.month(resource_id, first)
            assert read.month_cap(resource_id, first) == expected.month_cap(resource_id, first)
            for each in month_days(first):
                assert read.day_cap(resource_id, each) == expected.day_cap(resource_id, each)
    assert read.day(scanner.pk, day) == 250
    assert read.day_cap(scanner.pk, day) == 25
    assert read.day(scanner.pk, day + datetime.timedelta(days=1)) == 0  # closed
    assert read.day_cap(theatre.pk, day) == 3  # 37 hours at the 10% platform maximum, rounded down


def test_read_of_a_queryset_keeps_its_filter(hospital, scanner, day):
    inactive = make_resource(hospital, code="mri-2", active=False)
    read = Capacities.read(Resource.objects.filter(hospital=hospital, active=True), day, day)
    assert set(read.resources) == {scanner.pk}
    assert inactive.pk not in read.resources
    assert read.resources[scanner.pk].kind == "mri"
