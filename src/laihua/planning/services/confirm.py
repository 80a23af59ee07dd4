"""Confirming a trip books every service through capacity.book_service inside one transaction: when
any place was taken meanwhile, nothing is booked, the planner plans again from the same inputs and the
coordinator is told (PlaceTaken, carrying the new itinerary)."""

import datetime

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from laihua.audit.services import record_event
from laihua.capacity.models import Booking, BookingStatus
from laihua.capacity.services import QuotaFull, book_service, cancel_booking, offer_places
from laihua.cases.models import Case
from laihua.cases.notices import notify_patient
from laihua.cases.services import add_event, move, require_case_staff, timeline_note
from laihua.cases.states import State
from laihua.errors import Conflict
from laihua.kit import clock
from laihua.planning.models import ItemKind, Itinerary, ItineraryItem, ItineraryStatus
from laihua.planning.services.interpreters import rebalance, take_interpreters
from laihua.planning.services.planner import plan_case
from laihua.planning.services.problem import _trip_requests
from laihua.planning.services.scope import PLANNABLE_STATES, PLANNERS


class PlaceTaken(Conflict):
    code = "place_taken"
    default_message = gettext_lazy("A place was taken meanwhile: nothing was booked and the trip was planned again.")

    def __init__(self, message=None, *, itinerary=None, **kwargs):
        super().__init__(message, **kwargs)
        self.itinerary = itinerary


def _inputs_of(itinerary: Itinerary) -> dict:
    return {
        "earliest_arrival": itinerary.earliest_arrival.isoformat(),
        "latest_departure": itinerary.latest_departure.isoformat() if itinerary.latest_departure else "",
        "route": itinerary.route,
        "stay_limit": itinerary.stay_limit,
        "visits_per_day": itinerary.visits_per_day,
        "rest_weekdays": list(itinerary.rest_weekdays),
        "rest_days": list(itinerary.rest_days),
        "orders": list(itinerary.orders),
    }


def confirm_itinerary(actor, itinerary: Itinerary) -> Itinerary:
    """Book every service of the itinerary, all or nothing; a place taken meanwhile re-plans (PlaceTaken)."""
    case = itinerary.case
    require_case_staff(actor, case, PLANNERS)
    if itinerary.status != ItineraryStatus.DRAFT or not itinerary.feasible:
        raise Conflict(_("Only a planned itinerary that fits can be confirmed."), field="itinerary")
    if case.state not in PLANNABLE_STATES:
        raise Conflict(_("Only an accepted or scheduled case can be planned."), field="case")
    if itinerary.arrival is None or itinerary.arrival < clock.today():
        raise Conflict(_("This itinerary starts in the past; plan again."), field="itinerary")
    visits = list(itinerary.items.filter(kind=ItemKind.VISIT).select_related("item").order_by("day", "starts_at"))
    try:
        with transaction.atomic():
            # The case as it is now, locked: its state decides the move below.
            case.state = Case.objects.select_for_update().values_list("state", flat=True).get(pk=case.pk)
            itinerary.refresh_from_db()
            if itinerary.status != ItineraryStatus.DRAFT:
                raise Conflict(_("Only a planned itinerary that fits can be confirmed."), field="itinerary")
            if case.state not in PLANNABLE_STATES:
                raise Conflict(_("Only an accepted or scheduled case can be planned."), field="case")
            # A service booked for the case outside the trip (by hand, from the waitlist) would be booked twice.
            outside = (
                Booking.objects.filter(
                    case=case, status=BookingStatus.BOOKED, item_id__in={row.item_id for row in visits}
                )
                .exclude(request_id__in=_trip_requests(case))
                .select_related("item")
                .order_by("day")
                .first()
            )
            if outside is not None:
                raise Conflict(
                    _(
                        "%(service)s is already booked for this case outside the trip (from %(day)s): cancel "
                        "that booking first, or it would be booked twice."
                    )
                    % {"service": outside.item.code, "day": outside.day.isoformat()},
                    field="itinerary",
                )
            # The confirmed plan this one replaces gives its places back first: to this trip, which the
            # planner let use them, and only what it leaves to the waitlist, once it is booked.
            replaced = list(Itinerary.objects.filter(case=case, status=ItineraryStatus.ACTIVE))
            freed = set()
            for old in replaced:
                for row in old.items.filter(booking_request__isnull=False).select_related("booking_request"):
                    booking = Booking.objects.filter(request=row.booking_request, status=BookingStatus.BOOKED).first()
                    if booking is not None:
                        cancelled = cancel_booking(actor, booking, serve_waitlist=False)
                        freed |= {(b.resource_id, b.day) for b in cancelled}
                old.status = ItineraryStatus.REVOKED
                old.save(update_fields=["status", "updated_at"])
            for row in visits:
                if not row.item.usages.exists():
                    continue  # nothing to book (no resource is counted for it)
                bookings = book_service(
                    actor,
                    case,
                    row.item,
                    row.day,
                    idempotency_key=f"itinerary-{itinerary.pk}-{row.pk}",
                    internal=True,
                    nights=row.nights,  # a pathway's procedure: the quote's nights, never the usage's days
                )
                row.booking_request_id = bookings[0].request_id if bookings else None
                row.save(update_fields=["booking_request"])
            take_interpreters(itinerary)  # interpreters: no one taken for another patient meanwhile
            if replaced:  # the interpreters the replaced trip named are free: the hospital's pass over its days
                rebalance(
                    actor,
                    case.hospital_id,
                    ItineraryItem.objects.filter(itinerary__in=replaced, kind=ItemKind.VISIT)
                    .exclude(interpreter_language="")
                    .values_list("day", flat=True),
                )
            offer_places(actor, case.hospital_id, freed)
            itinerary.status = ItineraryStatus.ACTIVE
            itinerary.confirmed_at = clock.now()
            itinerary.save(update_fields=["status", "confirmed_at", "updated_at"])
            if case.state == State.ACCEPTED:
                move(actor, case, State.SCHEDULED, note=_("Trip confirmed and booked."))
            record_event(actor, "planning.confirm", case, hospital=case.hospital, detail={"itinerary": itinerary.pk})
            add_event(
                case,
                actor,
                "trip_confirmed",
                note=timeline_note(
                    gettext_noop("Your trip is booked: arrival %(arrival)s, departure %(departure)s."),
                    arrival=itinerary.arrival.isoformat(),
                    departure=itinerary.departure.isoformat(),
                ),
            )
            site = settings.SITE_URL.rstrip("/")
            transaction.on_commit(
                lambda: notify_patient(case, "trip_booked", itinerary=itinerary, changed=bool(replaced), site=site)
            )
    except QuotaFull as exc:
        record_event(
            actor,
            "planning.confirm_failed",
            case,
            hospital=case.hospital,
            detail={"itinerary": itinerary.pk, "detail": str(exc.message)},
        )
        inputs = _inputs_of(itinerary)
        tomorrow = clock.today() + datetime.timedelta(days=1)
        inputs["earliest_arrival"] = max(itinerary.earliest_arrival, tomorrow).isoformat()
        if itinerary.latest_departure is not None and itinerary.latest_departure <= tomorrow:
            inputs["latest_departure"] = ""  # the window has passed: plan with no latest departure
        replanned = plan_case(actor, case, inputs, note=_("Planned again: a place was taken."))
        raise PlaceTaken(
            _("%(why)s Nothing was booked; the trip was planned again.") % {"why": exc.message},
            itinerary=replanned,
        ) from None
    return itinerary
