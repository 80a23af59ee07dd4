"""The arithmetic of a quote: each line rounded to the fen, the total their plain sum, the converted
amounts the CNY amounts at the rate, rounded to the currency's minor unit, halves up."""

import datetime
from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from laihua.quotes import services
from laihua.rates.services import Rate

FEN = Decimal("0.01")

quantities = st.integers(min_value=1, max_value=999)
prices = st.decimals(min_value=0, max_value=Decimal("999999.99"), places=2)
percents = st.one_of(st.none(), st.decimals(min_value=0, max_value=100, places=2))
rates_ = st.decimals(min_value=Decimal("0.00010000"), max_value=Decimal("100"), places=8).filter(lambda r: r > 0)
currencies = st.sampled_from(["USD", "EUR", "JPY", "KRW", "GBP", "RUB"])


@st.composite
def lines(draw):
    quantity, unit = draw(quantities), draw(prices)
    gross = (unit * quantity).quantize(FEN)
    if draw(st.booleans()):
        return quantity, unit, draw(percents), None
    fixed = draw(st.decimals(min_value=0, max_value=gross, places=2))
    return quantity, unit, None, fixed


@settings(max_examples=300, deadline=None)
@given(st.lists(lines(), min_size=1, max_size=30), rates_, currencies)
def test_the_total_is_the_sum_of_the_lines_and_converts_at_the_rate(quote_lines, cny_per_unit, currency):
    amounts = [services.line_amounts(q, unit, percent=p, fixed=f) for q, unit, p, f in quote_lines]
    for (quantity, unit, _percent, _fixed), line in zip(quote_lines, amounts, strict=True):
        assert line.gross == (unit * quantity).quantize(FEN, rounding=ROUND_HALF_UP)
        assert Decimal(0) <= line.discount <= line.gross
        assert line.amount == line.gross - line.discount
        assert line.amount == line.amount.quantize(FEN)
    total = services.quote_total(line.amount for line in amounts)
    assert total == sum((line.amount for line in amounts), Decimal(0))
    rate = Rate(currency, cny_per_unit, datetime.date(2026, 11, 2), "test")
    minor = Decimal(1) if currency in ("JPY", "KRW") else FEN
    assert services.converted(total, rate) == (total / cny_per_unit).quantize(minor, rounding=ROUND_HALF_UP)


@settings(max_examples=200, deadline=None)
@given(quantities, prices, st.decimals(min_value=0, max_value=100, places=2))
def test_a_percentage_discount_is_the_gross_times_the_percentage_rounded_half_up(quantity, unit, percent):
    line = services.line_amounts(quantity, unit, percent=percent)
    assert line.discount == (line.gross * percent / 100).quantize(FEN, rounding=ROUND_HALF_UP)


@pytest.mark.parametrize(
    ("quantity", "unit", "percent", "expected"),
    [
        (1, Decimal("0.10"), Decimal("5"), Decimal("0.01")),  # 0.005 rounds up, not to even
        (1, Decimal("0.30"), Decimal("5"), Decimal("0.02")),  # 0.015 -> 0.02
        (3, Decimal("33.33"), Decimal("50"), Decimal("50.00")),  # 99.99 / 2 = 49.995 -> 50.00
    ],
)
def test_half_a_fen_rounds_up(quantity, unit, percent, expected):
    assert services.line_amounts(quantity, unit, percent=percent).discount == expected


def test_yen_has_no_minor_unit():
    rate = Rate("JPY", Decimal("0.04650000"), datetime.date(2026, 11, 2), "test")
    assert services.converted(Decimal("486.00"), rate) == Decimal("10452")  # 10451.6129...


@pytest.mark.django_db
def test_the_stored_total_is_the_sum_of_the_stored_lines(draft, users, knee, checkup):
    coordinator = users["coordinator"]
    services.add_line(
        coordinator,
        draft,
        {
            "item": knee.pk,
            "unit_price": "33333.33",
            "quantity": 3,
            "discount_percent": "7.77",
            "discount_reason": "Bundle",
        },
    )
    services.add_line(
        coordinator, draft, {"item": checkup.pk, "discount_amount": "0.01", "discount_reason": "Rounding"}
    )
    services.add_line(
        coordinator, draft, {"description": {"en": "Interpreter", "zh-hans": "翻译"}, "unit_price": "0.05"}
    )
    draft.refresh_from_db()
    assert draft.total_cny == sum(draft.lines.values_list("amount_cny", flat=True))
    # 99999.99 - 7.77 % (7769.999...-> 7770.00) = 92229.99; + 972 + 2799.99 + 0.05
    assert draft.total_cny == Decimal("96002.03")
