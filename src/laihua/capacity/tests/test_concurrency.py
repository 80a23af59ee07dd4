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
