"""On PostgreSQL, concurrent bookings for the last places of a day book exactly those places."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connections

from laihua.capacity import services
from laihua.capacity.models import Booking, IntlUsage
from laihua.capacity.services import QuotaFull

ATTEMPTS = 200
THREADS = 40  # each with its own connection; PostgreSQL allows 100 connections here


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_200_concurrent_attempts_for_the_last_5_places_book_exactly_5(users, accepted, mri, scanner, day):
    coordinator = users["coordinator"]
    for n in range(5):
        services.book_service(coordinator, accepted, mri, day, idempotency_key=f"before-{n}")
    barrier = threading.Barrier(THREADS)
    outcomes = []
    lock = threading.Lock()

    def attempt(worker: int):
        try:
            barrier.wait(timeout=30)
            for n in range(ATTEMPTS // THREADS):
                try:
                    services.book_service(coordinator, accepted, mri, day, idempotency_key=f"race-{worker}-{n}")
                    result = "booked"
                except QuotaFull:
                    result = "quota_full"
                except Exception as exc:  # noqa: BLE001 - any other outcome fails the test below
                    result = repr(exc)
                with lock:
                    outcomes.append(result)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(attempt, range(THREADS)))
    assert len(outcomes) == ATTEMPTS
    assert outcomes.count("booked") == 5
    assert outcomes.count("quota_full") == ATTEMPTS - 5
    assert Booking.objects.filter(day=day, status="booked").count() == 10
    assert IntlUsage.objects.get(resource=scanner, period="day", day=day).booked_units == 10


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_the_same_key_sent_at_once_books_once(users, accepted, mri, scanner, day):
    coordinator = users["coordinator"]
    barrier = threading.Barrier(10)
    results = []

    def attempt(_n):
        try:
            barrier.wait(timeout=30)
            results.append(
                [b.pk for b in services.book_service(coordinator, accepted, mri, day, idempotency_key="once")]
            )
        finally:
            connections.close_all()

    with ThreadPoolExecutor(10) as pool:
        list(pool.map(attempt, range(10)))
    assert len(results) == 10 and len({tuple(r) for r in results}) == 1
    assert Booking.objects.count() == 1


def waiting_hip(users, patient, hospital, hip, day):
    """The beds of the day full with two ward days of a case that waits for a hip replacement on that day
    (which also takes theatre hours, the lower resource); returns (the ward bookings, the waiting entry)."""
    from laihua.capacity.models import ServiceUsage
    from laihua.capacity.services import month_start
    from tests.builders import make_case, make_item

    item, theatre, beds = hip
    assert theatre.pk < beds.pk
    coordinator = users["coordinator"]
    ward = make_item(hospital, code="WARD-01", kind="inpatient_day", en="Ward day", zh="住院日")
    ServiceUsage.objects.create(item=ward, resource=beds, units=1)
    case = make_case(patient, hospital, state="accepted", services=[ward, item])
    taken = [services.book_service(coordinator, case, ward, day, idempotency_key=f"ward-{n}")[0] for n in range(2)]
    entry = services.join_waitlist(coordinator, case, item, day)
    for resource, period, first in ((theatre, "day", day), (theatre, "month", month_start(day))):
        IntlUsage.objects.get_or_create(resource=resource, period=period, day=first)
    return taken, entry


def race_a_booking_holding_the_theatre(change, theatre, beds, day) -> dict:
    """Run `change` (which frees a bed for the waiting hip) while a booking holds the theatre's counter
    and then wants the bed's, as a booking of the hip would; the change goes once it waits for a lock.
    Returns each side's outcome: "done", or the exception (a deadlock, say)."""
    from django.db import connection, transaction

    holding, go = threading.Event(), threading.Event()
    outcomes = {}

    def booking_in_order():
        try:
            with transaction.atomic():
                list(IntlUsage.objects.select_for_update().filter(resource=theatre, period="day", day=day))
                holding.set()
                go.wait(timeout=30)
                list(IntlUsage.objects.select_for_update().filter(resource=beds, period="day", day=day))
            outcomes["booking"] = "done"
        except Exception as exc:  # noqa: BLE001 - a deadlock or anything else fails the caller's test
            outcomes["booking"] = repr(exc)
        finally:
            connections.close_all()

    def changing():
        try:
            change()
            outcomes["change"] = "done"
        except Exception as exc:  # noqa: BLE001
            outcomes["change"] = repr(exc)
        finally:
            connections.close_all()

    first = threading.Thread(target=booking_in_order)
    first.start()
    assert holding.wait(timeout=30)
    second = threading.Thread(target=changing)
    second.start()
    for _ in range(300):  # until the change waits for a row lock
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0]:
                break
        second.join(timeout=0.05)
    go.set()
    first.join(timeout=60)
    second.join(timeout=60)
    return outcomes


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_cancellation_that_serves_the_waitlist_locks_in_the_global_order(users, patient, hospital, hip, day):
    """A freed bed goes to a waiting hip replacement, which also takes theatre hours. The cancellation
    must lock the theatre counter (the lower resource) before the bed counter, as every booking does:
    otherwise a booking holding the theatre and wanting the bed deadlocks with it."""
    _item, theatre, beds = hip
    taken, entry = waiting_hip(users, patient, hospital, hip, day)
    outcomes = race_a_booking_holding_the_theatre(
        lambda: services.cancel_booking(users["coordinator"], taken[0]), theatre, beds, day
    )
    assert outcomes == {"booking": "done", "change": "done"}
    entry.refresh_from_db()
    assert entry.status == "booked"
    assert services.booked_units(beds, day) == 2 and services.booked_units(theatre, day) == 3


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_csv_increase_that_serves_the_waitlist_locks_in_the_global_order(users, patient, hospital, hip, day):
    """A CSV import raises the beds of a day; the new bed goes to a waiting hip replacement, which also takes
    theatre hours. The import must lock the theatre counter (the lower resource) before the bed counter, as
    every booking does, or a booking holding the theatre and wanting the bed deadlocks with it."""
    _item, theatre, beds = hip
    _taken, entry = waiting_hip(users, patient, hospital, hip, day)
    text = f"resource_code,day,capacity,closed,note\nbeds-ortho,{day},30,no,\n"
    outcomes = race_a_booking_holding_the_theatre(
        lambda: services.import_capacity_csv(users["hospital_admin"], hospital, text), theatre, beds, day
    )
    assert outcomes == {"booking": "done", "change": "done"}
    entry.refresh_from_db()
    assert entry.status == "booked"
    assert services.booked_units(beds, day) == 3 and services.booked_units(theatre, day) == 3
