import datetime

from django import template

from laihua.accounts.models import Role
from laihua.accounts.permissions import STAFF_ROLES
from laihua.catalog.models import Kind
from laihua.insurance import services
from laihua.kit import clock

register = template.Library()


@register.inclusion_tag("insurance/_case_panel.html", takes_context=True)
def insurance_panel(context, case):
    """The insurance section of the case page: coverage, its check against the contract, GOP requests
    with status and deadline, and (for the hospital's desk) the forms to record and send."""
    request = context["request"]
    user = request.user
    if not user.is_authenticated or not services.may_see_case(user, case):
        return {"hidden": True}
    coverage = services.coverage_of(case)
    gops = services.guarantees_of_case(user, case)
    desk = services.may_send(user, case)
    open_gop = next((gop for gop in gops if gop.status in ("draft", "submitted", "pended")), None)
    granted = services.approved_guarantee(case)
    is_agent = user.role == Role.INSURER_AGENT
    return {
        "case": case,
        "request": request,
        "coverage": coverage,
        "problems": services.coverage_problems(coverage) if coverage else [],
        "gops": gops,
        "open_gop": open_gop,
        "granted": granted,
        "now": clock.now(),
        "desk": desk,
        "staff": user.role in STAFF_ROLES,
        "insurers": list(services.visible_insurers(user)) if desk else [],
        "accepted": services.accepted_quote(case) if desk else None,
        "preview": services.gop_lines_preview(case) if desk else [],
        "planned": services.planned_dates(case) if desk else (None, None),
        "kinds": dict(Kind.choices),
        "is_agent": is_agent,
        "is_patient": user.role == Role.PATIENT,
        "consent": services.consent_state(case) if coverage and not is_agent else None,
        "csrf_token": context.get("csrf_token"),
    }


@register.inclusion_tag("insurance/_consent_panel.html", takes_context=True)
def insurer_consent(context, case):
    """On the records page: the consent to send health data to the case's insurer. The patient sees exactly what
    would be sent to whom and gives or withdraws it; the staff see where it stands (the desk can ask for it)."""
    request = context["request"]
    user = request.user
    if not user.is_authenticated or user.role == Role.INSURER_AGENT or not services.may_see_case(user, case):
        return {"hidden": True}
    state = services.consent_state(case)
    if state.insurer is None:
        return {"hidden": True}
    quote = services.accepted_quote(case)
    return {
        "case": case,
        "request": request,
        "state": state,
        "insurer": state.insurer,
        "quote": quote,
        "quote_lines": list(quote.lines.order_by("position", "pk")) if quote else [],
        "is_patient": user.role == Role.PATIENT,
        "desk": services.may_send(user, case),
        "default_until": clock.today() + datetime.timedelta(days=365),
        "today": clock.today(),
        "csrf_token": context.get("csrf_token"),
    }


@register.filter
def gop_dates_changed(gop):
    """The trip's booked dates when the GOP request names others (to send again), else None."""
    return services.gop_dates_changed(gop)


@register.filter
def gop_overdue(gop) -> bool:
    return services.is_overdue(gop)


@register.filter
def kind_labels(kinds) -> str:
    """Catalog kinds ("procedure", "inpatient_day") as the page's language names them, comma-separated."""
    from django.utils.translation import gettext as _

    from laihua.catalog.models import Kind

    return _(", ").join(str(Kind(k).label) if k in Kind.values else k for k in kinds or [])
