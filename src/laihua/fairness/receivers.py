"""Keeping the roll-up and the real prices current as bookings and cases change, once the change commits."""

from django.db import transaction

from laihua.cases.states import State
from laihua.fairness.services import real_prices, rollup


def on_bookings_changed(sender, hospital_id: int, days, **kwargs):
    days = list(days)
    transaction.on_commit(lambda: rollup.recount_soon(hospital_id, days), robust=True)


def on_case_moved(sender, case, previous, to, **kwargs):
    if to != State.CLOSED:
        return
    items = real_prices.items_of_case(case)
    if items:
        transaction.on_commit(lambda: real_prices.refresh_real_prices(items), robust=True)
