from django import template
from django.utils.translation import gettext as _

from laihua.errors import DomainError
from laihua.travel import services

register = template.Library()


@register.inclusion_tag("travel/_case_panel.html", takes_context=True)
def travel_panel(context, case):
    """The travel section of the case page, for the signed-in user (context["request"].user):
    the entry routes for the patient's nationality and dates, and the invitation letters."""
    user = context["request"].user
    try:
        guidance = services.case_guidance(user, case)
    except DomainError:
        guidance = None
    can_issue = services.may_issue(user, case)
    return {
        "case": case,
        "request": context["request"],
        "csrf_token": context.get("csrf_token"),
        "guidance": guidance,
        "letters": list(services.letters_for_case(user, case)) if services.may_read_letters(user, case) else [],
        "is_patient": user.is_authenticated and user.role == "patient",
        "can_issue": can_issue,
        "letter_open": case.state in services.LETTER_STATES,
        "signatory_ready": services.letter_settings(case.hospital).has_signatory if can_issue else True,
        "is_hospital_admin": user.is_authenticated and user.role == "hospital_admin",
    }


@register.inclusion_tag("travel/_stay_panel.html", takes_context=True)
def stay_panel(context, case):
    """The patient's days in China on the case page: flights, pickup, accommodation, companions and the
    permitted stay; the hospital's desk edits them in place (htmx)."""
    from laihua.travel.panels import stay_context

    request = context["request"]
    if case.state not in services.LETTER_STATES:  # the stay is recorded once a quote is accepted
        return {"hidden": True}
    try:
        found = stay_context(request, case)
    except DomainError:
        return {"hidden": True}
    found["csrf_token"] = context.get("csrf_token")
    return found


@register.simple_tag
def stay_extension_text(permitted) -> str:
    """How to stay longer on the permitted stay's route, in the active language."""
    from laihua.travel.services.limits import extension_text

    return extension_text(permitted)


@register.simple_tag
def airport_name(code: str) -> str:
    """The airport's name ("Shanghai Pudong International Airport"); empty when the code is unknown."""
    from laihua.travel import airports

    found = airports.airport(code)
    return found["name"] if found else ""


@register.filter
def distance(metres) -> str:
    """A distance as the active language writes it: "350 m", "1.2 km"."""
    from django.utils import formats

    if metres is None or metres == "":
        return ""
    metres = int(metres)
    if metres < 1000:
        return _("%(metres)s m") % {"metres": metres}
    return _("%(km)s km") % {"km": formats.number_format(metres / 1000, decimal_pos=1, use_l10n=True)}


@register.simple_tag(takes_context=True)
def stay_warnings(context) -> dict:
    """The case board's warnings: cases whose patient's permitted stay ends within a week, by case id."""
    from laihua.travel.services import open_warnings

    user = context["request"].user
    try:
        return open_warnings(user)
    except DomainError:
        return {}


@register.filter
def stay_end(warnings: dict, case_id):
    warning = warnings.get(case_id)
    return warning.ends_on if warning else None
