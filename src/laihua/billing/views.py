"""Pages: finance's invoice list and receivables, the invoice page (confirm what was delivered, add extras,
issue, payments, write-offs, claims) and the patient's downloads. Each calls billing.services; a refusal
of access escapes as a DomainError (kit.weberrors renders it), a refused action comes back as a message."""

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from laihua.billing import services
from laihua.billing.models import (
    Disposition,
    InvoiceStatus,
    OfficialReceiptKind,
    PaymentKind,
    PaymentMethod,
    WriteOffStatus,
)
from laihua.billing.pdf import invoice_pdf, receipt_pdf
from laihua.cases.services import get_case
from laihua.cases.states import State
from laihua.errors import DomainError, InvalidInput


def _attempt(request, action: Callable, success: str):
    """Run one service call; show its refusal as a message (nothing was written) or the success."""
    try:
        result = action()
    except DomainError as exc:
        field = f"{exc.field}: " if exc.field else ""
        messages.error(request, f"{field}{exc.message}")
        return None
    messages.success(request, success)
    return result


def _back(invoice_id) -> HttpResponse:
    return redirect("billing:invoice", invoice_id)


@login_required
def invoice_list(request):
    """Finance's list: the hospital's invoices by status, and the cases waiting for one."""
    status = request.GET.get("status", "")
    invoices = services.list_invoices(request.user, status=status or None).select_related("case__patient")[:200]
    ready = services.cases_to_bill(request.user)
    rows = [(services.with_replacement(invoice), services.balances_of(invoice)) for invoice in invoices]
    return render(
        request,
        "billing/list.html",
        {"rows": rows, "ready": ready, "statuses": InvoiceStatus.choices, "status": status},
    )


@login_required
@require_POST
def start(request, reference: str):
    case = get_case(request.user, reference, audit=None)
    invoice = _attempt(
        request, lambda: services.start_invoice(request.user, case), _("A draft statement of charges is ready.")
    )
    return _back(invoice.pk) if invoice else redirect("billing:list")


@login_required
def invoice_detail(request, invoice_id: int):
    invoice = services.get_invoice(request.user, invoice_id)
    user = request.user
    claims = (
        list(invoice.claims.select_related("response").order_by("-submitted_at"))
        if services.may_draft(user, invoice)
        else []
    )
    owed = services.balances_of(invoice)
    payment_form = _payment_form(request, invoice) if _takes_payments(user, invoice) else ""
    payments = list(services.payments_shown(user, invoice))
    split = services.split_for_display(invoice)
    lines = split.lines if split is not None else list(invoice.lines.all())
    context = {
        "invoice": invoice,
        "written_off": owed.patient_written_off + owed.insurer_written_off,
        "lines": lines,
        "rows": [{"line": line, "reasons": split.reasons_of(line) if split else []} for line in lines],
        "split": split,
        "show_split": bool(invoice.insurer_name or (split and (split.cover or split.guarantee))),
        "replacement": services.replacement_of(invoice),
        "receipt_kinds": OfficialReceiptKind.choices,
        "owed": owed,
        "payments": payments,
        "may_receipt": services.may_read_receipt(user),
        "pinned": services.pinned_amounts(invoice, owed),
        "at_pinned_rate": any(payment.pinned_rate for payment in payments),
        "payment_form": payment_form,
        "form_payment": services.form_payment(user, invoice, payment_form) if payment_form else None,
        "write_offs": list(invoice.write_offs.select_related("requested_by", "decided_by")),
        "claims": claims,
        "may_draft": services.may_draft(user, invoice),
        "may_cash": services.may_cash(user, invoice),
        "kinds": PaymentKind.choices,
        "methods": PaymentMethod.choices,
        "dispositions": Disposition.choices,
        "converted_total": services.converted(invoice, invoice.total_cny),
        "proposed": WriteOffStatus.PROPOSED,
        "may_claim": services.may_cash(user, invoice)
        and invoice.insurer_id is not None
        and invoice.status in (InvoiceStatus.ISSUED, InvoiceStatus.BALANCED)
        and not any(claim.status == "active" for claim in claims),
        "extras": services.extra_choices(invoice) if invoice.is_draft and services.may_draft(user, invoice) else [],
    }
    return render(request, "billing/detail.html", context)


@login_required
@require_POST
def confirm(request, invoice_id: int, line_id: int):
    invoice = services.get_invoice(request.user, invoice_id, audit=None)
    quantity = request.POST.get("quantity", "")
    _attempt(request, lambda: services.confirm_line(request.user, invoice, line_id, quantity), _("Delivery confirmed."))
    return _back(invoice_id)


@login_required
@require_POST
def add_extra(request, invoice_id: int):
    invoice = services.get_invoice(request.user, invoice_id, audit=None)
    post = request.POST
    data = {
        name: post.get(name, "")
        for name in ("item", "quantity", "unit_price", "service_date", "reason", "code", "kind")
    }
    if not data["item"]:
        data["description"] = {"en": post.get("description_en", ""), "zh-hans": post.get("description_zh", "")}
    _attempt(request, lambda: services.add_extra(request.user, invoice, data), _("The line is added."))
    return _back(invoice_id)


@login_required
@require_POST
def remove_extra(request, invoice_id: int, line_id: int):
    invoice = services.get_invoice(request.user, invoice_id, audit=None)
    _attempt(request, lambda: services.remove_extra(request.user, invoice, line_id), _("The line is removed."))
    return _back(invoice_id)


@login_required
@require_POST
def issue(request, invoice_id: int):
    invoice = services.get_invoice(request.user, invoice_id, audit=None)
    confirm = request.POST.get("confirm_shortfall") in ("1", "on", "true")
    seen = request.POST.get("insurer_cny") or None
    _attempt(
        request,
        lambda: services.issue_invoice(request.user, invoice, confirm_shortfall=confirm, seen_insurer_cny=seen),
        _("The statement of charges is issued."),
    )
    return _back(invoice_id)


@login_required
@require_POST
def official_receipt(request, invoice_id: int):
    invoice = services.get_invoice(request.user, invoice_id, audit=None)
    data = {name: request.POST.get(name, "") for name in ("kind", "number", "date")}
    _attempt(
        request,
        lambda: services.record_official_receipt(request.user, invoice, data),
        _("The hospital's official receipt is recorded."),
    )
    return _back(invoice_id)


@login_required
@require_POST
def cancel(request, invoice_id: int):
    invoice = services.get_invoice(request.user, invoice_id, audit=None)
    reason = request.POST.get("reason", "")
    replacement = _attempt(
        request,
        lambda: services.cancel_invoice(request.user, invoice, reason),
        _("The statement is cancelled; correct its replacement and issue it."),
    )
    return _back(replacement.pk if replacement else invoice_id)


# --- payments: one form, one payment ---------------------------------------------------------------

PAYMENT_FORMS = "billing.payment_forms"  # the session's current payment form per invoice
MAX_PAYMENT_FORMS = 50
PAYMENT_FIELDS = ("kind", "method", "reference", "amount", "currency", "received_on")


def _takes_payments(user, invoice) -> bool:
    return services.may_cash(user, invoice) and invoice.status not in (
        InvoiceStatus.CANCELLED,
        InvoiceStatus.ENTERED_IN_ERROR,
    )


def _payment_form(request, invoice, *, new: bool = False) -> str:
    """The invoice page's payment form for this session: the same form (and key) on every load of the page, Back
    included, until the user asks for a new one; so a form sent twice records one payment."""
    forms = dict(request.session.get(PAYMENT_FORMS, {}))
    key = str(invoice.pk)
    if new or key not in forms:
        forms.pop(key, None)
        forms[key] = services.new_payment_form(request.user, invoice)
        while len(forms) > MAX_PAYMENT_FORMS:
            forms.pop(next(iter(forms)))
        request.session[PAYMENT_FORMS] = forms
    return forms[key]


@login_required
@require_POST
def new_payment_form(request, invoice_id: int):
    """Open a new payment form on the invoice page (the last one recorded its payment)."""
    invoice = services.get_invoice(request.user, invoice_id, audit=None)
    try:
        _payment_form(request, invoice, new=True)
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect(f"{reverse('billing:invoice', args=[invoice_id])}#payments")


@login_required
@require_POST
def record_payment(request, invoice_id: int):
    """Record the payment of the invoice page's form: the same form sent again shows the payment it recorded; a
    likely duplicate of another payment asks for confirmation first."""
    invoice = services.get_invoice(request.user, invoice_id, audit=None)
    post = request.POST
    data = {name: post.get(name, "") for name in PAYMENT_FIELDS}
    data["confirm_duplicate"] = post.get("confirm_duplicate", "")
    form = post.get("form", "")
    try:
        payment, created = services.record_form_payment(request.user, invoice, data, form=form)
    except services.PossibleDuplicate as exc:
        context = {"invoice": invoice, "earlier": exc.payment, "data": data, "form": form, "message": exc.message}
        return render(request, "billing/payment_confirm.html", context)
    except DomainError as exc:
        messages.error(request, f"{exc.field}: {exc.message}" if exc.field else exc.message)
        return _back(invoice_id)
    if not created:
        messages.info(
            request, _("This payment was already recorded: %(payment)s.") % {"payment": services.describe(payment)}
        )
    elif payment.pinned_rate:
        messages.success(
            request,
            _(
                "The payment is recorded. At the invoice's pinned rate it settles %(settled)s CNY; "
                "the exchange difference is %(difference)s CNY."
            )
            % {"settled": f"{payment.settled_cny:,.2f}", "difference": f"{payment.exchange_difference_cny:+,.2f}"},
        )
    else:
        messages.success(request, _("The payment is recorded."))
    return _back(invoice_id)


@login_required
@require_POST
def propose_write_off(request, invoice_id: int):
    invoice = services.get_invoice(request.user, invoice_id, audit=None)
    data = {name: request.POST.get(name, "") for name in ("part", "amount", "reason")}
    _attempt(
        request,
        lambda: services.propose_write_off(request.user, invoice, data),
        _("The write-off waits for approval by somebody else in finance."),
    )
    return _back(invoice_id)


@login_required
@require_POST
def decide_write_off(request, invoice_id: int, write_off_id: int):
    invoice = services.get_invoice(request.user, invoice_id, audit=None)
    approve = request.POST.get("decision") == "approve"
    _attempt(
        request,
        lambda: services.decide_write_off(request.user, invoice, write_off_id, approve=approve),
        _("The write-off is approved.") if approve else _("The write-off is rejected."),
    )
    return _back(invoice_id)


@login_required
@require_POST
def submit_claim(request, invoice_id: int):
    invoice = services.get_invoice(request.user, invoice_id, audit=None)
    _attempt(request, lambda: services.submit_claim(request.user, invoice), _("The claim is sent to the insurer."))
    return _back(invoice_id)


@login_required
@require_POST
def claim_response(request, claim_id: int):
    claim = services.get_claim(request.user, claim_id, audit=None)
    post = request.POST
    lines = []
    for line in claim.invoice.lines.filter(insurer_cny__gt=0):
        prefix = f"line-{line.position}-"
        lines.append(
            {
                "sequence": line.position,
                "paid": post.get(prefix + "paid", ""),
                "rejected": post.get(prefix + "rejected", ""),
                "disposition": post.get(prefix + "disposition", ""),
                "reason": post.get(prefix + "reason", ""),
            }
        )
    _attempt(
        request,
        lambda: services.enter_claim_response(request.user, claim, lines, note=post.get("note", "")),
        _("The insurer's answer is recorded."),
    )
    return _back(claim.invoice_id)


@login_required
@require_POST
def shortfall(request, claim_id: int):
    claim = services.get_claim(request.user, claim_id, audit=None)
    disposition, reason = request.POST.get("disposition", ""), request.POST.get("reason", "")
    _attempt(
        request,
        lambda: services.settle_shortfall(request.user, claim, disposition, reason=reason),
        _("Decided what the insurer did not pay."),
    )
    return _back(claim.invoice_id)


@login_required
def download_pdf(request, invoice_id: int):
    invoice = services.get_invoice(request.user, invoice_id, audit="invoice.pdf")
    return _pdf(invoice_pdf(invoice), f"{invoice.number or 'draft'}-statement.pdf")


@login_required
def download_receipt(request, invoice_id: int):
    invoice = services.get_receipt_invoice(request.user, invoice_id)
    return _pdf(receipt_pdf(invoice), f"{invoice.number or 'draft'}-receipt.pdf")


def _pdf(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
def receivables(request):
    result = services.receivables(request.user)
    return render(request, "billing/receivables.html", {"result": result})


@login_required
def receivables_csv(request):
    response = HttpResponse(services.receivables_csv(request.user), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="receivables.csv"'
    return response


@login_required
def exchange_differences(request):
    """Finance's monthly exchange gains and losses (?month=YYYY-MM)."""
    month = request.GET.get("month", "")
    try:
        report = services.exchange_differences(request.user, month)
    except InvalidInput as exc:
        messages.error(request, f"{exc.field}: {exc.message}")
        report = services.exchange_differences(request.user)
    return render(request, "billing/exchange.html", {"report": report})


@login_required
def exchange_differences_csv(request):
    month = request.GET.get("month", "")
    content = services.exchange_differences_csv(request.user, month)
    response = HttpResponse(content, content_type="text/csv; charset=utf-8")
    label = services.exchange_month(month).strftime("%Y-%m")
    response["Content-Disposition"] = f'attachment; filename="exchange-differences-{label}.csv"'
    return response


@login_required
def my_invoices(request):
    """The patient's invoices over all their cases, with the downloads."""
    invoices = services.list_invoices(request.user)
    rows = [(services.with_replacement(invoice), services.balances_of(invoice)) for invoice in invoices]
    return render(request, "billing/mine.html", {"rows": rows, "closed": State.CLOSED})
