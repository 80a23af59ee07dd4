"""Which currency a page shows prices in, and the dated rate it converts with; failures become a message."""

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext as _

from laihua.errors import DomainError, InvalidInput
from laihua.kit.money import normalise_currency
from laihua.kit.webcontext import requested_currency
from laihua.rates import services as rates


@dataclass(frozen=True)
class Display:
    """Prices are shown in CNY, and also in `currency` at `rate` when one was found; `error` says why not."""

    currency: str
    rate: rates.Rate | None
    error: str | None = None

    def context(self) -> dict:
        return {"display": self, "display_currency": self.currency}


def offered_currency(code: str) -> str:
    """An ISO 4217 code among the currencies visitors may choose here, or InvalidInput naming the field."""
    code = normalise_currency(code)
    if code not in settings.LAIHUA_DISPLAY_CURRENCIES:
        message = _("%(currency)s is not one of the currencies offered here.") % {"currency": code}
        raise InvalidInput(message, field="currency")
    return code


def rate_for_display(code: str, on: datetime.date | None = None) -> rates.Rate | None:
    """The rate to show prices in an offered currency (None for CNY); raises when there is none."""
    code = offered_currency(code)
    return None if code == "CNY" else rates.display_rate(code, on)


def display_for(request, on: datetime.date | None = None) -> Display:
    """The visitor's currency and its rate on the day; without a usable rate, CNY only and the reason."""
    try:
        code = requested_currency(request)
        rate = rate_for_display(code, on)
    except DomainError as exc:
        return Display(
            "CNY",
            None,
            _("%(reason)s Prices are shown in Chinese yuan (CNY) only.") % {"reason": exc.message},
        )
    return Display(rate.currency if rate else "CNY", rate)
