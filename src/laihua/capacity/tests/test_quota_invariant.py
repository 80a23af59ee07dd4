"""Random sequences of bookings, cancellations and capacity changes never take more than the cap."""

import datetime

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from laihua.capacity import services
from laihua.capacity.models import Booking, BookingStatus, IntlUsage
from laihua.capacity.services import QuotaFull

pytestmark = pytest.mark.django_db

operations = st.lists(
    st.one_of(
        st.tuples(st.just("book"), st.sampled_from(["mri", "hip"]), st.integers(0, 9)),
        st.tuples(st.just("cancel"), st.integers(0, 50)),
        st.tuples(
            st.just("capacity"), st.sampled_from(["scanner", "theatre", "beds"]), st.integers(0, 12), st.integers(0, 60)
        ),
    ),
    max_size=30,
)


class Rollback(Exception):
    pass


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=operations)
def test_a_booking_never_takes_the_quota_over_the_cap(users, accepted, mri, scanner, hip, day, ops):
    item, theatre, beds = hip
    items = {"mri": mri, "hip": item}
    resources = {"scanner": scanner, "theatre": theatre, "beds": beds}
    try:
        with transaction.atomic():
            _run(users, accepted, items, resources, day, ops)
            raise Rollback
    except Rollback:
        pass


def _run(users, case, items, resources, day, ops):
    coordinator, admin = users["coordinator"], users["hospital_admin"]
    for n, op in enumerate(ops):
        if op[0] == "book":
            start = day + datetime.timedelta(days=op[2])
            try:
                made = services.book_service(coordinator, case, items[op[1]], start, idempotency_key=f"k{n}")
            except QuotaFull:
                made = []
            for booking in made:
                _check_day_within_cap(booking.resource, booking.day)
        elif op[0] == "cancel":
            active = list(Booking.objects.filter(status=BookingStatus.BOOKED).order_by("pk"))
            if active:
                services.cancel_booking(coordinator, active[op[1] % len(active)])
        else:
            resource = resources[op[1]]
            target = day + datetime.timedelta(days=op[2]) if op[2] < 12 else None
            over = services.set_capacity(admin, resource, target, op[3])
            # Lowering lists what is over; it cancels nothing.
            for entry in over:
                assert entry.booked > entry.cap and entry.bookings
        _check_counters()


def _check_day_within_cap(resource, day):
    resource.refresh_from_db()
    caps = services.Capacities([resource], day, day)
    assert services.booked_units(resource, day) <= caps.day_cap(resource.pk, day)
    first = day.replace(day=1)
    month_total = sum(
        b.units
        for b in Booking.objects.filter(resource=resource, status="booked", day__year=day.year, day__month=day.month)
    )
    assert month_total <= caps.month_cap(resource.pk, first)


def _check_counters():
    """The counters always equal the active bookings, by day and by month."""
    for counter in IntlUsage.objects.select_related("resource"):
        if counter.period == IntlUsage.DAY:
            assert counter.booked_units == services.booked_units(counter.resource, counter.day)
        else:
            total = sum(
                b.units
                for b in Booking.objects.filter(
                    resource=counter.resource,
                    status="booked",
                    day__year=counter.day.year,
                    day__month=counter.day.month,
                )
            )
            assert counter.booked_units == total
