from django import template

from laihua.billing import services
from laihua.billing.models import OPEN_STATUSES
from laihua.kit.money import Money

register = template.Library()


@register.filter
def pinned_due(invoice, owed) -> str:
    """What the patient still owes in the currency the issued invoice is pinned in (paying exactly that settles
    it), formatted; empty for a draft or an invoice in CNY."""
    pinned = services.pinned_amounts(invoice, owed)
    return Money(pinned.patient_due, pinned.currency).format() if pinned else ""


@register.inclusion_tag("billing/_case_panel.html", takes_context=True)
def billing_panel(context, case):
    """The invoices section of the case page: the patient downloads, staff open or draft the invoice."""
    request = context["request"]
    user = request.user
    invoices = services.invoices_of_case(user, case) if user.is_authenticated else []
    staff = services.may_draft(user, case)
    return {
        "case": case,
        "rows": [(services.with_replacement(invoice), services.balances_of(invoice)) for invoice in invoices],
        "staff": staff,
        "may_start": staff
        and case.state in services.BILLABLE_STATES
        and not any(invoice.status in OPEN_STATUSES for invoice in invoices),
        "csrf_token": context.get("csrf_token"),
    }


@register.inclusion_tag("billing/_portal_claims.html", takes_context=True)
def portal_claims(context):
    """The insurer portal's claims after treatment: those billing sent to the agent's insurer."""
    return {"claims": list(services.visible_claims(context["request"].user)[:100])}
