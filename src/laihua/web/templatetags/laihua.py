"""Template filters for bilingual data, money, rates, countries and languages, in the active locale."""

import datetime
from decimal import Decimal

from babel import Locale, UnknownLocaleError
from django import template
from django.utils import formats
from django.utils.translation import get_language, to_locale
from django.utils.translation import gettext as _

from laihua.kit.i18n import pick
from laihua.kit.money import Money
from laihua.rates import services as rates

register = template.Library()


def _locale() -> Locale:
    name = to_locale(get_language() or "en")
    try:
        return Locale.parse("zh_Hans_CN" if name == "zh_Hans" else name)
    except (UnknownLocaleError, ValueError):
        return Locale.parse("en")


@register.filter
def tr(texts) -> str:
    """Bilingual data ({"en": ..., "zh-hans": ...}) in the active language, falling back to English."""
    return pick(texts) if isinstance(texts, dict) else (texts or "")


@register.filter
def pairs(mapping) -> list:
    """A dict's (key, value) pairs; unlike `.items` in a template, a key named "items" cannot shadow it."""
    return list(mapping.items()) if isinstance(mapping, dict) else []


@register.filter
def money(amount, currency: str = "CNY") -> str:
    """An amount with its currency, e.g. CN¥486.00 or US$68.35, written as the active locale writes it."""
    if amount is None or amount == "":
        return ""
    return Money(Decimal(amount), currency).format()


@register.filter
def convert(amount_cny, rate: rates.Rate | None):
    """A CNY amount in the rate's currency (rounded to its minor unit); None without a rate."""
    if amount_cny is None or rate is None:
        return None
    return rates.convert_from_cny(Decimal(amount_cny), rate)


@register.simple_tag
def price_range(low, high, currency: str = "CNY") -> str:
    """One price, or a range "from – to" when the two differ."""
    if low is None:
        return ""
    if high is None or Decimal(high) == Decimal(low):
        return money(low, currency)
    return _("%(low)s – %(high)s") % {"low": money(low, currency), "high": money(high, currency)}


@register.simple_tag
def converted_range(low, high, rate: rates.Rate | None) -> str:
    """A CNY price or range shown in the rate's currency; empty without a rate."""
    if rate is None or low is None:
        return ""
    return price_range(convert(low, rate), convert(high if high is not None else low, rate), rate.currency)


@register.filter
def rate_source(rate: rates.Rate) -> str:
    return _("European Central Bank reference rate") if rate.source == rates.ECB_SOURCE else rate.source


@register.filter
def local_date(day: datetime.date | str | None) -> str:
    """The day in the active language's date format (an ISO text, as JSON fields keep dates, too)."""
    if isinstance(day, str):
        try:
            day = datetime.date.fromisoformat(day)
        except ValueError:
            return day
    return formats.date_format(day, "DATE_FORMAT") if day else ""


@register.simple_tag
def rate_line(rate: rates.Rate | None) -> str:
    """ "1 USD = 7.1234 CNY, European Central Bank reference rate, 30 Oct 2026"."""
    if rate is None:
        return ""
    return _("1 %(currency)s = %(value)s CNY, %(source)s, %(date)s") % {
        "currency": rate.currency,
        "value": formats.number_format(rate.cny_per_unit, decimal_pos=4, use_l10n=True),
        "source": rate_source(rate),
        "date": local_date(rate.rate_date),
    }


@register.filter
def country_name(code: str) -> str:
    """An ISO 3166-1 alpha-2 code as the country's name in the active language."""
    return _locale().territories.get((code or "").upper(), code)


@register.filter
def language_name(code: str) -> str:
    """A language code (en, zh, ru) as the language's name in the active language."""
    return _locale().languages.get((code or "").replace("-", "_"), code)


@register.filter
def absolute(value):
    return abs(value) if value is not None else value


@register.filter
def text_in(texts, language: str) -> str:
    """Bilingual data in exactly this language (no fallback), to show both languages side by side."""
    return (texts or {}).get(language, "") if isinstance(texts, dict) else ""
