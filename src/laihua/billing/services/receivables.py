"""Receivables: what is owed to the hospital on issued invoices, by payer (each insurer, the patients) and by age
since the issue date (0-30, 31-60, 61-90, >90 days), on the page and as CSV."""

import csv
import datetime
import io
from dataclasses import dataclass, field
from decimal import Decimal

from laihua.accounts.permissions import require_role
from laihua.audit.services import record_event
from laihua.billing import arithmetic
from laihua.billing.arithmetic import ZERO
from laihua.billing.models import Invoice, InvoiceStatus
from laihua.billing.services.access import CASHIERS, visible_invoices
from laihua.billing.services.balances import balances_of
from laihua.errors import PermissionDenied
from laihua.kit import clock

AGE_BUCKETS = ((0, 30, "0-30"), (31, 60, "31-60"), (61, 90, "61-90"), (91, None, ">90"))


@dataclass
class Receivable:
    invoice: Invoice
    payer: str  # the insurer's name, or "patient"
    insurer: object | None
    amount: Decimal
    age_days: int
    bucket: str


@dataclass
class Receivables:
    rows: list[Receivable]
    by_payer: list[dict] = field(default_factory=list)
    buckets: list[str] = field(default_factory=list)
    total: Decimal = ZERO


def age_bucket(days: int) -> str:
    for low, high, label in AGE_BUCKETS:
        if days >= low and (high is None or days <= high):
            return label
    return AGE_BUCKETS[0][2]


def receivables(actor, *, on: datetime.date | None = None) -> Receivables:
    """What is owed to the actor's hospital on issued invoices, by payer (each insurer, patients) and by age
    since issue (0-30, 31-60, 61-90, >90 days)."""
    require_role(actor, CASHIERS)
    if not actor.hospital_id:
        raise PermissionDenied()
    on = on or clock.today()
    rows = []
    invoices = visible_invoices(actor).filter(status=InvoiceStatus.ISSUED).order_by("issue_date", "pk")
    for invoice in invoices:
        owed = balances_of(invoice)
        age = (on - invoice.issue_date).days
        if owed.insurer_due:
            rows.append(
                Receivable(invoice, invoice.insurer_name, invoice.insurer, owed.insurer_due, age, age_bucket(age))
            )
        if owed.patient_due:
            rows.append(Receivable(invoice, "patient", None, owed.patient_due, age, age_bucket(age)))
    record_event(actor, "billing.receivables", None, hospital=actor.hospital, detail={"rows": len(rows)})
    return _summarise(rows)


def _summarise(rows: list[Receivable]) -> Receivables:
    buckets = [label for _low, _high, label in AGE_BUCKETS]
    payers: dict[str, dict] = {}
    for row in rows:
        entry = payers.setdefault(row.payer, {"payer": row.payer, "total": ZERO, **dict.fromkeys(buckets, ZERO)})
        entry[row.bucket] += row.amount
        entry["total"] += row.amount
    for entry in payers.values():
        entry["cells"] = [entry[label] for label in buckets]
    by_payer = sorted(payers.values(), key=lambda entry: (entry["payer"] == "patient", entry["payer"]))
    return Receivables(rows, by_payer, buckets, arithmetic.total(row.amount for row in rows))


def receivables_csv(actor, *, on: datetime.date | None = None) -> str:
    """The receivables, one row per invoice and payer, with the hospital's official receipt, as CSV (a cancelled
    invoice owes nothing and is never listed)."""
    result = receivables(actor, on=on)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "invoice",
            "case",
            "issue_date",
            "payer",
            "amount_cny",
            "age_days",
            "age_bucket",
            "official_receipt_kind",
            "official_receipt_number",
            "official_receipt_date",
        ]
    )
    for row in result.rows:
        receipt_date = row.invoice.official_receipt_date
        writer.writerow(
            [
                row.invoice.number,
                row.invoice.case.reference,
                row.invoice.issue_date.isoformat(),
                row.payer,
                f"{row.amount:.2f}",
                row.age_days,
                row.bucket,
                row.invoice.official_receipt_kind,
                row.invoice.official_receipt_number,
                receipt_date.isoformat() if receipt_date else "",
            ]
        )
    return out.getvalue()
