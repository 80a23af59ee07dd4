"""Who sees which records: the roles, the access check of a case's records, and the scoping queries."""

from django.db.models import QuerySet

from laihua.accounts.models import Role
from laihua.cases.models import Case
from laihua.cases.services import require_case_party, require_case_staff, visible_cases
from laihua.records.models import (
    Consent,
    ConsentUse,
    IpsDocument,
    ItemKind,
)

RECORD_STAFF = (Role.HOSPITAL_ADMIN, Role.COORDINATOR, Role.CLINICIAN)
SENDERS = (Role.COORDINATOR, Role.CLINICIAN)
KIND_ORDER = [k for k, _label in ItemKind.choices]


def require_records_access(actor, case: Case) -> None:
    """The case's patient (else NotFound) or a coordinator, clinician or admin of its hospital."""
    require_case_party(actor, case)
    if actor.role != Role.PATIENT:
        require_case_staff(actor, case, RECORD_STAFF)


def visible_documents(actor) -> QuerySet[IpsDocument]:
    """The documents on cases the actor may see (the one scoping query of this domain)."""
    if actor is None or not actor.is_authenticated:
        return IpsDocument.objects.none()
    if actor.role not in (Role.PATIENT, *RECORD_STAFF):
        return IpsDocument.objects.none()
    return IpsDocument.objects.filter(case__in=visible_cases(actor)).select_related("case", "patient")


def visible_consents(actor) -> QuerySet[Consent]:
    """Consents on cases the actor may see: the patient and the records staff every one; finance only the payment
    consents (the insurer's, which a claim needs), never a consent to send records; nobody else any (docs/roles.md)."""
    if actor is None or not actor.is_authenticated:
        return Consent.objects.none()
    consents = Consent.objects.filter(case__in=visible_cases(actor)).select_related("case", "patient")
    if actor.role in (Role.PATIENT, *RECORD_STAFF):
        return consents
    if actor.role == Role.FINANCE:
        return consents.filter(use=ConsentUse.PAYMENT)
    return Consent.objects.none()
