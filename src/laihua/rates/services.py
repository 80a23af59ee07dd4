"""Currency conversion at a dated rate: ECB reference rates shipped offline, plus the admin's own table."""

import contextlib
import csv
import datetime
import functools
import io
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from laihua.accounts.models import Role
from laihua.audit.services import record_event
from laihua.errors import InvalidInput, RateUnavailable
from laihua.kit import clock
from laihua.kit.money import normalise_currency, round_for
from laihua.rates.models import ExchangeRate

ECB_SOURCE = "ECB euro foreign exchange reference rates"


@dataclass(frozen=True)
class Rate:
    currency: str
    cny_per_unit: Decimal
    rate_date: datetime.date
    source: str


@dataclass(frozen=True)
class Conversion:
    amount: Decimal
    currency: str
    rate: Rate


def max_age_days() -> int:
    return getattr(settings, "LAIHUA_RATE_MAX_AGE_DAYS", 45)


@functools.cache
def _ecb():
    from currency_converter import CurrencyConverter

    return CurrencyConverter(fallback_on_missing_rate=False, fallback_on_wrong_date=False)


@functools.lru_cache(maxsize=4096)
def ecb_rate(currency: str, on: datetime.date) -> Rate | None:
    """The latest ECB cross rate to CNY published on or before the date, or None."""
    from currency_converter import RateNotFoundError

    converter = _ecb()
    if currency not in converter.currencies:
        return None
    last = min(converter.bounds[currency].last_date, converter.bounds["CNY"].last_date)
    first = max(converter.bounds[currency].first_date, converter.bounds["CNY"].first_date)
    day = min(on, last)
    for _step in range(10):
        if day < first:
            return None  # before the ECB's series of this currency began
        try:
            value = converter.convert(1, currency, "CNY", date=day)
        except RateNotFoundError:
            day -= datetime.timedelta(days=1)
            continue
        return Rate(currency, Decimal(str(value)).quantize(Decimal("0.00000001")), day, ECB_SOURCE)
    return None


def table_rate(currency: str, on: datetime.date) -> Rate | None:
    row = ExchangeRate.objects.filter(currency=currency, rate_date__lte=on).order_by("-rate_date").first()
    if row is None:
        return None
    return Rate(currency, row.cny_per_unit, row.rate_date, row.source or _("Platform rate table"))


def rate_for(currency: str, on: datetime.date | None = None) -> Rate:
    """The newest rate on or before the date from either source; refuse a missing or stale one."""
    currency = normalise_currency(currency)
    on = on or clock.today()
    if currency == "CNY":
        return Rate("CNY", Decimal(1), on, _("Chinese yuan, no conversion"))
    candidates = [r for r in (table_rate(currency, on), ecb_rate(currency, on)) if r is not None]
    if not candidates:
        raise RateUnavailable(
            _("No exchange rate is known for %(currency)s. Ask the platform administrator to add one.")
            % {"currency": currency},
            field="currency",
        )
    best = max(candidates, key=lambda r: r.rate_date)  # the table wins a tie: it comes first
    if (on - best.rate_date).days > max_age_days():
        raise RateUnavailable(
            _("The newest %(currency)s rate is from %(date)s, too old to quote with.")
            % {"currency": currency, "date": best.rate_date.isoformat()},
            field="currency",
        )
    return best


# Showing prices (the public pages and the search API) asks for the same rate on every request; it is
# kept in the cache this long. A saved rate shows at once (forget_display_rates, by signal, again when its
# transaction commits): in every process when the cache is shared (LAIHUA_CACHE_URL), else in the process
# that saved it, the others within this time. Quotes, invoices and payments always look it up (rate_for).
DISPLAY_RATE_SECONDS = 60
_DISPLAY_VERSION = "rates:display:version"


def display_rate(currency: str, on: datetime.date | None = None) -> Rate:
    """rate_for(currency, on), kept for DISPLAY_RATE_SECONDS to show prices; a refusal is never kept."""
    from django.core.cache import cache
    from django.utils.translation import get_language

    currency = normalise_currency(currency)
    on = on or clock.today()
    version = cache.get_or_set(_DISPLAY_VERSION, 0, None)
    key = f"rates:display:{version}:{currency}:{on.isoformat()}:{get_language()}"  # the source is translated
    rate = cache.get(key)
    if rate is None:
        rate = rate_for(currency, on)
        cache.set(key, rate, DISPLAY_RATE_SECONDS)
    return rate


def _new_display_version() -> None:
    from django.core.cache import cache

    with contextlib.suppress(ValueError):  # not set yet: nothing is kept
        cache.incr(_DISPLAY_VERSION)


def forget_display_rates(**_kwargs) -> None:
    """Rates changed: they are looked up again (a signal receiver of ExchangeRate). Now, for this transaction's
    own reads, and once it commits, for a server that read (and kept) the old rate in between."""
    _new_display_version()
    transaction.on_commit(_new_display_version)


def convert_from_cny(amount: Decimal, rate: Rate) -> Decimal:
    return round_for(amount / rate.cny_per_unit, rate.currency)


def convert_to_cny(amount: Decimal, rate: Rate) -> Decimal:
    return round_for(amount * rate.cny_per_unit, "CNY")


def convert(amount_cny: Decimal, currency: str, on: datetime.date | None = None) -> Conversion:
    rate = rate_for(currency, on)
    return Conversion(convert_from_cny(amount_cny, rate), rate.currency, rate)


RATE_COLUMNS = ("currency", "date", "cny_per_unit", "source")


def _parse_rate_row(line: int, row: dict) -> ExchangeRate:
    def fail(column, message):
        raise InvalidInput(
            _("Row %(row)s, column %(column)s: %(message)s") % {"row": line, "column": column, "message": message},
            field=column,
        )

    try:
        currency = normalise_currency(row.get("currency"))
    except InvalidInput as exc:
        fail("currency", exc.message)
    if currency == "CNY":
        fail("currency", _("CNY is the base currency."))
    try:
        day = datetime.date.fromisoformat((row.get("date") or "").strip())
    except ValueError:
        fail("date", _("use the form YYYY-MM-DD."))
    try:
        value = Decimal((row.get("cny_per_unit") or "").strip())
    except InvalidOperation:
        value = Decimal(0)
    if not value.is_finite() or value <= 0:
        fail("cny_per_unit", _("a rate must be a number above zero."))
    return ExchangeRate(currency=currency, rate_date=day, cny_per_unit=value, source=(row.get("source") or "").strip())


def import_rates(actor, text: str) -> int:
    """Load rates from CSV (currency,date,cny_per_unit,source); any bad row rejects the whole file."""
    if actor is not None and getattr(actor, "role", None) != Role.PLATFORM_ADMIN:
        from laihua.errors import PermissionDenied

        raise PermissionDenied()
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = [c for c in RATE_COLUMNS[:3] if c not in (reader.fieldnames or [])]
    if missing:
        raise InvalidInput(_("Missing columns: %(columns)s") % {"columns": ", ".join(missing)}, field=missing[0])
    rows = [_parse_rate_row(number, row) for number, row in enumerate(reader, start=2)]
    with transaction.atomic():
        for rate in rows:
            ExchangeRate.objects.update_or_create(
                currency=rate.currency,
                rate_date=rate.rate_date,
                defaults={"cny_per_unit": rate.cny_per_unit, "source": rate.source},
            )
        record_event(actor, "rates.import", None, detail={"rows": len(rows)})
    return len(rows)
