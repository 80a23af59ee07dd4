"""Who sees which quote, who may build one, and the locks every change takes.

Every quote is read through `visible_quotes`, which scopes by `visible_cases` (a patient never sees a
draft). Each use case locks the case row, then the quote row (`lock_quote`), so that two acceptances of
one quote (or an acceptance and a revision) run one after the other; the second sees the first's result."""

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from laihua.accounts.models import Role
from laihua.accounts.permissions import require_role
from laihua.audit.services import record_event
from laihua.cases.models import Case
from laihua.cases.services import get_case, require_case_staff, visible_cases
from laihua.cases.states import DESK, State
from laihua.errors import InvalidInput, NotFound
from laihua.quotes.models import Quote, Status
from laihua.quotes.services.errors import CaseNotQuotable, QuoteFrozen

BUILDERS = DESK  # coordinators and hospital admins of the case's hospital
QUOTABLE_STATES = (State.TRIAGE, State.QUOTED, State.EXPIRED)


def visible_quotes(actor) -> QuerySet[Quote]:
    """The quotes of the cases the actor sees; a patient never sees a draft."""
    quotes = Quote.objects.filter(case_id__in=visible_cases(actor).values("pk")).select_related(
        "case", "case__patient", "case__hospital", "created_by", "previous"
    )
    if actor is not None and actor.is_authenticated and actor.role == Role.PATIENT:
        quotes = quotes.exclude(status=Status.DRAFT)
    return quotes


def audit_quote(actor, action: str, quote: Quote, /, **detail) -> None:
    record_event(actor, action, quote, hospital=quote.case.hospital, detail={"case": quote.case.reference, **detail})


def get_quote(actor, *, pk: int | None = None, number: str | None = None, audit: str | None = "quote.view") -> Quote:
    """A quote the actor may see, by id or number (else NotFound: never a hint that it exists)."""
    require_role(actor, Role.values)
    quotes = visible_quotes(actor)
    quote = quotes.filter(pk=pk).first() if pk is not None else quotes.filter(number=number or "").first()
    if quote is None:
        raise NotFound(_("No such quote."))
    if audit:
        audit_quote(actor, audit, quote, status=quote.status)
    return quote


def quotes_of_case(actor, case: Case) -> list[Quote]:
    """The case's quotes the actor may see, newest revision first (shown within the audited case page)."""
    return list(visible_quotes(actor).filter(case=case).order_by("-revision"))


def list_quotes(actor, *, case: str | None = None, status: str | None = None) -> QuerySet[Quote]:
    """The quotes the actor may see, optionally of one case (by reference) or in one status (audited)."""
    require_role(actor, Role.values)
    quotes = visible_quotes(actor)
    if case:
        quotes = quotes.filter(case=get_case(actor, case, audit=None))
    if status:
        if status not in Status.values:
            raise InvalidInput(_("Unknown status “%(status)s”.") % {"status": status}, field="status")
        quotes = quotes.filter(status=status)
    quotes = quotes.order_by("-created_at", "-pk")
    record_event(
        actor,
        "quote.list",
        None,
        hospital=getattr(actor, "hospital", None),
        detail={"case": case or "", "status": status or "", "count": quotes.count()},
    )
    return quotes


def may_build(actor, case: Case) -> bool:
    """Whether the actor may prepare quotes for this case (buttons on the pages)."""
    return (
        actor is not None
        and actor.is_authenticated
        and actor.role in BUILDERS
        and actor.hospital_id == case.hospital_id
    )


def lock_quote(quote: Quote) -> tuple[Case, Quote]:
    """Lock the case row, then the quote row (always in this order), and read both afresh."""
    case = (
        Case.objects.select_for_update(of=("self",))
        .select_related("patient", "patient__user", "hospital")
        .get(pk=quote.case_id)
    )
    quote = Quote.objects.select_for_update().get(pk=quote.pk)
    quote.case = case
    return case, quote


def require_draft(actor, quote: Quote) -> tuple[Case, Quote]:
    require_case_staff(actor, quote.case, BUILDERS)
    case, quote = lock_quote(quote)
    if quote.status != Status.DRAFT:
        raise QuoteFrozen()
    return case, quote


def require_quotable(case: Case) -> None:
    if case.state not in QUOTABLE_STATES:
        raise CaseNotQuotable(
            _("A quote can be prepared while the case is in triage, quoted or expired; this case is “%(state)s”.")
            % {"state": State(case.state).label},
            field="case",
        )
