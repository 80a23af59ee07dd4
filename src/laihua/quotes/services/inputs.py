"""Reading what a coordinator sends: bilingual texts, dates, quantities, percentages and amounts."""

import datetime
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext as _

from laihua.errors import InvalidInput
from laihua.kit.i18n import language_codes
from laihua.kit.money import parse_amount
from laihua.quotes.services.money import FEN

MAX_QUANTITY = 999
MAX_TEXT = 2000
MAX_REASON = 300


def parse_texts(value, *, field: str, max_length: int = MAX_TEXT) -> dict:
    """Bilingual text {"en": ..., "zh-hans": ...} from a mapping (or one text for every language)."""
    if value is None or value == "":
        return {}
    if isinstance(value, str):
        value = dict.fromkeys(language_codes(), value)
    if not isinstance(value, Mapping):
        raise InvalidInput(_('Give the text by language, e.g. {"en": ..., "zh-hans": ...}.'), field=field)
    texts = {}
    for code, text in value.items():
        if code not in language_codes():
            raise InvalidInput(_("Unknown language “%(code)s”.") % {"code": code}, field=field)
        text = str(text or "").strip()
        if len(text) > max_length:
            raise InvalidInput(_("A text can be at most %(count)d characters.") % {"count": max_length}, field=field)
        if text:
            texts[code] = text
    return texts


def _date(value, *, field: str) -> datetime.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime.date):
        return value
    try:
        return datetime.date.fromisoformat(str(value).strip())
    except ValueError:
        raise InvalidInput(_("Give a date in the form YYYY-MM-DD."), field=field) from None


def parse_valid_until(value, today: datetime.date) -> datetime.date | None:
    day = _date(value, field="valid_until")
    if day is not None and day <= today:
        raise InvalidInput(_("A quote must stay valid until a day after today."), field="valid_until")
    return day


def parse_quantity(value) -> int:
    try:
        quantity = int(str(value).strip())
    except (TypeError, ValueError):
        raise InvalidInput(_("The quantity is a whole number."), field="quantity") from None
    if not 1 <= quantity <= MAX_QUANTITY:
        raise InvalidInput(_("The quantity is between 1 and %(max)d.") % {"max": MAX_QUANTITY}, field="quantity")
    return quantity


def parse_percent(value) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        percent = Decimal(str(value).strip())
    except InvalidOperation:
        raise InvalidInput(_("“%(value)s” is not a percentage.") % {"value": value}, field="discount_percent") from None
    if not percent.is_finite() or not Decimal(0) <= percent <= 100 or percent != percent.quantize(FEN):
        raise InvalidInput(
            _("A discount is a percentage from 0 to 100, with at most two decimals."), field="discount_percent"
        )
    return percent or None


def parse_optional_amount(value, *, field: str) -> Decimal | None:
    return None if value in (None, "") else parse_amount(value, field=field)
