"""Reading what the pages and the API send to insurance: dates and texts, each refused with its field."""

import datetime
from collections.abc import Mapping

from django.utils.translation import gettext as _

from laihua.errors import InvalidInput


def parse_date(value, *, field: str, required: bool = True) -> datetime.date | None:
    if value in (None, ""):
        if required:
            raise InvalidInput(_("Enter a date."), field=field)
        return None
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    try:
        return datetime.date.fromisoformat(str(value).strip())
    except ValueError:
        raise InvalidInput(_("Enter a date as YYYY-MM-DD."), field=field) from None


def text_field(data: Mapping, name: str, *, max_length: int, required: bool = True, message: str = "") -> str:
    value = str(data.get(name) or "").strip()
    if required and not value:
        raise InvalidInput(message or _("This field is required."), field=name)
    if len(value) > max_length:
        raise InvalidInput(_("This text is too long."), field=name)
    return value
