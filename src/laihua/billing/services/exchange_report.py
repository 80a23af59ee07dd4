"""Finance's monthly exchange gains and losses: every payment received (or refunded) in a currency other than CNY in
the month, at the hospital of the finance user or hospital admin who asks, with what it settled at the invoice's
pinned rate, what it was worth on the day, and the difference; totals per currency and in all. On the page, as CSV
(cells a spreadsheet would read as a formula are neutralised) and in the API. Every reading is audited."""

import csv
import datetime
import io
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils.translation import gettext as _

from laihua.accounts.permissions import require_role
from laihua.audit.services import record_event
from laihua.billing import arithmetic
from laihua.billing.arithmetic import ZERO
from laihua.billing.models import Payment
from laihua.billing.services.access import CASHIERS
from laihua.errors import InvalidInput, PermissionDenied
from laihua.kit import clock


@dataclass(frozen=True)
class ExchangeRow:
    """One payment; amounts signed (a refund negative), the gain positive and a loss negative."""

    payment: Payment
    received_on: datetime.date
    invoice: str
    case: str
    kind: str
    payer: str
    reference: str
    currency: str
    amount: Decimal
    pinned_rate: Decimal | None
    day_rate: Decimal | None
    settled_cny: Decimal
    received_cny: Decimal
    exchange_cny: Decimal


@dataclass
class CurrencyTotal:
    currency: str
    payments: int = 0
    amount: Decimal = ZERO
    settled_cny: Decimal = ZERO
    received_cny: Decimal = ZERO
    exchange_cny: Decimal = ZERO


@dataclass
class ExchangeReport:
    month: datetime.date  # its first day
    rows: list[ExchangeRow]
    by_currency: list[CurrencyTotal] = field(default_factory=list)
    settled_cny: Decimal = ZERO
    received_cny: Decimal = ZERO
    exchange_cny: Decimal = ZERO

    @property
    def label(self) -> str:
        return self.month.strftime("%Y-%m")

    @property
    def gains(self) -> Decimal:
        return arithmetic.total(row.exchange_cny for row in self.rows if row.exchange_cny > 0)

    @property
    def losses(self) -> Decimal:
        return arithmetic.total(row.exchange_cny for row in self.rows if row.exchange_cny < 0)


def parse_month(value) -> datetime.date:
    """The first day of the month given as YYYY-MM (empty: this month)."""
    if value in (None, ""):
        return clock.today().replace(day=1)
    try:
        return datetime.datetime.strptime(str(value).strip(), "%Y-%m").date()
    except ValueError:
        raise InvalidInput(_("Give the month in the form YYYY-MM."), field="month") from None


def _next_month(first: datetime.date) -> datetime.date:
    return (first + datetime.timedelta(days=32)).replace(day=1)


def _row(payment: Payment) -> ExchangeRow:
    sign = -1 if payment.kind == "refund" else 1
    return ExchangeRow(
        payment=payment,
        received_on=payment.received_on,
        invoice=payment.invoice.number or "",
        case=payment.invoice.case.reference,
        kind=payment.kind,
        payer=payment.payer,
        reference=payment.reference,
        currency=payment.currency,
        amount=sign * payment.amount,
        pinned_rate=payment.pinned_rate,
        day_rate=payment.rate_cny_per_unit,
        settled_cny=sign * payment.settled_cny,
        received_cny=sign * payment.amount_cny,
        exchange_cny=payment.exchange_difference_cny,
    )


def exchange_differences(actor, month=None) -> ExchangeReport:
    """The month's payments in a currency other than CNY at the actor's hospital (finance and hospital admins), with
    their exchange gain or loss in CNY, and the totals per currency and in all (audited)."""
    require_role(actor, CASHIERS)
    if not actor.hospital_id:
        raise PermissionDenied()
    first = parse_month(month)
    in_month = {"received_on__gte": first, "received_on__lt": _next_month(first)}
    payments = (
        Payment.objects.filter(hospital_id=actor.hospital_id, **in_month)
        .exclude(currency="CNY")
        .select_related("invoice", "invoice__case")
        .order_by("received_on", "pk")
    )
    rows = [_row(payment) for payment in payments]
    report = _summarise(first, rows)
    record_event(
        actor,
        "billing.exchange_differences",
        None,
        hospital=actor.hospital,
        detail={"month": report.label, "rows": len(rows), "exchange_cny": str(report.exchange_cny)},
    )
    return report


def _summarise(first: datetime.date, rows: list[ExchangeRow]) -> ExchangeReport:
    totals: dict[str, CurrencyTotal] = {}
    for row in rows:
        entry = totals.setdefault(row.currency, CurrencyTotal(row.currency))
        entry.payments += 1
        entry.amount += row.amount
        entry.settled_cny += row.settled_cny
        entry.received_cny += row.received_cny
        entry.exchange_cny += row.exchange_cny
    return ExchangeReport(
        month=first,
        rows=rows,
        by_currency=sorted(totals.values(), key=lambda entry: entry.currency),
        settled_cny=arithmetic.total(row.settled_cny for row in rows),
        received_cny=arithmetic.total(row.received_cny for row in rows),
        exchange_cny=arithmetic.total(row.exchange_cny for row in rows),
    )


# --- CSV ------------------------------------------------------------------------------------------

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value) -> str:
    """A text cell a spreadsheet will not read as a formula: one starting with = + - @, a tab or a carriage return
    gets a leading apostrophe. Amounts are written by `_amount` (digits, a point and a leading minus only)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _amount(value: Decimal | None, places: str = "0.01") -> str:
    return "" if value is None else str(Decimal(value).quantize(Decimal(places)))


CSV_COLUMNS = [
    "received_on",
    "invoice",
    "case",
    "kind",
    "payer",
    "reference",
    "currency",
    "amount",
    "pinned_rate",
    "day_rate",
    "settled_cny",
    "received_cny",
    "exchange_gain_loss_cny",
]


def exchange_differences_csv(actor, month=None) -> str:
    """The month's report as CSV: one row per payment, then one total row per currency and one in all."""
    report = exchange_differences(actor, month)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for row in report.rows:
        texts = [row.received_on.isoformat(), row.invoice, row.case, row.kind, row.payer, row.reference, row.currency]
        writer.writerow(
            [safe_cell(text) for text in texts]
            + [
                _amount(row.amount),
                _amount(row.pinned_rate, "0.00000001"),
                _amount(row.day_rate, "0.00000001"),
                _amount(row.settled_cny),
                _amount(row.received_cny),
                _amount(row.exchange_cny),
            ]
        )
    for entry in report.by_currency:
        label = safe_cell(f"total {entry.currency}")
        writer.writerow(
            [label, "", "", "", "", "", safe_cell(entry.currency), _amount(entry.amount), "", ""]
            + [_amount(entry.settled_cny), _amount(entry.received_cny), _amount(entry.exchange_cny)]
        )
    writer.writerow(
        ["total", "", "", "", "", "", "CNY", "", "", ""]
        + [_amount(report.settled_cny), _amount(report.received_cny), _amount(report.exchange_cny)]
    )
    return out.getvalue()
