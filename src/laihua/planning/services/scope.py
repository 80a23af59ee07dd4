"""Who sees which itineraries: the one path to them, and the plan to show for a case."""

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext as _

from laihua.accounts.models import Role
from laihua.audit.services import record_event
from laihua.cases.models import Case
from laihua.cases.services import require_case_party
from laihua.cases.states import State
from laihua.errors import NotFound
from laihua.planning.models import Itinerary, ItineraryStatus

PLANNERS = (Role.COORDINATOR, Role.HOSPITAL_ADMIN)
PLANNABLE_STATES = (State.ACCEPTED, State.SCHEDULED)


def visible_itineraries(actor) -> QuerySet[Itinerary]:
    """The one path to itineraries: staff see their hospital's, a patient the plans shown on their cases."""
    rows = Itinerary.objects.select_related("case", "case__hospital", "case__patient")
    if actor is None or not actor.is_authenticated:
        return rows.none()
    if actor.role == Role.PATIENT:
        # A re-plan waiting for the coordinator's confirmation stays with the desk while a trip is booked.
        booked = Itinerary.objects.filter(case=OuterRef("case"), status=ItineraryStatus.ACTIVE)
        return (
            rows.filter(case__patient__user=actor, feasible=True)
            .exclude(status=ItineraryStatus.REVOKED)
            .exclude(Q(status=ItineraryStatus.DRAFT) & Exists(booked))
        )
    if actor.role in PLANNERS + (Role.CLINICIAN, Role.FINANCE) and actor.hospital_id:
        return rows.filter(case__hospital_id=actor.hospital_id)
    return rows.none()


def get_itinerary(actor, pk: int, *, audit: str | None = "planning.itinerary.view") -> Itinerary:
    """An itinerary the actor may see (NotFound for anyone else, never a hint it exists)."""
    itinerary = visible_itineraries(actor).filter(pk=pk).first()
    if itinerary is None:
        raise NotFound(_("No such itinerary."))
    if audit:
        record_event(actor, audit, itinerary.case, hospital=itinerary.case.hospital, detail={"itinerary": pk})
    return itinerary


def booked_itinerary(actor, case: Case) -> Itinerary | None:
    """The case's confirmed (booked) trip, if any; the read is audited."""
    require_case_party(actor, case)
    itinerary = visible_itineraries(actor).filter(case=case, status=ItineraryStatus.ACTIVE).first()
    if itinerary is not None:
        record_event(actor, "planning.itinerary.view", case, hospital=case.hospital, detail={"itinerary": itinerary.pk})
    return itinerary


def current_itinerary(actor, case: Case, *, audit: bool = True) -> Itinerary | None:
    """The plan to show for the case: the latest one not replaced (for a patient, only one that fits, and
    the confirmed trip while a new plan waits for the coordinator's confirmation)."""
    require_case_party(actor, case)
    shown = visible_itineraries(actor).filter(case=case).exclude(status=ItineraryStatus.REVOKED)
    confirmed = shown.filter(status=ItineraryStatus.ACTIVE).first() if actor.role == Role.PATIENT else None
    itinerary = confirmed or shown.first()
    if itinerary is not None and audit:
        record_event(actor, "planning.itinerary.view", case, hospital=case.hospital, detail={"itinerary": itinerary.pk})
    return itinerary
