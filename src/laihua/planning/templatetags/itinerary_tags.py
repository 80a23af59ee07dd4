"""The itinerary as the patient reads it, for the trip page and the PDF (planning.services.documents)."""

from django import template

from laihua.planning.services.documents import both_languages, schedule

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
    from django.utils import formats
    from django.utils.translation import gettext as _

    return _(", ").join(formats.date_format(day, "DATE_FORMAT") for day in days)
