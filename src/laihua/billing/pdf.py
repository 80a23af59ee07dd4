"""The itemised invoice and the receipt as PDFs: every label in the patient's language and in Chinese."""

from django.utils import translation
from django.utils.translation import gettext_lazy as _

from laihua.billing import services
from laihua.billing.models import (
    InsurerDecision,
    Invoice,
    InvoiceStatus,
    OfficialReceiptKind,
    PaymentKind,
    PaymentMethod,
)
from laihua.kit.i18n import pick
from laihua.kit.money import Money
from laihua.kit.pdf import render_pdf

CHINESE = "zh-hans"

LABELS = {
    "invoice": _("Statement of charges"),
    "receipt": _("Receipt"),
    "draft": _("Draft: not issued"),
    "cancelled": _("Cancelled"),
    "number": _("Statement number"),
    "case": _("Case"),
    "issued": _("Issued on"),
    "status": _("Status"),
    "patient": _("Patient"),
    "nationality": _("Nationality"),
    "insurer": _("Insurer"),
    "guarantee": _("Guarantee of payment"),
    "phone": _("Phone"),
    "email": _("E-mail"),
    "lines": _("Services delivered"),
    "date": _("Date"),
    "code": _("Code"),
    "description": _("Description"),
    "quantity": _("Qty"),
    "unit_price": _("Unit price"),
    "discount": _("Discount"),
    "amount": _("Amount"),
    "insurer_part": _("Insurer pays"),
    "patient_part": _("You pay"),
    "reason": _("Reason"),
    "total": _("Total"),
    "total_converted": _("Total in your currency"),
    "not_covered": _("Not covered"),
    "excess": _("Excess"),
    "copay": _("Co-payment"),
    "over_limit": _("Above the guaranteed amount"),
    "declined": _("Not approved by the insurer"),
    "replaces": _("Replaces"),
    "replaced_by": _("Replaced by"),
    "official_receipt": _("Hospital's official receipt"),
    "not_fapiao": _(
        "This statement of charges lists what the hospital charges. It is not a fapiao (tax invoice) nor an "
        "official medical receipt: the hospital issues those itself."
    ),
    "receipt_not_fapiao": _(
        "This receipt confirms the payments recorded on the statement. It is not a fapiao (tax invoice) nor an "
        "official medical receipt: the hospital issues those itself."
    ),
    "moved": _("Not paid by the insurer, payable by you"),
    "payments": _("Payments"),
    "method": _("Method"),
    "reference": _("Reference"),
    "kind": _("Kind"),
    "paid": _("Paid"),
    "written_off": _("Written off"),
    "balance": _("Balance"),
    "you_owe": _("You still owe"),
    "insurer_owes": _("The insurer still owes"),
    "received": _("Received with thanks"),
    "rate": _("Exchange rate"),
    "rate_note": _(
        "The amounts in CNY are what the hospital charges. The amounts in your currency are pinned at the rate "
        "shown: paying exactly the amount you still owe in your currency settles it."
    ),
    "no_payments": _("No payment recorded yet."),
}


def _bilingual(label, language: str) -> dict:
    with translation.override(language):
        main = str(label)
    with translation.override(CHINESE):
        chinese = str(label)
    return {"main": main, "zh": chinese if chinese != main else ""}


def _texts(texts: dict, language: str) -> dict:
    main = pick(texts, language)
    chinese = (texts or {}).get(CHINESE, "")
    return {"main": main, "zh": chinese if chinese != main else ""}


def _money(amount, currency: str, language: str) -> str:
    return "" if amount is None else Money(amount, currency).format(language)


def _row(line, split, language: str) -> dict:
    cny = lambda amount: _money(amount, "CNY", language)  # noqa: E731
    reasons = split.reasons.get(line.position, []) if split is not None else []
    return {
        "line": line,
        "text": _texts(line.description, language),
        "unit": cny(line.unit_price_cny),
        "discount": cny(line.discount_cny) if line.discount_cny else "",
        "amount": cny(line.amount_cny),
        "insurer": cny(line.insurer_cny),
        "patient": cny(line.patient_cny),
        "reasons": [
            {
                "label": _bilingual(services.REASONS.get(code, code), language),
                "amount": cny(amount),
                "insurer_reason": line.insurer_reason if code in InsurerDecision.values else "",
            }
            for code, amount in reasons
        ],
    }


def context(invoice: Invoice) -> dict:
    language = services.invoice_language(invoice)
    cny = lambda amount: _money(amount, "CNY", language)  # noqa: E731
    owed = services.balances_of(invoice)
    pinned = services.pinned_amounts(invoice, owed)
    in_currency = lambda amount_cny: services.converted(invoice, amount_cny)  # noqa: E731 - a draft: today's rate
    split = services.split_for_display(invoice)
    lines = split.lines if split is not None else list(invoice.lines.all())
    insurer_part = split.insurer if split is not None else invoice.insurer_cny
    patient_part = split.patient if split is not None else invoice.patient_cny
    payments = list(invoice.payments.order_by("received_on", "pk"))
    replacement = services.replacement_of(invoice)
    return {
        "invoice": invoice,
        "case": invoice.case,
        "patient": invoice.case.patient,
        "hospital": invoice.hospital,
        "hospital_name": _texts(invoice.hospital.name, language),
        "hospital_address": _texts(invoice.hospital.address, language),
        "language": language,
        "L": {key: _bilingual(label, language) for key, label in LABELS.items()},
        # The choices' lazy labels: get_..._display() is already text in the active language only.
        "status_label": _bilingual(InvoiceStatus(invoice.status).label, language),
        "show_split": bool(invoice.insurer_name or (split is not None and (split.cover or split.guarantee))),
        "replaced_by": replacement.number if replacement is not None else "",
        "receipt_kind": _bilingual(OfficialReceiptKind(invoice.official_receipt_kind).label, language)
        if invoice.official_receipt_kind
        else None,
        "rows": [_row(line, split, language) for line in lines],
        "payments": [
            {
                "payment": payment,
                "kind": _bilingual(PaymentKind(payment.kind).label, language),
                "method": _bilingual(PaymentMethod(payment.method).label, language),
                "amount": _money(payment.amount, payment.currency, language),
                "amount_cny": cny(payment.signed_settled_cny),  # what it settled (at the pinned rate)
            }
            for payment in payments
        ],
        "patient_payments": [p for p in payments if p.payer == "patient"],
        "owed": owed,
        "split": {
            "not_covered": cny(sum((line.not_covered_cny for line in lines), 0)),
            "excess": cny(sum((line.excess_cny for line in lines), 0)),
            "copay": cny(sum((line.copay_cny for line in lines), 0)),
            "declined": cny(sum((line.declined_cny for line in lines), 0)),
            "over_limit": cny(sum((line.over_limit_cny for line in lines), 0)),
        },
        "money": {
            "total": cny(invoice.total_cny),
            "insurer": cny(insurer_part),
            "patient": cny(patient_part),
            "moved": cny(owed.moved_to_patient),
            "patient_paid": cny(owed.patient_paid - owed.patient_exchange),  # as settled
            "insurer_paid": cny(owed.insurer_paid - owed.insurer_exchange),
            "written_off": cny(owed.patient_written_off + owed.insurer_written_off),
            "patient_due": cny(owed.patient_due),
            "insurer_due": cny(owed.insurer_due),
            "balance": cny(owed.balance),
            "total_converted": _money(
                pinned.total if pinned else in_currency(invoice.total_cny), invoice.currency, language
            ),
            "patient_converted": _money(
                pinned.patient if pinned else in_currency(patient_part), invoice.currency, language
            ),
            "patient_due_converted": _money(
                pinned.patient_due if pinned else in_currency(owed.patient_due), invoice.currency, language
            ),
        },
    }


def invoice_pdf(invoice: Invoice) -> bytes:
    """The itemised invoice (the caller checks access and audits the download)."""
    return render_pdf("billing/invoice_pdf.html", context(invoice), language=services.invoice_language(invoice))


def receipt_pdf(invoice: Invoice) -> bytes:
    """The receipt of the patient's payments on the invoice."""
    return render_pdf("billing/receipt_pdf.html", context(invoice), language=services.invoice_language(invoice))
