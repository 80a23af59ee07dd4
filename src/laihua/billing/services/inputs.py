"""Reading what finance and the API send: texts, quantities, dates, amounts and choices, each refused with the
field it concerns."""

import datetime
from collections.abc import Mapping
from decimal import Decimal

from django.utils.translation import gettext as _

from laihua.billing.arithmetic import ZERO
from laihua.errors import InvalidInput
from laihua.kit.i18n import language_codes
from laihua.kit.money import parse_amount

MAX_QUANTITY = 999
MAX_REASON = 300
MAX_REFERENCE = 120


def clean_text(value, *, field: str, required: bool = False, max_length: int = MAX_REASON) -> str:
    text = str(value or "").strip()
    if required and not text:
        raise InvalidInput(_("This field is required."), field=field)
    if len(text) > max_length:
        raise InvalidInput(_("At most %(count)d characters.") % {"count": max_length}, field=field)
    return text


def parse_quantity(value, *, minimum: int = 0) -> int:
    try:
        quantity = int(str(value).strip())
    except (TypeError, ValueError):
        raise InvalidInput(_("The quantity is a whole number."), field="quantity") from None
    if not minimum <= quantity <= MAX_QUANTITY:
        raise InvalidInput(
            _("The quantity is between %(min)d and %(max)d.") % {"min": minimum, "max": MAX_QUANTITY},
            field="quantity",
        )
    return quantity


def parse_date(value, *, field: str, default: datetime.date | None = None) -> datetime.date:
    if value in (None, ""):
        if default is None:
            raise InvalidInput(_("Give a date in the form YYYY-MM-DD."), field=field)
        return default
    if isinstance(value, datetime.date):
        return value
    try:
        return datetime.date.fromisoformat(str(value).strip())
    except ValueError:
        raise InvalidInput(_("Give a date in the form YYYY-MM-DD."), field=field) from None


def positive_amount(value, *, field: str) -> Decimal:
    if value in (None, ""):
        raise InvalidInput(_("Give an amount."), field=field)
    amount = parse_amount(value, field=field)
    if amount <= 0:
        raise InvalidInput(_("The amount must be more than zero."), field=field)
    return amount


def amount_or_zero(value, *, field: str) -> Decimal:
    return ZERO if value in (None, "") else parse_amount(value, field=field)


def parse_choice(value, choices, *, field: str) -> str:
    value = str(value or "").strip()
    if value not in choices.values:
        raise InvalidInput(_("Choose one of: %(choices)s.") % {"choices": ", ".join(choices.values)}, field=field)
    return value


def texts_by_language(value, *, field: str) -> dict:
    """A description in every required language (one text stands for all)."""
    if isinstance(value, str):
        value = dict.fromkeys(language_codes(), value)
    if not isinstance(value, Mapping):
        raise InvalidInput(_('Give the text by language, e.g. {"en": ..., "zh-hans": ...}.'), field=field)
    texts = {code: clean_text(text, field=field) for code, text in value.items() if code in language_codes()}
    texts = {code: text for code, text in texts.items() if text}
    if not texts.get("en") or not texts.get("zh-hans"):
        raise InvalidInput(_("Describe the line in English and in Chinese, for the bilingual statement."), field=field)
    return texts
