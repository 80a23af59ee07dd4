"""Money: Decimal amounts with an explicit ISO 4217 currency; floats never hold money."""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache

from babel.numbers import format_currency, get_currency_precision, list_currencies
from django.utils.translation import get_language, to_locale
from django.utils.translation import gettext as _

from laihua.errors import InvalidInput

_KNOWN = frozenset(list_currencies())
MAX_AMOUNT = Decimal("1e12")  # beyond any price; keeps arithmetic and the 12-digit columns safe


def normalise_currency(code: str | None, *, field: str = "currency") -> str:
    """Return the upper-case ISO 4217 code, or raise InvalidInput naming the field."""
    value = (code or "").strip().upper()
    if value not in _KNOWN:
        raise InvalidInput(_("“%(code)s” is not an ISO 4217 currency code.") % {"code": code or ""}, field=field)
    return value


def parse_amount(raw, *, field: str) -> Decimal:
    """Parse a non-negative money amount with at most two decimals."""
    try:
        value = Decimal(str(raw).strip().replace(",", ""))
    except (InvalidOperation, ValueError):
        raise InvalidInput(_("“%(value)s” is not an amount.") % {"value": raw}, field=field) from None
    if not value.is_finite() or value < 0:
        raise InvalidInput(_("An amount must be zero or more."), field=field)
    if value >= MAX_AMOUNT:
        raise InvalidInput(_("This amount is too large."), field=field)
    if value != value.quantize(Decimal("0.01")):
        raise InvalidInput(_("An amount has at most two decimals."), field=field)
    return value.quantize(Decimal("0.01"))


def round_for(amount: Decimal, currency: str) -> Decimal:
    """Round to the currency's minor unit (JPY and KRW have none)."""
    exponent = Decimal(1).scaleb(-get_currency_precision(currency))
    return amount.quantize(exponent, rounding=ROUND_HALF_UP)


@lru_cache(maxsize=8192)
def _formatted(amount: Decimal, currency: str, locale: str) -> str:
    # Babel's formatting is the slow part of a results page (two to four prices per row); the same
    # amounts recur, and the answer depends on nothing else.
    return format_currency(amount, currency, locale=locale)


@dataclass(frozen=True)
class Money:
    amount: Decimal
    currency: str

    def format(self, language: str | None = None) -> str:
        locale = to_locale(language or get_language() or "en")
        if locale == "zh_Hans":
            locale = "zh_Hans_CN"
        return _formatted(self.amount, self.currency, locale)

    def __str__(self) -> str:
        return self.format()
