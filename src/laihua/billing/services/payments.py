"""Payments on an invoice: deposits, the balance and refunds from or to the patient, the insurer's remittances.
A payment carries an idempotency key unique per hospital: sending the same key again returns the payment
recorded the first time; a foreign amount counts in CNY at the rate of the day received."""

import datetime
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from laihua.billing.arithmetic import to_fen
from laihua.billing.models import ClaimStatus, Invoice, InvoiceStatus, Payer, Payment, PaymentKind, PaymentMethod
from laihua.billing.services.access import CASHIERS, InvoiceNotIssued, audit_invoice, lock_invoice, require_staff
from laihua.billing.services.balances import balances_of, settle_status
from laihua.billing.services.inputs import MAX_REFERENCE, clean_text, parse_choice, parse_date, positive_amount
from laihua.cases.services import add_event
from laihua.errors import Conflict, InvalidInput
from laihua.kit import clock
from laihua.kit.money import normalise_currency
from laihua.rates import services as rates


class IdempotencyMismatch(Conflict):
    code = "idempotency_mismatch"
    default_message = gettext_lazy("This idempotency key was already used for a different payment.")


def _payment_key(value) -> str:
    key = str(value or "").strip()
    if not key or len(key) > 100:
        raise InvalidInput(_("Send an idempotency key of 1 to 100 characters."), field="idempotency_key")
    return key


@dataclass(frozen=True)
class PaymentInput:
    kind: str
    payer: str
    method: str
    reference: str
    amount: Decimal
    currency: str
    received_on: datetime.date


def _payment_input(data: Mapping) -> PaymentInput:
    kind = parse_choice(data.get("kind"), PaymentKind, field="kind")
    payer = Payer.INSURER if kind == PaymentKind.REMITTANCE else Payer.PATIENT
    if data.get("payer") not in (None, "") and data["payer"] != payer:
        raise InvalidInput(_("A remittance comes from the insurer; everything else from the patient."), field="payer")
    received_on = parse_date(data.get("received_on"), field="received_on", default=clock.today())
    if received_on > clock.today():
        raise InvalidInput(_("A payment cannot be received in the future."), field="received_on")
    return PaymentInput(
        kind=kind,
        payer=payer,
        method=parse_choice(data.get("method"), PaymentMethod, field="method"),
        reference=clean_text(data.get("reference"), field="reference", required=True, max_length=MAX_REFERENCE),
        amount=positive_amount(data.get("amount"), field="amount"),
        currency=normalise_currency(data.get("currency") or "CNY"),
        received_on=received_on,
    )


def _same_payment(payment: Payment, given: PaymentInput, invoice: Invoice) -> bool:
    return (
        payment.invoice_id == invoice.pk
        and payment.kind == given.kind
        and payment.amount == given.amount
        and payment.currency == given.currency
        and payment.reference == given.reference
    )


def _in_cny(given: PaymentInput) -> tuple[Decimal, Decimal | None]:
    if given.currency == "CNY":
        return given.amount, None
    rate = rates.rate_for(given.currency, given.received_on)
    return to_fen(given.amount * rate.cny_per_unit), rate.cny_per_unit


def _check_payment(invoice: Invoice, given: PaymentInput, amount_cny: Decimal) -> None:
    if invoice.status in (InvoiceStatus.CANCELLED, InvoiceStatus.ENTERED_IN_ERROR):
        raise Conflict(_("This invoice is cancelled: record the payment on its replacement."), field="invoice")
    if given.kind == PaymentKind.REMITTANCE and (invoice.is_draft or invoice.insurer_id is None):
        raise Conflict(_("A remittance is recorded on an issued invoice with an insurer's part."), field="kind")
    if given.kind == PaymentKind.BALANCE and invoice.is_draft:
        raise InvoiceNotIssued(_("Issue the invoice before taking the balance; a draft takes deposits."))
    if given.kind == PaymentKind.REFUND and amount_cny > balances_of(invoice).patient_paid:
        raise InvalidInput(_("A refund cannot exceed what the patient paid."), field="amount")


def _replayed(invoice: Invoice, given: PaymentInput, key: str) -> Payment | None:
    previous = Payment.objects.filter(hospital_id=invoice.hospital_id, idempotency_key=key).first()
    if previous is None:
        return None
    if not _same_payment(previous, given, invoice):
        raise IdempotencyMismatch(field="idempotency_key")
    return previous


def record_payment(actor, invoice: Invoice, data: Mapping, *, idempotency_key: str) -> tuple[Payment, bool]:
    """Record a deposit, balance, refund or remittance; the same key at the hospital returns the payment
    recorded the first time (and `False` for "not created")."""
    require_staff(actor, invoice, CASHIERS)
    key = _payment_key(idempotency_key)
    given = _payment_input(data)
    try:
        with transaction.atomic():
            locked = lock_invoice(invoice)
            previous = _replayed(locked, given, key)
            if previous is not None:
                return previous, False
            payment = _create_payment(actor, locked, given, key)
    except IntegrityError:
        previous = _replayed(invoice, given, key)  # a concurrent retry won the race
        if previous is None:
            raise
        return previous, False
    return payment, True


def _create_payment(actor, invoice: Invoice, given: PaymentInput, key: str) -> Payment:
    amount_cny, rate = _in_cny(given)
    _check_payment(invoice, given, amount_cny)
    claim = invoice.claims.filter(status=ClaimStatus.ACTIVE).first() if given.kind == PaymentKind.REMITTANCE else None
    payment = Payment.objects.create(
        invoice=invoice,
        hospital_id=invoice.hospital_id,
        kind=given.kind,
        payer=given.payer,
        method=given.method,
        reference=given.reference,
        amount=given.amount,
        currency=given.currency,
        amount_cny=amount_cny,
        rate_cny_per_unit=rate,
        received_on=given.received_on,
        idempotency_key=key,
        claim=claim,
        recorded_by=actor,
    )
    settle_status(invoice)
    detail = {
        "payment": payment.pk,
        "payment_kind": given.kind,
        "amount_cny": str(amount_cny),
        "reference": given.reference,
    }
    add_event(invoice.case, actor, "payment_recorded", staff_only=True, **detail)
    audit_invoice(actor, "payment.record", invoice, **detail)
    return payment


def payments_of(actor, invoice: Invoice) -> list[Payment]:
    """The invoice's payments (the caller already read the invoice through get_invoice)."""
    return list(invoice.payments.order_by("received_on", "pk"))
