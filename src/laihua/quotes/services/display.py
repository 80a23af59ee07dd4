"""What the pages show: the amounts in the patient's currency, the services the patient asked about,
the catalog choices of the builder, and the quote's language."""

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings

from laihua.cases.services import require_case_staff
from laihua.catalog.models import CatalogItem
from laihua.catalog.services import with_price_on
from laihua.errors import RateUnavailable
from laihua.kit import clock
from laihua.kit.i18n import pick
from laihua.quotes.models import Quote, QuoteLine
from laihua.quotes.services.access import BUILDERS
from laihua.quotes.services.money import converted
from laihua.rates import services as rates


@dataclass
class Figures:
    """The quote's amounts in the patient's currency, with the rate: frozen once sent, today's on a draft."""

    rate: rates.Rate | None
    total: Decimal | None
    deposit: Decimal | None
    balance_cny: Decimal
    balance: Decimal | None
    frozen: bool
    rate_error: str = ""
    excluded: list[dict] = field(default_factory=list)


def frozen_rate(quote: Quote) -> rates.Rate | None:
    if quote.rate_cny_per_unit is None:
        return None
    return rates.Rate(quote.currency, quote.rate_cny_per_unit, quote.rate_date, quote.rate_source)


def figures(quote: Quote, lines: Iterable[QuoteLine] | None = None) -> Figures:
    """The converted amounts and the list of what is not included (the quote's own text, then each line's)."""
    rate, error = frozen_rate(quote), ""
    frozen = rate is not None
    if rate is None:
        try:
            rate = rates.rate_for(quote.currency)
        except RateUnavailable as exc:
            error = str(exc.message)
    balance_cny = quote.total_cny - quote.deposit_cny
    excluded = [quote.exclusions] if quote.exclusions else []
    for line in lines if lines is not None else quote.lines.all():
        if line.excluded and line.excluded not in excluded:
            excluded.append(line.excluded)
    if rate is None:
        return Figures(None, None, None, balance_cny, None, False, error, excluded)
    total = quote.total_converted if frozen else converted(quote.total_cny, rate)
    deposit = quote.deposit_converted if frozen else converted(quote.deposit_cny, rate)
    return Figures(rate, total, deposit, balance_cny, converted(balance_cny, rate), frozen, "", excluded)


def requested_services(quote: Quote) -> list[CatalogItem]:
    """The services the patient asked about in the case, with the price in force today."""
    items = quote.case.services.filter(active=True, hospital_id=quote.case.hospital_id)
    return list(with_price_on(items, clock.today()).filter(price_min__isnull=False).order_by("code"))


def catalog_choices(actor, quote: Quote, q: str, *, limit: int = 20) -> list[CatalogItem]:
    """The hospital's offered services and packages matching every word (any language), for the builder."""
    require_case_staff(actor, quote.case, BUILDERS)
    items = CatalogItem.objects.filter(hospital_id=quote.case.hospital_id, active=True)
    for term in (q or "").lower().split()[:5]:
        items = items.filter(search_text__contains=term)
    items = with_price_on(items, clock.today()).filter(price_min__isnull=False)
    return list(items.order_by("kind", "code")[:limit])


def quote_language(quote: Quote) -> str:
    return quote.language if quote.language in dict(settings.LANGUAGES) else "en"


def describe(texts: dict, language: str) -> str:
    return pick(texts, language)
