"""On PostgreSQL, two cases confirming trips that need the same last theatre hours at once: one trip is
booked whole, the other books nothing and is planned again."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connections

from laihua.capacity.models import Booking, BookingStatus, IntlUsage
from laihua.planning import services
from laihua.planning.models import ItemKind, Itinerary
from laihua.planning.services import PlaceTaken

from .conftest import inputs


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_confirmations_racing_for_the_last_theatre_hours(users, trip_case, other_case, arrival, knee):
    coordinator = users["coordinator"]
    plans = [services.plan_case(coordinator, case, inputs(arrival)) for case in (trip_case, other_case)]
    days = {p.items.get(kind=ItemKind.VISIT, item__code="ORTH-ARTHRO").day for p in plans}
    assert len(days) == 1  # both want the same surgery day: 3 international theatre hours, 2 each
    barrier = threading.Barrier(2)
    outcomes = []

    def confirm(itinerary):
        try:
            barrier.wait(timeout=30)
            services.confirm_itinerary(coordinator, Itinerary.objects.select_related("case").get(pk=itinerary.pk))
            outcomes.append("booked")
        except PlaceTaken:
            outcomes.append("replanned")
        except Exception as exc:  # noqa: BLE001 - any other outcome fails the test below
            outcomes.append(repr(exc))
        finally:
            connections.close_all()

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(confirm, plans))
    assert sorted(outcomes) == ["booked", "replanned"]
    booked = Booking.objects.filter(status=BookingStatus.BOOKED)
    assert {b.case_id for b in booked} in ({trip_case.pk}, {other_case.pk})
    assert booked.count() == 5
    (day,) = days
    assert IntlUsage.objects.get(resource=knee["theatre"], period="day", day=day).booked_units == 2
