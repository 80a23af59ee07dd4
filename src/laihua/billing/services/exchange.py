"""Payments in the patient's currency. Issuing an invoice pins its total and each part (the patient's, the insurer's)
in the patient's currency at the issue day's rate, and those pinned amounts are what the invoice shows and asks for.

- A payment in that currency settles its share of the part at the pinned rate, and exactly what is owed when it is
  exactly the amount shown as owed (`arithmetic.settle_at_pin`); what it was worth in CNY on the day it was received
  beyond that (or below it) is stored on the payment as an exchange gain (or loss), Decimal to the fen, never as
  money owed. A refund in that currency likewise, the other way round.
- A payment in CNY settles its amount. A payment in a third currency (or any payment on a draft, which has no pinned
  rate yet) settles what it is worth in CNY at the rate of the day it is received, with no exchange difference:
  nothing was pinned in that currency, so there is nothing to differ from.

The arithmetic is Django-free in `billing/arithmetic.py`; this module reads the rows it needs."""

from dataclasses import dataclass
from decimal import Decimal

from babel.numbers import get_currency_precision

from laihua.billing import arithmetic
from laihua.billing.arithmetic import ZERO, PaidAtPin, Pin
from laihua.billing.models import Invoice, InvoiceStatus, Payer
from laihua.billing.services.balances import InvoiceBalances, balances_of

PINNED_STATUSES = (InvoiceStatus.ISSUED, InvoiceStatus.BALANCED)


def currency_unit(currency: str) -> Decimal:
    """The currency's smallest unit: 0.01, or 1 for the yen and the won (amounts are kept to two decimals, so a
    currency with three counts in hundredths)."""
    return max(Decimal(1).scaleb(-get_currency_precision(currency)), arithmetic.FEN)


def pin_invoice(invoice: Invoice) -> None:
    """Pin the total and both parts in the invoice's currency at its frozen rate (when it is issued; not saved)."""
    if invoice.currency == "CNY" or not invoice.rate_cny_per_unit:
        invoice.total_converted = invoice.total_cny
        invoice.patient_converted, invoice.insurer_converted = invoice.patient_cny, invoice.insurer_cny
        return
    invoice.total_converted, invoice.patient_converted, invoice.insurer_converted = arithmetic.pin_parts(
        invoice.total_cny, invoice.patient_cny, invoice.rate_cny_per_unit, currency_unit(invoice.currency)
    )


def is_pinned(invoice: Invoice) -> bool:
    """An issued invoice in a currency other than CNY: its parts are pinned in that currency."""
    return invoice.status in PINNED_STATUSES and invoice.currency != "CNY" and bool(invoice.rate_cny_per_unit)


def _pinned_parts(invoice: Invoice) -> tuple[Decimal, Decimal]:
    if invoice.patient_converted is not None and invoice.insurer_converted is not None:
        return invoice.patient_converted, invoice.insurer_converted
    # Issued before the parts were pinned: the same amounts, from its frozen rate.
    _total, patient, insurer = arithmetic.pin_parts(
        invoice.total_cny, invoice.patient_cny, invoice.rate_cny_per_unit, currency_unit(invoice.currency)
    )
    return patient, insurer


def pin_of(invoice: Invoice, part: str) -> Pin | None:
    """The part (patient or insurer) pinned in the invoice's currency, or None (a draft, or an invoice in CNY)."""
    if not is_pinned(invoice):
        return None
    patient, insurer = _pinned_parts(invoice)
    if part == Payer.INSURER:
        cny, foreign = invoice.insurer_cny, insurer
    else:
        cny, foreign = invoice.patient_cny, patient
    return Pin(cny=cny, foreign=foreign, rate=invoice.rate_cny_per_unit, unit=currency_unit(invoice.currency))


def paid_at_pin(invoice: Invoice, part: str) -> PaidAtPin:
    """What the part's payments made in the pinned currency at a pinned rate add up to, in that currency and in CNY
    settled (refunds negative)."""
    foreign = settled = ZERO
    rows = invoice.payments.filter(payer=part, currency=invoice.currency, pinned_rate__isnull=False)
    for kind, amount, settled_cny in rows.values_list("kind", "amount", "settled_cny"):
        foreign += arithmetic.signed(kind, amount)
        settled += arithmetic.signed(kind, settled_cny)
    return PaidAtPin(foreign=foreign, cny=settled)


def _due(owed: InvoiceBalances, part: str) -> Decimal:
    return owed.insurer_due if part == Payer.INSURER else owed.patient_due


@dataclass(frozen=True)
class Settlement:
    """What a payment counts for: `settled_cny` (positive; a refund counts it negative), its exchange gain or loss
    in CNY, and the pinned rate it settled at (None: at the rate of the day, or in CNY)."""

    settled_cny: Decimal
    exchange_cny: Decimal = ZERO
    pinned_rate: Decimal | None = None


def settlement(invoice: Invoice, *, kind: str, payer: str, currency: str, amount: Decimal, amount_cny: Decimal):
    """What a payment of `amount` in `currency` (worth `amount_cny` on the day) settles on the invoice."""
    pin = pin_of(invoice, payer) if currency == invoice.currency else None
    if pin is None:
        return Settlement(settled_cny=amount_cny)
    due = _due(balances_of(invoice), payer)
    settled = arithmetic.settle_at_pin(pin, arithmetic.signed(kind, amount), due, paid_at_pin(invoice, payer))
    settled = abs(settled)
    return Settlement(
        settled_cny=settled,
        exchange_cny=arithmetic.exchange_difference(kind, amount_cny, settled),
        pinned_rate=pin.rate,
    )


@dataclass(frozen=True)
class Pinned:
    """What the pages show in the patient's currency: the pinned total and parts, and what is still owed on each
    part (negative: to refund). Paying exactly a part's amount owed in this currency settles it."""

    currency: str
    rate: Decimal
    rate_date: object
    source: str
    total: Decimal
    patient: Decimal
    insurer: Decimal
    patient_due: Decimal
    insurer_due: Decimal


def pinned_amounts(invoice: Invoice, owed: InvoiceBalances | None = None) -> Pinned | None:
    """The invoice's pinned amounts and what is owed in its currency, or None (a draft, or an invoice in CNY)."""
    if not is_pinned(invoice):
        return None
    owed = owed or balances_of(invoice)
    dues = {}
    for part in (Payer.PATIENT, Payer.INSURER):
        dues[part] = arithmetic.foreign_due(pin_of(invoice, part), _due(owed, part), paid_at_pin(invoice, part))
    patient, insurer = _pinned_parts(invoice)
    return Pinned(
        currency=invoice.currency,
        rate=invoice.rate_cny_per_unit,
        rate_date=invoice.rate_date,
        source=invoice.rate_source,
        total=patient + insurer,
        patient=patient,
        insurer=insurer,
        patient_due=dues[Payer.PATIENT],
        insurer_due=dues[Payer.INSURER],
    )
