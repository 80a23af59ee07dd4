"""Billing in JSON (mounted at /api/billing): the same services as the pages. Errors are `{error, detail, field}`."""

from django.http import HttpResponse
from django.urls import reverse
from ninja import Header, Router, Status

from laihua.accounts.auth import AUTH
from laihua.billing import fhir, services
from laihua.billing.models import Invoice, InvoiceStatus
from laihua.billing.pdf import invoice_pdf, receipt_pdf
from laihua.billing.schemas import (
    ClaimOut,
    ClaimResponseIn,
    ConfirmIn,
    DuplicateOut,
    ExchangeReportOut,
    ExtraIn,
    InvoiceIn,
    InvoiceOut,
    IssueIn,
    OfficialReceiptIn,
    PaymentIn,
    PaymentOut,
    ReasonIn,
    ReceivablesOut,
    ShortfallIn,
    WriteOffIn,
    WriteOffOut,
)
from laihua.cases.services import get_case
from laihua.errors import NotFound

router = Router(tags=["billing"], auth=AUTH)


LINE_FIELDS = [
    "position",
    "source",
    "code",
    "kind",
    "description",
    "service_date",
    "quantity",
    "confirmed",
    "unit_price_cny",
    "gross_cny",
    "discount_percent",
    "discount_fixed_cny",
    "discount_cny",
    "discount_reason",
    "amount_cny",
    "reason",
    "not_covered_cny",
    "excess_cny",
    "copay_cny",
    "declined_cny",
    "over_limit_cny",
    "insurer_cny",
    "patient_cny",
    "gop_sequence",
    "insurer_decision",
    "insurer_reason",
]
PAYMENT_FIELDS = [
    "kind",
    "payer",
    "method",
    "reference",
    "amount",
    "currency",
    "amount_cny",
    "received_on",
    "idempotency_key",
    "rate_cny_per_unit",
    "pinned_rate",
    "settled_cny",
    "exchange_difference_cny",
]


def line_out(line) -> dict:
    return {"id": line.pk, "item": line.item_id, **{name: getattr(line, name) for name in LINE_FIELDS}}


def payment_out(payment) -> dict:
    return {
        "id": payment.pk,
        "invoice": payment.invoice_id,
        **{name: getattr(payment, name) for name in PAYMENT_FIELDS},
    }


def write_off_out(write_off) -> dict:
    return {
        "id": write_off.pk,
        "part": write_off.part,
        "amount_cny": write_off.amount_cny,
        "reason": write_off.reason,
        "status": write_off.status,
        "requested_by": write_off.requested_by.get_username() if write_off.requested_by_id else "",
        "decided_by": write_off.decided_by.get_username() if write_off.decided_by_id else "",
    }


def official_receipt_out(invoice: Invoice) -> dict | None:
    if not invoice.official_receipt_number:
        return None
    return {
        "kind": invoice.official_receipt_kind,
        "kind_label": invoice.get_official_receipt_kind_display(),
        "number": invoice.official_receipt_number,
        "date": invoice.official_receipt_date,
    }


def _replacement(invoice: Invoice, actor) -> tuple[str | None, int | None]:
    replacement = services.replacement_of(invoice)
    if replacement is None or actor is None:
        return None, None
    visible = services.visible_invoices(actor).filter(pk=replacement.pk).exists()
    return (replacement.number if visible else None), (replacement.pk if visible else None)


def invoice_out(invoice: Invoice, actor=None) -> dict:
    rate = None
    if invoice.rate_cny_per_unit:
        rate = {
            "cny_per_unit": invoice.rate_cny_per_unit,
            "rate_date": invoice.rate_date,
            "source": invoice.rate_source,
        }
    issued = invoice.status != InvoiceStatus.DRAFT
    staff = actor is not None and actor.role not in ("patient", "insurer_agent")
    split = services.split_for_display(invoice)
    replaced_by, replaced_by_id = _replacement(invoice, actor)
    return {
        "id": invoice.pk,
        "number": invoice.number,
        "case": invoice.case.reference,
        "status": invoice.status,
        "replaces": invoice.replaces.number if invoice.replaces_id else None,
        "replaces_id": invoice.replaces_id,
        "replaced_by": replaced_by,
        "replaced_by_id": replaced_by_id,
        "insurer": invoice.insurer.code if invoice.insurer_id else None,
        "insurer_name": invoice.insurer_name,
        "guarantee_ref": invoice.guarantee_ref,
        "rules": invoice.rules,
        "currency": invoice.currency,
        "language": invoice.language,
        "rate": rate,
        "total_cny": invoice.total_cny,
        "insurer_cny": invoice.insurer_cny,
        "patient_cny": invoice.patient_cny,
        "total_converted": invoice.total_converted,
        "pinned": _pinned(invoice),
        "issue_date": invoice.issue_date,
        "official_receipt": official_receipt_out(invoice),
        "lines": [line_out(line) for line in invoice.lines.all()],
        "split": split.as_json() if split is not None else None,
        "balances": vars(services.balances_of(invoice)),
        "payments": [payment_out(p) for p in services.payments_shown(actor, invoice)],
        "write_offs": [write_off_out(w) for w in invoice.write_offs.select_related("requested_by", "decided_by")]
        if staff
        else [],
        "claims": [claim.number for claim in invoice.claims.all()] if staff or actor.role == "insurer_agent" else [],
        "pdf": reverse("api:billing_invoice_pdf", args=[invoice.pk]),
        "receipt": reverse("api:billing_receipt_pdf", args=[invoice.pk])
        if issued and services.may_read_receipt(actor)
        else None,
    }


def _pinned(invoice: Invoice) -> dict | None:
    pinned = services.pinned_amounts(invoice)
    return vars(pinned) if pinned else None


def claim_out(claim) -> dict:
    response = getattr(claim, "response", None)
    rows = list(response.lines.select_related("line")) if response else []
    return {
        "id": claim.pk,
        "number": claim.number,
        "invoice": claim.invoice.number,
        "case": claim.invoice.case.reference,
        "insurer": claim.insurer.code,
        "insurer_name": claim.insurer_name,
        "guarantee_ref": claim.guarantee_ref,
        "status": claim.status,
        "amount_cny": claim.amount_cny,
        "submitted_at": claim.submitted_at,
        "outcome": response.outcome if response else None,
        "paid_cny": response.paid_cny if response else None,
        "moved_to_patient_cny": response.moved_to_patient_cny if response else None,
        "response_lines": [
            {
                "sequence": row.line.position,
                "submitted_cny": row.submitted_cny,
                "paid_cny": row.paid_cny,
                "adjusted_cny": row.adjusted_cny,
                "rejected_cny": row.rejected_cny,
                "disposition": row.disposition,
                "reason": row.reason,
            }
            for row in rows
        ],
        "resource": claim.resource,
    }


def _fresh(request, invoice_id: int) -> dict:
    return invoice_out(services.get_invoice(request.auth, invoice_id, audit=None), request.auth)


def _invoice(request, invoice_id: int) -> Invoice:
    return services.get_invoice(request.auth, invoice_id, audit=None)


# --- invoices -------------------------------------------------------------------------------------


@router.get("/invoices", response=list[InvoiceOut], summary="Invoices you may see, of one case (?case=REF) or all")
def list_invoices(request, case: str = "", status: str = ""):
    invoices = services.list_invoices(request.auth, case=case or None, status=status or None)
    return [invoice_out(invoice, request.auth) for invoice in invoices[:200]]


@router.post("/invoices", response={201: InvoiceOut}, summary="Draft a case's invoice from its quote and bookings")
def start_invoice(request, payload: InvoiceIn):
    case = get_case(request.auth, payload.case, audit=None)
    invoice = services.start_invoice(request.auth, case)
    return Status(201, _fresh(request, invoice.pk))


@router.get("/invoices/{invoice_id}", response=InvoiceOut, summary="One invoice with its lines, parts and payments")
def get_invoice(request, invoice_id: int):
    return invoice_out(services.get_invoice(request.auth, invoice_id), request.auth)


@router.post("/invoices/{invoice_id}/lines", response={201: InvoiceOut}, summary="Add an extra (reason required)")
def add_extra(request, invoice_id: int, payload: ExtraIn):
    services.add_extra(request.auth, _invoice(request, invoice_id), payload.dict(exclude_unset=True))
    return Status(201, _fresh(request, invoice_id))


@router.post(
    "/invoices/{invoice_id}/lines/{line_id}/confirm", response=InvoiceOut, summary="Confirm the quantity delivered"
)
def confirm_line(request, invoice_id: int, line_id: int, payload: ConfirmIn):
    services.confirm_line(request.auth, _invoice(request, invoice_id), line_id, payload.quantity)
    return _fresh(request, invoice_id)


@router.delete("/invoices/{invoice_id}/lines/{line_id}", response=InvoiceOut, summary="Remove an extra from a draft")
def remove_extra(request, invoice_id: int, line_id: int):
    services.remove_extra(request.auth, _invoice(request, invoice_id), line_id)
    return _fresh(request, invoice_id)


@router.post(
    "/invoices/{invoice_id}/issue",
    response=InvoiceOut,
    summary="Split, number and issue (then frozen); a shortfall against the guarantee needs confirm_shortfall",
)
def issue(request, invoice_id: int, payload: IssueIn = None, confirm_shortfall: bool = False):
    payload = payload or IssueIn()
    services.issue_invoice(
        request.auth,
        _invoice(request, invoice_id),
        confirm_shortfall=payload.confirm_shortfall or confirm_shortfall,
        seen_insurer_cny=payload.insurer_cny,
    )
    return _fresh(request, invoice_id)


@router.put(
    "/invoices/{invoice_id}/official-receipt",
    response=InvoiceOut,
    summary="Record the hospital's official receipt (fapiao or electronic medical receipt) of an issued statement",
)
def official_receipt(request, invoice_id: int, payload: OfficialReceiptIn):
    services.record_official_receipt(request.auth, _invoice(request, invoice_id), payload.dict())
    return _fresh(request, invoice_id)


@router.post(
    "/invoices/{invoice_id}/cancel", response=InvoiceOut, summary="Cancel an issued invoice; returns its new draft"
)
def cancel(request, invoice_id: int, payload: ReasonIn):
    replacement = services.cancel_invoice(request.auth, _invoice(request, invoice_id), payload.reason)
    return _fresh(request, replacement.pk)


@router.get("/invoices/{invoice_id}/pdf", url_name="billing_invoice_pdf", summary="Itemised invoice PDF (bilingual)")
def pdf(request, invoice_id: int):
    invoice = services.get_invoice(request.auth, invoice_id, audit="invoice.pdf")
    return _pdf(invoice_pdf(invoice), f"{invoice.number or 'draft'}-statement.pdf")


@router.get(
    "/invoices/{invoice_id}/receipt", url_name="billing_receipt_pdf", summary="Receipt of the patient's payments"
)
def receipt(request, invoice_id: int):
    invoice = services.get_receipt_invoice(request.auth, invoice_id)
    return _pdf(receipt_pdf(invoice), f"{invoice.number or 'draft'}-receipt.pdf")


@router.get("/invoices/{invoice_id}/fhir", summary="The invoice as a FHIR Invoice resource")
def fhir_invoice(request, invoice_id: int):
    invoice = services.get_invoice(request.auth, invoice_id, audit="invoice.fhir")
    return fhir.invoice_resource(invoice, list(invoice.lines.all()))


def _pdf(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# --- payments and write-offs ----------------------------------------------------------------------


@router.get("/invoices/{invoice_id}/payments", response=list[PaymentOut], summary="The invoice's payments")
def list_payments(request, invoice_id: int):
    invoice = services.get_invoice(request.auth, invoice_id, audit="payment.list")
    return [payment_out(p) for p in services.payments_of(request.auth, invoice)]


@router.post(
    "/invoices/{invoice_id}/payments",
    response={200: PaymentOut, 201: PaymentOut, 409: DuplicateOut},
    summary="Record a payment; a retry with the same key returns it (200); a likely duplicate asks first (409)",
)
def record_payment(
    request, invoice_id: int, payload: PaymentIn, idempotency_key: str = Header("", alias="Idempotency-Key")
):
    data = payload.dict(exclude_unset=True)
    key = data.pop("idempotency_key", "") or idempotency_key
    try:
        payment, created = services.record_payment(
            request.auth, _invoice(request, invoice_id), data, idempotency_key=key
        )
    except services.PossibleDuplicate as exc:
        return Status(409, {**exc.as_dict(), "duplicate_of": payment_out(exc.payment)})
    return Status(201 if created else 200, payment_out(payment))


@router.post("/invoices/{invoice_id}/write-offs", response={201: WriteOffOut}, summary="Propose a write-off")
def propose_write_off(request, invoice_id: int, payload: WriteOffIn):
    write_off = services.propose_write_off(request.auth, _invoice(request, invoice_id), payload.dict())
    return Status(201, write_off_out(write_off))


@router.post(
    "/invoices/{invoice_id}/write-offs/{write_off_id}/{decision}",
    response=WriteOffOut,
    summary="Approve or reject a write-off (decision: approve | reject; by somebody else)",
)
def decide_write_off(request, invoice_id: int, write_off_id: int, decision: str):
    if decision not in ("approve", "reject"):
        raise NotFound()
    write_off = services.decide_write_off(
        request.auth, _invoice(request, invoice_id), write_off_id, approve=decision == "approve"
    )
    return write_off_out(write_off)


# --- claims ---------------------------------------------------------------------------------------


@router.post("/invoices/{invoice_id}/claims", response={201: ClaimOut}, summary="Send the insurer's part as a Claim")
def submit_claim(request, invoice_id: int):
    claim = services.submit_claim(request.auth, _invoice(request, invoice_id))
    return Status(201, claim_out(services.get_claim(request.auth, claim.pk, audit=None)))


@router.get("/claims", response=list[ClaimOut], summary="Claims you may see (an insurer agent: its insurer's)")
def list_claims(request):
    return [claim_out(claim) for claim in services.claim_rows(request.auth)[:200]]


@router.get("/claims/{claim_id}", response=ClaimOut, summary="One claim, with the FHIR Claim sent")
def get_claim(request, claim_id: int):
    return claim_out(services.get_claim(request.auth, claim_id))


@router.post("/claims/{claim_id}/response", response=ClaimOut, summary="Record the insurer's answer, line by line")
def claim_response(request, claim_id: int, payload: ClaimResponseIn):
    claim = services.get_claim(request.auth, claim_id, audit=None)
    lines = [line.dict() for line in payload.lines]
    services.enter_claim_response(request.auth, claim, lines, note=payload.note)
    return claim_out(services.get_claim(request.auth, claim_id, audit=None))


@router.post(
    "/claims/{claim_id}/shortfall",
    response=ClaimOut,
    summary="Decide what the insurer did not pay: patient | write_off",
)
def shortfall(request, claim_id: int, payload: ShortfallIn):
    claim = services.get_claim(request.auth, claim_id, audit=None)
    services.settle_shortfall(request.auth, claim, payload.disposition, reason=payload.reason)
    return claim_out(services.get_claim(request.auth, claim_id, audit=None))


# --- receivables ----------------------------------------------------------------------------------


@router.get("/receivables", response=ReceivablesOut, summary="What is owed, by insurer and by age (finance)")
def receivables(request):
    result = services.receivables(request.auth)
    return {
        "buckets": result.buckets,
        "by_payer": result.by_payer,
        "rows": [
            {
                "invoice": row.invoice.number,
                "case": row.invoice.case.reference,
                "payer": row.payer,
                "amount_cny": row.amount,
                "age_days": row.age_days,
                "bucket": row.bucket,
                "official_receipt": official_receipt_out(row.invoice),
            }
            for row in result.rows
        ],
        "total": result.total,
    }


@router.get("/receivables.csv", summary="The same as CSV")
def receivables_csv(request):
    response = HttpResponse(services.receivables_csv(request.auth), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="receivables.csv"'
    return response


# --- exchange gains and losses --------------------------------------------------------------------


@router.get(
    "/exchange-differences",
    response=ExchangeReportOut,
    summary="The month's exchange gains and losses on payments in other currencies (?month=YYYY-MM; finance)",
)
def exchange_differences(request, month: str = ""):
    report = services.exchange_differences(request.auth, month)
    return {
        "month": report.label,
        "rows": [{**vars(row), "payment": row.payment.pk} for row in report.rows],
        "by_currency": [vars(entry) for entry in report.by_currency],
        "settled_cny": report.settled_cny,
        "received_cny": report.received_cny,
        "exchange_cny": report.exchange_cny,
        "gains_cny": report.gains,
        "losses_cny": report.losses,
    }


@router.get("/exchange-differences.csv", summary="The same as CSV")
def exchange_differences_csv(request, month: str = ""):
    content = services.exchange_differences_csv(request.auth, month)
    label = services.exchange_month(month).strftime("%Y-%m")
    response = HttpResponse(content, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="exchange-differences-{label}.csv"'
    return response
