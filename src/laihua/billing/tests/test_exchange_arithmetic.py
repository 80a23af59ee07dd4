"""The pinned amounts in the patient's currency, proven on the Django-free arithmetic: paying the pinned amount in
any number of parts settles the part exactly; whatever else happened, paying (or refunding) the amount shown as owed
brings what is owed to exactly zero; and the balance is always the parts less the payments, with their exchange
differences, to the fen."""

from decimal import Decimal

from hypothesis import assume, given
from hypothesis import strategies as st

from laihua.billing import arithmetic
from laihua.billing.arithmetic import FEN, ZERO, PaidAtPin, Pin

cny = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("500000"), places=2)
rates = st.decimals(min_value=Decimal("0.004"), max_value=Decimal("20"), places=8)  # KRW up to KWD
units = st.sampled_from([FEN, Decimal(1)])  # most currencies; the yen and the won


@st.composite
def pins(draw):
    part, rate, unit = draw(cny), draw(rates), draw(units)
    _total, foreign, _insurer = arithmetic.pin_parts(part, part, rate, unit)
    return Pin(cny=part, foreign=foreign, rate=rate, unit=unit)


@st.composite
def splits_of(draw, whole: Decimal, unit: Decimal):
    """Any sequence of positive amounts (in the unit) that adds up to `whole`."""
    steps = int(whole / unit)
    if steps <= 0:
        return []
    cuts = sorted(set(draw(st.lists(st.integers(min_value=1, max_value=steps - 1), max_size=8)))) if steps > 1 else []
    bounds = [0, *cuts, steps]
    return [(high - low) * unit for low, high in zip(bounds, bounds[1:], strict=False)]


def pay(pin, due, paid, amount):
    """One payment in the pinned currency (a refund negative): the new (due, paid) and what it settled."""
    settled = arithmetic.settle_at_pin(pin, amount, due, paid)
    return due - settled, PaidAtPin(paid.foreign + amount, paid.cny + settled), settled


@given(pin=pins(), data=st.data())
def test_any_partial_payments_that_add_up_to_the_pinned_amount_leave_exactly_nothing_owed(pin, data):
    assume(pin.foreign > 0)
    due, paid = pin.cny, PaidAtPin()
    assert arithmetic.foreign_due(pin, due, paid) == pin.foreign  # what the invoice shows is what is asked
    for amount in data.draw(splits_of(pin.foreign, pin.unit)):
        due, paid, settled = pay(pin, due, paid, amount)
        assert settled >= 0 and settled == settled.quantize(FEN)
        assert arithmetic.foreign_due(pin, due, paid) == (pin.foreign - paid.foreign if due else 0)
    assert due == 0 and paid.cny == pin.cny


events = st.lists(
    st.one_of(
        st.tuples(st.just("pinned"), st.decimals(min_value=Decimal("0.01"), max_value=Decimal("100000"), places=2)),
        st.tuples(st.just("refund"), st.decimals(min_value=Decimal("0.01"), max_value=Decimal("100000"), places=2)),
        # a payment in CNY or a third currency, an amount moved in from the insurer, a write-off: only CNY changes
        st.tuples(st.just("other"), st.decimals(min_value=Decimal("-50000"), max_value=Decimal("50000"), places=2)),
    ),
    max_size=10,
)


@given(pin=pins(), history=events)
def test_paying_the_amount_shown_always_settles_the_part_exactly(pin, history):
    due, paid = pin.cny, PaidAtPin()
    for kind, amount in history:
        if kind == "other":
            due -= amount
        else:
            amount = max(arithmetic.to_unit(amount, pin.unit), pin.unit)  # amounts in the currency's smallest unit
            due, paid, settled = pay(pin, due, paid, amount if kind == "pinned" else -amount)
            assert (settled >= 0) if kind == "pinned" else (settled <= 0)
    shown = arithmetic.foreign_due(pin, due, paid)
    assert (shown == 0) == (due == 0)
    assert shown == 0 or (shown > 0) == (due > 0)  # something owed: a payment; overpaid: a refund
    assert shown == shown.quantize(pin.unit)
    if shown:
        due, paid, _settled = pay(pin, due, paid, shown)
    assert due == 0 and arithmetic.foreign_due(pin, due, paid) == 0


@given(total=cny, share=st.decimals(min_value=0, max_value=1, places=4), rate=rates, unit=units)
def test_the_pinned_parts_add_up_to_the_pinned_total(total, share, rate, unit):
    patient = arithmetic.to_fen(total * share)
    pinned_total, patient_foreign, insurer_foreign = arithmetic.pin_parts(total, patient, rate, unit)
    assert patient_foreign + insurer_foreign == pinned_total
    assert patient_foreign >= 0 and insurer_foreign >= 0
    assert pinned_total == arithmetic.to_unit(total / rate, unit)


money = st.decimals(min_value=0, max_value=Decimal("99999.99"), places=2)
gains = st.decimals(min_value=Decimal("-999.99"), max_value=Decimal("999.99"), places=2)


@given(insurer=money, patient=money, moved=money, pp=money, ip=money, pw=money, iw=money, pe=gains, ie=gains)
def test_the_balance_is_the_parts_less_payments_with_exchange_differences(
    insurer, patient, moved, pp, ip, pw, iw, pe, ie
):
    result = arithmetic.balances(
        insurer_part=insurer,
        patient_part=patient,
        moved_to_patient=moved,
        patient_paid=pp,
        insurer_paid=ip,
        patient_written_off=pw,
        insurer_written_off=iw,
        patient_exchange=pe,
        insurer_exchange=ie,
    )
    assert result.insurer_due + result.patient_due == result.balance
    # payments count for what they settle: as received, less the exchange gain (plus the loss)
    assert result.balance == insurer + patient - (pp - pe) - (ip - ie) - pw - iw
    assert result.exchange == pe + ie


@given(received=money, settled=money)
def test_the_exchange_difference_is_a_gain_when_more_came_in_than_was_settled(received, settled):
    gain = arithmetic.exchange_difference("balance", received, settled)
    assert gain == received - settled
    # a refund: what it settles back beyond what was paid out
    assert arithmetic.exchange_difference("refund", received, settled) == settled - received


def test_paying_the_pounds_shown_settles_what_a_rate_rounded_both_ways_left_owing():
    """The case of the issue: 1,234.56 CNY at 9.1234 CNY per pound is £135.32; £135.32 at that rate is 1,234.56...
    only because the pin says so (135.32 x 9.1234 = 1,234.58)."""
    part, rate = Decimal("1234.56"), Decimal("9.1234")
    _total, pounds, _ = arithmetic.pin_parts(part, part, rate)
    assert pounds == Decimal("135.32") and arithmetic.to_fen(pounds * rate) != part
    pin = Pin(cny=part, foreign=pounds, rate=rate)
    assert arithmetic.settle_at_pin(pin, pounds, part) == part
    assert arithmetic.foreign_due(pin, ZERO) == 0
