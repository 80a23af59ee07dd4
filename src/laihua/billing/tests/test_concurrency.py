"""On PostgreSQL, a payment retried at once is recorded once, and concurrent refunds never return more than
the patient paid."""

import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import connections

from laihua.billing import services
from laihua.billing.models import Payment
from laihua.errors import InvalidInput

THREADS = 10


def _run(worker_count, work):
    barrier = threading.Barrier(worker_count)
    results, lock = [], threading.Lock()

    def attempt(n):
        try:
            barrier.wait(timeout=30)
            try:
                result = work(n)
            except InvalidInput:
                result = "refused"
            except Exception as exc:  # noqa: BLE001 - any other outcome fails the test
                result = repr(exc)
            with lock:
                results.append(result)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(worker_count) as pool:
        list(pool.map(attempt, range(worker_count)))
    return results


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_the_same_payment_sent_at_once_is_recorded_once(users, issued):
    data = {"kind": "balance", "method": "card", "reference": "POS-9", "amount": "172"}
    results = _run(
        THREADS,
        lambda n: services.record_payment(users["finance"], issued, data, idempotency_key="same")[0].pk,
    )
    assert len(set(results)) == 1 and isinstance(results[0], int)
    assert Payment.objects.filter(invoice=issued).count() == 1


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_refunds_never_exceed_what_was_paid(users, issued):
    paid = {"kind": "balance", "method": "card", "reference": "POS-1", "amount": "172"}
    services.record_payment(users["finance"], issued, paid, idempotency_key="paid")
    refund = {"kind": "refund", "method": "card", "reference": "R", "amount": "50", "confirm_duplicate": True}
    results = _run(
        THREADS, lambda n: services.record_payment(users["finance"], issued, refund, idempotency_key=f"r{n}")[0].kind
    )
    assert results.count("refund") == 3 and results.count("refused") == THREADS - 3
    assert services.balances_of(issued).patient_paid == Decimal("22.00")
