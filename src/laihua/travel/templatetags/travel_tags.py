from django import template

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
