"""Who sees what in insurance: `visible_guarantees(actor)` is the one scoping query for GOPs and `may_see_case`
for a case seen through insurance. An insurer agent sees only the cases and GOPs of their own insurer's members
(never another insurer's: NotFound); hospital staff their own hospital's; a patient their own cases'. Every read
of a GOP is audited."""

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from laihua.accounts.models import Role
from laihua.accounts.permissions import STAFF_ROLES, require_role
from laihua.audit.services import record_event
from laihua.cases.models import Case
from laihua.cases.services import visible_cases
from laihua.errors import InvalidInput, NotFound
from laihua.insurance.models import OPEN_STATUSES, Coverage, Guarantee, GuaranteeStatus, Insurer, InsurerAgent


def insurer_of(actor) -> Insurer | None:
    """The insurer an insurer agent works for (None for anyone else, or an agent not linked yet)."""
    if actor is None or not actor.is_authenticated or actor.role != Role.INSURER_AGENT:
        return None
    link = InsurerAgent.objects.select_related("insurer").filter(user=actor, insurer__active=True).first()
    return link.insurer if link else None


def visible_cases_for_insurer(actor) -> QuerySet[Case]:
    """The cases an insurer agent may see: those whose coverage is with their insurer."""
    insurer = insurer_of(actor)
    if insurer is None:
        return Case.objects.none()
    return Case.objects.select_related("patient", "hospital").filter(coverage__insurer=insurer)


def may_see_case(actor, case: Case) -> bool:
    """A patient their own case, hospital staff their hospital's, an insurer agent their members'."""
    if actor is None or not actor.is_authenticated:
        return False
    if actor.role == Role.INSURER_AGENT:
        insurer = insurer_of(actor)
        return insurer is not None and Coverage.objects.filter(case=case, insurer=insurer).exists()
    return visible_cases(actor).filter(pk=case.pk).exists()


def visible_guarantees(actor) -> QuerySet[Guarantee]:
    """The GOPs the actor may see (the one scoping query): insurer agents their insurer's only, hospital
    staff their hospital's, patients their own cases' (not drafts), everybody else none."""
    gops = Guarantee.objects.select_related("case", "case__patient", "hospital", "insurer", "coverage", "quote")
    if actor is None or not actor.is_authenticated:
        return gops.none()
    if actor.role == Role.INSURER_AGENT:
        insurer = insurer_of(actor)
        if insurer is None:
            return gops.none()
        return gops.filter(insurer=insurer).exclude(status=GuaranteeStatus.DRAFT)
    if actor.role in STAFF_ROLES and actor.hospital_id:
        return gops.filter(hospital_id=actor.hospital_id)
    if actor.role == Role.PATIENT:
        return gops.filter(case__patient__user=actor).exclude(status=GuaranteeStatus.DRAFT)
    return gops.none()


def audit_guarantee(actor, action: str, gop: Guarantee, /, **detail) -> None:
    record_event(
        actor, action, gop, hospital=gop.hospital, detail={"case": gop.case.reference, "gop": gop.number, **detail}
    )


def get_guarantee(actor, number: str, *, audit: str | None = "insurance.gop.view") -> Guarantee:
    """A GOP the actor may see, by number (else NotFound: never a hint that it exists)."""
    require_role(actor, Role.values)
    gop = visible_guarantees(actor).filter(number=number or "").first()
    if gop is None:
        raise NotFound(_("No such guarantee request."))
    if audit:
        audit_guarantee(actor, audit, gop, status=gop.status)
    return gop


def guarantees_of_case(actor, case: Case) -> list[Guarantee]:
    """The case's GOPs the actor may see, newest first."""
    return list(visible_guarantees(actor).filter(case=case).order_by("-created_at"))


def list_guarantees(actor, *, status: str | None = None, case: str | None = None) -> QuerySet[Guarantee]:
    """The GOPs the actor sees, optionally of one status (or "open") or one case, newest first."""
    require_role(actor, Role.values)
    gops = visible_guarantees(actor)
    if status == "open":
        gops = gops.filter(status__in=OPEN_STATUSES)
    elif status:
        if status not in GuaranteeStatus.values:
            raise InvalidInput(_("Unknown status."), field="status")
        gops = gops.filter(status=status)
    if case:
        gops = gops.filter(case__reference=case)
    record_event(actor, "insurance.gop.list", None, detail={"status": status or "", "case": case or ""})
    return gops.order_by("-created_at")


# FHIR Claim search statuses (GET /fhir/Claim?status=...) and the GOP statuses each covers.
FHIR_SEARCH_STATUSES = {
    "active": (*OPEN_STATUSES, GuaranteeStatus.APPROVED, GuaranteeStatus.PARTIAL, GuaranteeStatus.DENIED),
    "pending": tuple(OPEN_STATUSES),
    "cancelled": (GuaranteeStatus.CANCELLED,),
}


def search_claims(actor, status: str = "active", *, limit: int = 200) -> list[Guarantee]:
    """The GOP requests a FHIR Claim search returns (status active, pending, cancelled or all), audited."""
    require_role(actor, Role.values)
    gops = visible_guarantees(actor)
    if status != "all":
        if status not in FHIR_SEARCH_STATUSES:
            raise InvalidInput(_("status must be active, pending, cancelled or all."), field="status")
        gops = gops.filter(status__in=FHIR_SEARCH_STATUSES[status])
    found = list(gops.order_by("-created_at")[:limit])
    record_event(actor, "insurance.gop.search", None, detail={"status": status, "gops": [g.number for g in found]})
    return found


def insurer_case(actor, reference: str) -> Case:
    """A case an insurer agent may see (their member's), audited; NotFound otherwise."""
    require_role(actor, (Role.INSURER_AGENT,))
    case = visible_cases_for_insurer(actor).filter(reference=reference).first()
    if case is None:
        raise NotFound(_("No such case."))
    record_event(actor, "insurance.case.view", case, hospital=case.hospital)
    return case
