"""Who sees which invoice and claim, and who may act on which: the scoping queries every read goes through
(`visible_invoices`, `visible_claims`), the audited reads, the row lock and the refusals every action shares."""

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from laihua.accounts.models import Role
from laihua.accounts.permissions import require_hospital_staff, require_role
from laihua.audit.services import record_event
from laihua.billing import coverage
from laihua.billing.models import OPEN_STATUSES, Claim, Invoice, InvoiceStatus, Payer, Payment
from laihua.cases.models import Case
from laihua.cases.services import get_case, visible_cases
from laihua.cases.states import State
from laihua.errors import Conflict, InvalidInput, NotFound, PermissionDenied

DRAFTERS = (Role.FINANCE, Role.COORDINATOR, Role.HOSPITAL_ADMIN)
READERS = DRAFTERS
CASHIERS = (Role.FINANCE, Role.HOSPITAL_ADMIN)  # issue, cancel, payments, claims, write-off decisions
# The receipt of the patient's payments is the patient's and the hospital billing staff's: an insurer agent reads the
# statement its claim rests on (the itemised bill), never the patient's own payments (docs/roles.md).
RECEIPT_READERS = (Role.PATIENT, *READERS)
BILLABLE_STATES = (State.ARRIVED, State.IN_TREATMENT, State.DISCHARGED, State.FOLLOW_UP)


class InvoiceFrozen(Conflict):
    code = "invoice_frozen"
    default_message = gettext_lazy("This statement is issued and can no longer change: cancel it to correct it.")


class InvoiceNotIssued(Conflict):
    code = "invoice_not_issued"
    default_message = gettext_lazy("Issue the statement first.")


def is_reader(actor) -> bool:
    return actor is not None and actor.is_authenticated and actor.role in READERS and bool(actor.hospital_id)


def visible_invoices(actor) -> QuerySet[Invoice]:
    """THE scoping query: staff (finance, coordinator, admin) their hospital's invoices; a patient the issued
    invoices of their own cases; an insurer agent the invoices its insurer was sent a claim for."""
    invoices = Invoice.objects.select_related("case", "case__patient", "hospital", "insurer")
    if actor is None or not actor.is_authenticated:
        return invoices.none()
    if actor.role == Role.PATIENT:
        return invoices.filter(case__in=visible_cases(actor)).exclude(status=InvoiceStatus.DRAFT)
    if is_reader(actor):
        return invoices.filter(hospital_id=actor.hospital_id)
    if actor.role == Role.INSURER_AGENT:
        insurer = coverage.insurer_of(actor)
        if insurer is None:
            return invoices.none()
        return invoices.filter(insurer=insurer, claims__isnull=False).distinct()
    return invoices.none()


def visible_claims(actor) -> QuerySet[Claim]:
    """Claims: hospital staff of the hospital's readers, an insurer agent only its own insurer's, nobody else."""
    claims = Claim.objects.select_related("invoice", "invoice__case", "hospital", "insurer")
    if actor is None or not actor.is_authenticated:
        return claims.none()
    if is_reader(actor):
        return claims.filter(hospital_id=actor.hospital_id)
    if actor.role == Role.INSURER_AGENT:
        insurer = coverage.insurer_of(actor)
        return claims.filter(insurer=insurer) if insurer is not None else claims.none()
    if actor.role == Role.PATIENT:
        return claims.filter(invoice__case__in=visible_cases(actor))
    return claims.none()


def audit_invoice(actor, action: str, invoice: Invoice, /, **detail) -> None:
    record_event(actor, action, invoice, hospital=invoice.hospital, detail={"case": invoice.case.reference, **detail})


def by_id(rows: QuerySet, pk, message: str):
    """The row with this id among `rows`, else NotFound with the message (a malformed id is not found either)."""
    try:
        found = rows.filter(pk=int(pk)).first()
    except (TypeError, ValueError):
        found = None
    if found is None:
        raise NotFound(message)
    return found


def get_invoice(actor, pk, *, audit: str | None = "invoice.view") -> Invoice:
    """An invoice the actor may see (else NotFound: never a hint that it exists)."""
    require_role(actor, Role.values)
    invoice = by_id(visible_invoices(actor), pk, _("No such statement."))
    if audit:
        audit_invoice(actor, audit, invoice, status=invoice.status)
    return invoice


def get_claim(actor, pk, *, audit: str | None = "claim.view") -> Claim:
    """A claim the actor may see (else NotFound)."""
    require_role(actor, Role.values)
    claim = by_id(visible_claims(actor), pk, _("No such claim."))
    if audit:
        audit_invoice(actor, audit, claim.invoice, claim=claim.number)
    return claim


def may_read_receipt(actor) -> bool:
    """Whether the actor's role reads the receipt of the patient's payments (and the payments themselves)."""
    return actor is not None and actor.is_authenticated and actor.role in RECEIPT_READERS


def get_receipt_invoice(actor, pk) -> Invoice:
    """The invoice whose receipt of the patient's payments the actor downloads (audited as invoice.receipt): the
    patient and the hospital's billing staff. Who may not see the invoice gets NotFound; an insurer agent, who reads
    the statement of its claim, gets PermissionDenied."""
    invoice = get_invoice(actor, pk, audit=None)
    if not may_read_receipt(actor):
        raise PermissionDenied(_("The receipt of the patient's payments is for the patient and the hospital."))
    audit_invoice(actor, "invoice.receipt", invoice, status=invoice.status)
    return invoice


def payments_shown(actor, invoice: Invoice) -> QuerySet[Payment]:
    """The invoice's payments the actor reads: all of them for the patient and billing staff, only the insurer's
    own remittances for an insurer agent (the patient's payments are on the receipt, not for the insurer)."""
    payments = invoice.payments.order_by("received_on", "pk")
    return payments if may_read_receipt(actor) else payments.filter(payer=Payer.INSURER)


def invoices_of_case(actor, case: Case) -> list[Invoice]:
    return list(visible_invoices(actor).filter(case=case).order_by("-created_at", "-pk"))


def list_invoices(actor, *, case: str | None = None, status: str | None = None) -> QuerySet[Invoice]:
    """The invoices the actor may see, of one case or in one status (audited)."""
    require_role(actor, Role.values)
    invoices = visible_invoices(actor)
    if case:
        invoices = invoices.filter(case=get_case(actor, case, audit=None))
    if status:
        if status not in InvoiceStatus.values:
            raise InvalidInput(_("Unknown status “%(status)s”.") % {"status": status}, field="status")
        invoices = invoices.filter(status=status)
    record_event(actor, "invoice.list", None, hospital=getattr(actor, "hospital", None), detail={"case": case or ""})
    return invoices.order_by("-created_at", "-pk")


def may_draft(actor, invoice_or_case) -> bool:
    hospital_id = invoice_or_case.hospital_id
    return is_reader(actor) and actor.hospital_id == hospital_id


def may_cash(actor, invoice: Invoice) -> bool:
    return may_draft(actor, invoice) and actor.role in CASHIERS


def lock_invoice(invoice: Invoice) -> Invoice:
    locked = Invoice.objects.select_for_update(of=("self",)).select_related("case", "hospital").get(pk=invoice.pk)
    return locked


def require_staff(actor, invoice_or_case, roles) -> None:
    require_hospital_staff(actor, invoice_or_case.hospital, roles)


def require_draft(actor, invoice: Invoice, roles=DRAFTERS) -> Invoice:
    require_staff(actor, invoice, roles)
    invoice = lock_invoice(invoice)
    if invoice.status != InvoiceStatus.DRAFT:
        raise InvoiceFrozen()
    return invoice


def is_billing_staff(actor) -> bool:
    """Finance, coordinators and hospital admins of a hospital (the invoice list, the drafting buttons)."""
    return is_reader(actor)


def cases_to_bill(actor) -> list[Case]:
    """The hospital's cases past arrival with no invoice in force (finance's to-do list)."""
    if not is_reader(actor):
        return []
    cases = visible_cases(actor).filter(state__in=BILLABLE_STATES).exclude(invoices__status__in=OPEN_STATUSES)
    return list(cases.order_by("state_changed_at")[:50])
