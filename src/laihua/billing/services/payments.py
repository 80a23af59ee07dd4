"""Payments on an invoice: deposits, the balance and refunds from or to the patient, the insurer's remittances.

- One payment per key: a payment carries an idempotency key unique per hospital; sending the same key again returns
  the payment recorded the first time, with different data it is refused. The API's client sends the key; the
  invoice page's form carries a key the server minted for that form (`new_payment_form`), so submitting the same
  form twice (a double click, Back and Submit) answers with the first payment.
- Likely duplicates ask first: a payment with the same reference, amount and currency as one received on the same
  invoice within a day is refused (`possible_duplicate`, naming it) unless confirmed (`confirm_duplicate`).
- A foreign amount counts in CNY at the rate of the day received; paid in the currency an issued invoice is pinned
  in, it settles its share of the part at the pinned rate and records the exchange difference (`exchange`)."""

import datetime
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from django.core import signing
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from laihua.billing.arithmetic import to_fen
from laihua.billing.models import ClaimStatus, Invoice, InvoiceStatus, Payer, Payment, PaymentKind, PaymentMethod
from laihua.billing.services.access import (
    CASHIERS,
    InvoiceNotIssued,
    audit_invoice,
    lock_invoice,
    payments_shown,
    require_staff,
)
from laihua.billing.services.balances import balances_of, settle_status
from laihua.billing.services.exchange import Settlement, currency_unit, settlement
from laihua.billing.services.inputs import MAX_REFERENCE, clean_text, parse_choice, parse_date, positive_amount
from laihua.cases.services import add_event
from laihua.errors import Conflict, InvalidInput
from laihua.kit import clock
from laihua.kit.money import normalise_currency
from laihua.rates import services as rates


class IdempotencyMismatch(Conflict):
    code = "idempotency_mismatch"
    default_message = gettext_lazy("This idempotency key was already used for a different payment.")


class PossibleDuplicate(Conflict):
    """A payment like one already recorded; `payment` is the earlier one. Send it again confirmed to record it."""

    code = "possible_duplicate"

    def __init__(self, payment: Payment):
        self.payment = payment
        super().__init__(
            _(
                "A payment with the same reference and amount was recorded on this invoice within a day: %(payment)s. "
                "Confirm to record this one as well."
            )
            % {"payment": describe(payment)},
            field="confirm_duplicate",
        )


class PaymentFormUsed(Conflict):
    """The page's form already recorded a different payment; `payment` is the one it recorded."""

    code = "payment_form_used"

    def __init__(self, payment: Payment):
        self.payment = payment
        super().__init__(
            _("This form already recorded a payment: %(payment)s. Open a new form to record another payment.")
            % {"payment": describe(payment)},
            field="form",
        )


def describe(payment: Payment) -> str:
    """A payment in one line, for the messages that name it."""
    return _("%(kind)s of %(amount)s %(currency)s, reference %(reference)s, received on %(date)s (payment %(id)s)") % {
        "kind": payment.get_kind_display(),
        "amount": f"{payment.amount:,.2f}",
        "currency": payment.currency,
        "reference": payment.reference,
        "date": payment.received_on.isoformat(),
        "id": payment.pk,
    }


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
    confirm_duplicate: bool = False


def _flag(value) -> bool:
    return value is True or str(value or "").strip().lower() in ("1", "true", "on", "yes")


def _amount_in(currency: str, amount: Decimal) -> Decimal:
    unit = currency_unit(currency)
    if amount != amount.quantize(unit):
        raise InvalidInput(
            _("An amount in %(currency)s is a multiple of %(unit)s.") % {"currency": currency, "unit": unit},
            field="amount",
        )
    return amount


def _payment_input(data: Mapping) -> PaymentInput:
    kind = parse_choice(data.get("kind"), PaymentKind, field="kind")
    payer = Payer.INSURER if kind == PaymentKind.REMITTANCE else Payer.PATIENT
    if data.get("payer") not in (None, "") and data["payer"] != payer:
        raise InvalidInput(_("A remittance comes from the insurer; everything else from the patient."), field="payer")
    received_on = parse_date(data.get("received_on"), field="received_on", default=clock.today())
    if received_on > clock.today():
        raise InvalidInput(_("A payment cannot be received in the future."), field="received_on")
    currency = normalise_currency(data.get("currency") or "CNY")
    return PaymentInput(
        kind=kind,
        payer=payer,
        method=parse_choice(data.get("method"), PaymentMethod, field="method"),
        reference=clean_text(data.get("reference"), field="reference", required=True, max_length=MAX_REFERENCE),
        amount=_amount_in(currency, positive_amount(data.get("amount"), field="amount")),
        currency=currency,
        received_on=received_on,
        confirm_duplicate=_flag(data.get("confirm_duplicate")),
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
    amount_cny = to_fen(given.amount * rate.cny_per_unit)
    if amount_cny <= 0:
        raise InvalidInput(_("This amount is worth less than one fen."), field="amount")
    return amount_cny, rate.cny_per_unit


def _check_payment(invoice: Invoice, given: PaymentInput) -> None:
    if invoice.status in (InvoiceStatus.CANCELLED, InvoiceStatus.ENTERED_IN_ERROR):
        raise Conflict(_("This invoice is cancelled: record the payment on its replacement."), field="invoice")
    if given.kind == PaymentKind.REMITTANCE and (invoice.is_draft or invoice.insurer_id is None):
        raise Conflict(_("A remittance is recorded on an issued invoice with an insurer's part."), field="kind")
    if given.kind == PaymentKind.BALANCE and invoice.is_draft:
        raise InvoiceNotIssued(_("Issue the invoice before taking the balance; a draft takes deposits."))


def _check_refund(invoice: Invoice, given: PaymentInput, settled: Settlement) -> None:
    """A refund never gives back more than the patient's payments settled (net of earlier refunds)."""
    if given.kind != PaymentKind.REFUND:
        return
    owed = balances_of(invoice)
    if settled.settled_cny > owed.patient_paid - owed.patient_exchange:
        raise InvalidInput(_("A refund cannot exceed what the patient paid."), field="amount")


DUPLICATE_WINDOW = datetime.timedelta(days=1)


def likely_duplicate(invoice: Invoice, given: PaymentInput) -> Payment | None:
    """A payment on the invoice with the same reference (ignoring case), amount and currency, received within a day
    of this one, in the same direction (a refund is compared with refunds only), or None."""
    rows = invoice.payments.filter(
        amount=given.amount,
        currency=given.currency,
        reference__iexact=given.reference,
        received_on__range=(given.received_on - DUPLICATE_WINDOW, given.received_on + DUPLICATE_WINDOW),
    )
    rows = (
        rows.filter(kind=PaymentKind.REFUND)
        if given.kind == PaymentKind.REFUND
        else rows.exclude(kind=PaymentKind.REFUND)
    )
    return rows.order_by("-received_on", "-pk").first()


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
    _check_payment(invoice, given)
    if not given.confirm_duplicate:
        earlier = likely_duplicate(invoice, given)
        if earlier is not None:
            raise PossibleDuplicate(earlier)
    amount_cny, rate = _in_cny(given)
    settled = settlement(
        invoice,
        kind=given.kind,
        payer=given.payer,
        currency=given.currency,
        amount=given.amount,
        amount_cny=amount_cny,
    )
    _check_refund(invoice, given, settled)
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
        settled_cny=settled.settled_cny,
        exchange_difference_cny=settled.exchange_cny,
        pinned_rate=settled.pinned_rate,
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
    exchange = {
        "amount": str(given.amount),
        "currency": given.currency,
        "rate_of_the_day": str(rate) if rate is not None else "",
        "pinned_rate": str(settled.pinned_rate) if settled.pinned_rate is not None else "",
        "settled_cny": str(settled.settled_cny),
        "exchange_difference_cny": str(settled.exchange_cny),
        "confirmed_duplicate": given.confirm_duplicate,
    }
    audit_invoice(actor, "payment.record", invoice, **detail, **exchange)
    return payment


def payments_of(actor, invoice: Invoice) -> list[Payment]:
    """The invoice's payments the actor reads (the caller already read the invoice through get_invoice): an insurer
    agent only its insurer's remittances."""
    return list(payments_shown(actor, invoice))


# --- the invoice page's form: one form, one payment ------------------------------------------------

FORM_SALT = "laihua.billing.payment-form"


def new_payment_form(actor, invoice: Invoice) -> str:
    """A new payment form for the invoice page: a token signed by the server, naming the invoice and the user, whose
    random part is the payment's idempotency key. The page keeps it until a payment is recorded with it."""
    require_staff(actor, invoice, CASHIERS)
    return signing.dumps({"i": invoice.pk, "u": actor.pk, "n": secrets.token_urlsafe(18)}, salt=FORM_SALT)


def _form_key(actor, invoice: Invoice, token) -> str:
    try:
        data = signing.loads(str(token or ""), salt=FORM_SALT)
    except signing.BadSignature:
        data = None
    if not isinstance(data, dict) or data.get("i") != invoice.pk or data.get("u") != actor.pk or not data.get("n"):
        raise InvalidInput(
            _("This payment form is not valid: reload the page and enter the payment again."), field="form"
        )
    return f"form:{data['n']}"


def form_payment(actor, invoice: Invoice, token) -> Payment | None:
    """The payment recorded with this form, or None while the form is unused (or not valid)."""
    try:
        key = _form_key(actor, invoice, token)
    except InvalidInput:
        return None
    return Payment.objects.filter(hospital_id=invoice.hospital_id, idempotency_key=key).first()


def record_form_payment(actor, invoice: Invoice, data: Mapping, *, form: str) -> tuple[Payment, bool]:
    """Record the payment of the invoice page's form; the same form sent again returns the payment it recorded
    (and `False`), and with other data is refused naming that payment (PaymentFormUsed)."""
    require_staff(actor, invoice, CASHIERS)
    key = _form_key(actor, invoice, form)
    try:
        return record_payment(actor, invoice, data, idempotency_key=key)
    except IdempotencyMismatch:
        raise PaymentFormUsed(form_payment(actor, invoice, form)) from None
