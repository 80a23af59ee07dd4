"""On PostgreSQL, with the invoice row locked while a payment is recorded: one form sent at once from many tabs
records one payment; likely duplicates sent at once record one and ask about the rest; and payments in the pinned
currency sent at once still add up to the part exactly."""

from decimal import Decimal

import pytest

from laihua.billing import services
from laihua.billing.models import Payment

from .test_concurrency import THREADS, _run
from .test_exchange import in_pounds  # noqa: F401 - the fixture

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]

PAYMENT = {"kind": "balance", "method": "card", "reference": "POS-5", "amount": "50"}


def test_one_form_sent_at_once_records_one_payment(users, issued):
    form = services.new_payment_form(users["finance"], issued)
    results = _run(THREADS, lambda n: services.record_form_payment(users["finance"], issued, PAYMENT, form=form)[0].pk)
    assert len(set(results)) == 1 and isinstance(results[0], int)
    assert Payment.objects.filter(invoice=issued).count() == 1


def test_likely_duplicates_sent_at_once_record_one_and_ask_about_the_rest(users, issued):
    def attempt(n):
        try:
            return services.record_payment(users["finance"], issued, PAYMENT, idempotency_key=f"d{n}")[0].kind
        except services.PossibleDuplicate:
            return "asked"

    results = _run(THREADS, attempt)
    assert results.count("balance") == 1 and results.count("asked") == THREADS - 1
    assert Payment.objects.filter(invoice=issued).count() == 1


def test_payments_in_pounds_sent_at_once_settle_the_part_exactly(users, in_pounds):  # noqa: F811
    parts = ["2.00", "2.00", "2.00", "2.00", "2.00", "2.00", "2.00", "2.00", "2.85"]  # 18.85 pounds in all

    def attempt(n):
        data = {"kind": "balance", "method": "card", "reference": f"GBP-{n}", "amount": parts[n], "currency": "GBP"}
        return services.record_payment(users["finance"], in_pounds, data, idempotency_key=f"g{n}")[0].settled_cny

    settled = _run(len(parts), attempt)
    assert sum(settled, Decimal(0)) == Decimal("172.00")
    assert services.balances_of(in_pounds).patient_due == 0
