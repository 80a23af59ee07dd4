"""A quote's arithmetic: plain functions, so that the invariants can be tested on their own.

CNY amounts are Decimal, rounded to the fen (ROUND_HALF_UP) line by line; the total is the sum of the
line amounts; an amount in the patient's currency is converted at a rate and rounded to that currency's
minor unit."""

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from laihua.rates import services as rates

FEN = Decimal("0.01")


def to_fen(amount: Decimal) -> Decimal:
    """Round a CNY amount to the fen, halves up (0.005 -> 0.01)."""
    return Decimal(amount).quantize(FEN, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class LineAmounts:
    gross: Decimal
    discount: Decimal
    amount: Decimal


def line_amounts(
    quantity: int, unit_price: Decimal, *, percent: Decimal | None = None, fixed: Decimal | None = None
) -> LineAmounts:
    """A line's amount before discount, its discount and what is left, each rounded to the fen.

    A percentage applies to the line's gross amount; a fixed discount is an amount off the whole line.
    The discount never exceeds the gross amount (callers refuse such input before this point)."""
    gross = to_fen(Decimal(unit_price) * quantity)
    if percent:
        discount = to_fen(gross * Decimal(percent) / 100)
    elif fixed:
        discount = to_fen(fixed)
    else:
        discount = Decimal("0.00")
    discount = min(discount, gross)
    return LineAmounts(gross, discount, gross - discount)


def quote_total(amounts: Iterable[Decimal]) -> Decimal:
    """The quote's total: the plain sum of its (already rounded) line amounts."""
    return to_fen(sum(amounts, Decimal("0.00")))


def converted(amount_cny: Decimal, rate: rates.Rate) -> Decimal:
    """A CNY amount in the rate's currency, rounded to that currency's minor unit (halves up)."""
    return rates.convert_from_cny(amount_cny, rate)
