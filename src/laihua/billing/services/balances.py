"""What is owed on an invoice, computed from its rows every time (never stored), the status that follows the
money, and the rule that a case cannot close while an invoice is a draft or has a balance."""

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Sum
from django.utils.translation import gettext as _

from laihua.billing import arithmetic
from laihua.billing.arithmetic import ZERO, to_fen
from laihua.billing.models import (
    OPEN_STATUSES,
    ClaimResponse,
    Invoice,
    InvoiceStatus,
    Payer,
    PaymentKind,
    WriteOffStatus,
)
from laihua.cases.models import Case
from laihua.cases.states import State
from laihua.errors import Conflict


class UnexplainedBalance(Conflict):
    code = "unexplained_balance"


@dataclass
class InvoiceBalances:
    total: Decimal
    insurer_part: Decimal
    patient_part: Decimal
    moved_to_patient: Decimal
    patient_paid: Decimal
    insurer_paid: Decimal
    patient_written_off: Decimal
    insurer_written_off: Decimal
    pending_write_offs: Decimal
    insurer_due: Decimal
    patient_due: Decimal
    balance: Decimal
    # Exchange gains (losses negative) on payments in the pinned currency: paid (as received) less these settles.
    patient_exchange: Decimal = ZERO
    insurer_exchange: Decimal = ZERO
    exchange: Decimal = ZERO


def sum_cny(queryset, column: str = "amount_cny") -> Decimal:
    return to_fen(queryset.aggregate(total=Sum(column))["total"] or ZERO)


def balances_of(invoice: Invoice) -> InvoiceBalances:
    """Everything owed on the invoice, computed from its rows. A cancelled invoice (or one entered in error) owes
    nothing: its replacement carries the charges, the payments and the write-offs."""
    if invoice.is_void:
        return InvoiceBalances(**dict.fromkeys(InvoiceBalances.__dataclass_fields__, ZERO))
    payments = invoice.payments.all()
    patient_paid = sum_cny(payments.filter(payer=Payer.PATIENT).exclude(kind=PaymentKind.REFUND)) - sum_cny(
        payments.filter(kind=PaymentKind.REFUND)
    )
    insurer_paid = sum_cny(payments.filter(payer=Payer.INSURER))
    approved = invoice.write_offs.filter(status=WriteOffStatus.APPROVED)
    amounts = {
        "insurer_part": invoice.insurer_cny,
        "patient_part": invoice.patient_cny,
        "moved_to_patient": sum_cny(ClaimResponse.objects.filter(claim__invoice=invoice), "moved_to_patient_cny"),
        "patient_paid": patient_paid,
        "insurer_paid": insurer_paid,
        "patient_written_off": sum_cny(approved.filter(part=Payer.PATIENT)),
        "insurer_written_off": sum_cny(approved.filter(part=Payer.INSURER)),
        "patient_exchange": sum_cny(payments.filter(payer=Payer.PATIENT), "exchange_difference_cny"),
        "insurer_exchange": sum_cny(payments.filter(payer=Payer.INSURER), "exchange_difference_cny"),
    }
    result = arithmetic.balances(**amounts)
    return InvoiceBalances(
        **amounts,
        exchange=result.exchange,
        total=result.total,
        pending_write_offs=sum_cny(invoice.write_offs.filter(status=WriteOffStatus.PROPOSED)),
        insurer_due=result.insurer_due,
        patient_due=result.patient_due,
        balance=result.balance,
    )


def settle_status(invoice: Invoice) -> None:
    """An issued invoice with nothing owed is balanced; one owed again (a refund, a reopened part) is issued."""
    if invoice.status not in (InvoiceStatus.ISSUED, InvoiceStatus.BALANCED):
        return
    owed = balances_of(invoice)
    status = InvoiceStatus.BALANCED if owed.insurer_due == 0 and owed.patient_due == 0 else InvoiceStatus.ISSUED
    if status != invoice.status:
        invoice.status = status
        invoice.save(update_fields=["status", "updated_at"])


# --- the case cannot close with an unexplained balance ----------------------------------------------


def unexplained(case: Case) -> list[str]:
    """Why the case cannot close yet: each draft invoice, and each issued one with something owed."""
    problems = []
    for invoice in case.invoices.filter(status__in=OPEN_STATUSES).order_by("pk"):
        if invoice.is_draft:
            problems.append(_("the statement is still a draft"))
            continue
        owed = balances_of(invoice)
        if owed.balance or owed.insurer_due or owed.patient_due:
            problems.append(
                _("statement %(number)s has a balance of %(amount)s CNY")
                % {"number": invoice.number, "amount": f"{owed.balance:,.2f}"}
            )
    return problems


def refuse_close_with_balance(sender, *, case: Case, to: str, **kwargs) -> None:
    """Receiver of cases.signals.case_moved (sent inside move's transaction): raising undoes the move."""
    if to != State.CLOSED:
        return
    problems = unexplained(case)
    if problems:
        raise UnexplainedBalance(
            _("The case cannot close: %(problems)s. Record the payments or approve a write-off first.")
            % {"problems": "; ".join(problems)},
            field="state",
        )
