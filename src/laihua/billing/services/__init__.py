"""Billing: the invoice of a case, its split between insurer and patient, claims, payments, write-offs.

- Who: finance, coordinators and hospital admins of the case's hospital draft invoices and confirm what
  was delivered; finance and hospital admins issue and cancel, record payments, send claims and approve
  write-offs (never their own). The case's patient sees its issued invoices and payments; an insurer
  agent sees only the claims (and their invoices) of the insurer it works for. Everything is read
  through `visible_invoices` / `visible_claims` and audited.
- Money: Decimal CNY to the fen. The balance is computed from the rows (`balances_of`): total minus
  payments (refunds negative) minus approved write-offs. A case cannot close while an invoice is a
  draft or has a balance (the `case_moved` receiver refuses the move inside its transaction).

By concern:

- `access`: who sees which invoice and claim, the audited reads, who may act;
- `invoices`: drafting from the accepted quote and the bookings, delivered quantities and extras, issuing
  (split, frozen rate, number) and cancelling to correct, the hospital's official receipt;
- `split`: the split between insurer and patient with the reason for each part (`split_of`, shown on a draft and
  stored at issue) and the shortfall finance confirms before issuing;
- `balances`: what is owed, the status that follows the money, and no closing with a balance;
- `payments`: deposits, balances, refunds and remittances, idempotent per hospital (the page's form carries a
  key the server minted), likely duplicates confirmed first;
- `exchange`: the invoice's parts pinned in the patient's currency, what a payment in it settles, its exchange
  gain or loss; `exchange_report`: finance's monthly exchange gains and losses, and its CSV;
- `write_offs`: proposed and approved by two people;
- `claims`: the FHIR Claim to the insurer and its answer, entered or received as a ClaimResponse;
- `receivables`: what is owed by payer and age, and its CSV;
- `receipts`: the hospital's official receipt (fapiao or electronic medical receipt) recorded on a statement;
- `inputs`: reading what the pages and the API send.

The answer an insurer posts at /fhir/ClaimResponse may concern a GOP or a claim: `laihua.billing.flows` hands
each to its domain.
"""

from laihua.billing.services.access import (
    BILLABLE_STATES,
    CASHIERS,
    DRAFTERS,
    READERS,
    InvoiceFrozen,
    InvoiceNotIssued,
    cases_to_bill,
    get_claim,
    get_invoice,
    get_receipt_invoice,
    invoices_of_case,
    is_billing_staff,
    list_invoices,
    may_cash,
    may_draft,
    may_read_receipt,
    payments_shown,
    visible_claims,
    visible_invoices,
)
from laihua.billing.services.balances import (
    InvoiceBalances,
    UnexplainedBalance,
    balances_of,
    refuse_close_with_balance,
    unexplained,
)
from laihua.billing.services.claims import (
    LineAnswer,
    claim_rows,
    enter_claim_response,
    record_claim_response,
    settle_shortfall,
    submit_claim,
)
from laihua.billing.services.exchange import Pinned, pinned_amounts
from laihua.billing.services.exchange_report import (
    ExchangeReport,
    exchange_differences,
    exchange_differences_csv,
)
from laihua.billing.services.exchange_report import parse_month as exchange_month
from laihua.billing.services.inputs import MAX_QUANTITY, MAX_REASON, MAX_REFERENCE
from laihua.billing.services.invoices import (
    MAX_LINES,
    add_extra,
    cancel_invoice,
    confirm_line,
    converted,
    extra_choices,
    invoice_language,
    issue_invoice,
    remove_extra,
    replacement_of,
    start_invoice,
    with_replacement,
)
from laihua.billing.services.payments import (
    IdempotencyMismatch,
    PaymentFormUsed,
    PaymentInput,
    PossibleDuplicate,
    describe,
    form_payment,
    new_payment_form,
    payments_of,
    record_form_payment,
    record_payment,
)
from laihua.billing.services.receipts import record_official_receipt
from laihua.billing.services.receivables import (
    AGE_BUCKETS,
    Receivable,
    Receivables,
    age_bucket,
    receivables,
    receivables_csv,
)
from laihua.billing.services.split import (
    REASONS,
    InsurerShortfall,
    InvoiceSplit,
    SplitChanged,
    line_reasons,
    reason_text,
    split_for_display,
    split_of,
    stored_split,
)
from laihua.billing.services.write_offs import decide_write_off, propose_write_off

__all__ = [
    "with_replacement",
    "split_for_display",
    "stored_split",
    "record_official_receipt",
    "replacement_of",
    "split_of",
    "reason_text",
    "line_reasons",
    "SplitChanged",
    "InvoiceSplit",
    "InsurerShortfall",
    "REASONS",
    "AGE_BUCKETS",
    "BILLABLE_STATES",
    "CASHIERS",
    "DRAFTERS",
    "MAX_LINES",
    "MAX_QUANTITY",
    "MAX_REASON",
    "MAX_REFERENCE",
    "READERS",
    "ExchangeReport",
    "IdempotencyMismatch",
    "InvoiceBalances",
    "InvoiceFrozen",
    "InvoiceNotIssued",
    "LineAnswer",
    "PaymentFormUsed",
    "PaymentInput",
    "Pinned",
    "PossibleDuplicate",
    "Receivable",
    "Receivables",
    "UnexplainedBalance",
    "add_extra",
    "age_bucket",
    "balances_of",
    "cancel_invoice",
    "cases_to_bill",
    "claim_rows",
    "confirm_line",
    "converted",
    "decide_write_off",
    "describe",
    "enter_claim_response",
    "exchange_differences",
    "exchange_differences_csv",
    "exchange_month",
    "extra_choices",
    "form_payment",
    "get_claim",
    "get_invoice",
    "get_receipt_invoice",
    "invoice_language",
    "invoices_of_case",
    "is_billing_staff",
    "issue_invoice",
    "list_invoices",
    "may_cash",
    "may_draft",
    "may_read_receipt",
    "payments_shown",
    "new_payment_form",
    "payments_of",
    "pinned_amounts",
    "propose_write_off",
    "receivables",
    "receivables_csv",
    "record_claim_response",
    "record_form_payment",
    "record_payment",
    "refuse_close_with_balance",
    "remove_extra",
    "settle_shortfall",
    "start_invoice",
    "submit_claim",
    "unexplained",
    "visible_claims",
    "visible_invoices",
]
