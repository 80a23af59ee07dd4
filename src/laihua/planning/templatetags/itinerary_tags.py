"""The itinerary as the patient reads it, for the trip page and the PDF (planning.services.documents)."""

from django import template

from laihua.planning.services.documents import both_languages, schedule
from laihua.planning.services.reasons import day_words

register = template.Library()


@register.simple_tag
def itinerary_schedule(itinerary):
    """The trip day by day: visits, days in hospital, flights, the pickup, the accommodation."""
    return schedule(itinerary)


@register.filter
def with_chinese(texts, language: str = "") -> str:
    """A name or address in the active (or given) language, then in Chinese when that differs."""
    from django.utils.translation import get_language

    return both_languages(texts, language or get_language() or "en")


@register.filter
def join_dates(days) -> str:
    """Days in the active language's date format, joined ("6 January 2027, 8 January 2027")."""
    from django.utils.translation import gettext as _

    return _(", ").join(day_words(day) for day in days)


@register.filter(name="day_words")
def day_words_filter(day) -> str:
    """The day as the reader's locale writes it: "6 January 2027" in English, "2027年1月6日" in Chinese
    (never "Jan. 6, 2027" or 01/06/2027)."""
    return day_words(day) if day else ""
