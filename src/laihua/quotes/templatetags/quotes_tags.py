from decimal import Decimal

from django import template
from django.utils.translation import get_language

from laihua.cases.states import State
from laihua.kit.i18n import pick
from laihua.quotes import services
from laihua.quotes.models import Status

register = template.Library()


@register.inclusion_tag("quotes/_case_panel.html", takes_context=True)
def quotes_panel(context, case):
    """The quotes section of the case page, for the signed-in user (context["request"].user)."""
    request = context["request"]
    user = request.user
    quotes = services.quotes_of_case(user, case) if user.is_authenticated else []
    draft = next((quote for quote in quotes if quote.status == Status.DRAFT), None)
    builder = services.may_build(user, case)
    return {
        "case": case,
        "request": request,
        "quotes": quotes,
        "draft": draft,
        "may_build": builder,
        "may_start": builder and draft is None and case.state in services.QUOTABLE_STATES,
        "revising": any(quote.status != Status.DRAFT for quote in quotes),
        "in_triage": case.state == State.TRIAGE,
        "csrf_token": context.get("csrf_token"),
    }


@register.filter
def other_language(texts) -> str:
    """Bilingual data in the other language than the page's (Chinese on an English page, English on a
    Chinese one), when it says something different; for showing both names of a line."""
    if not isinstance(texts, dict):
        return ""
    language = (get_language() or "en").lower()
    other = "en" if language.startswith("zh") else "zh-hans"
    text = texts.get(other, "")
    return text if text and text != pick(texts, language) else ""


@register.filter
def rate_value(value) -> str:
    """A rate as stored (up to 8 decimals), without trailing zeros beyond the fourth: 7.12345678, 7.8000."""
    if value is None:
        return ""
    number = Decimal(value).normalize()
    if number.as_tuple().exponent > -4:
        number = number.quantize(Decimal("0.0001"))
    return f"{number:f}"
