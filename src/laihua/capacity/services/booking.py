"""Booking a service within the international quota, all or nothing and idempotent; reading and
cancelling bookings; the nearest start days with room when a day is full."""

import datetime

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from laihua.accounts.permissions import require_role
from laihua.audit.services import record_event
from laihua.capacity.models import Booking, BookingRequest, BookingStatus, IntlUsage
from laihua.capacity.services.quota import (
    BOOKABLE_STATES,
    BOOKERS,
    READERS,
    Capacities,
    QuotaFull,
    _check_start_day,
    _counter_keys,
    _fits,
    _Full,
    _month_totals,
    _shift,
    _take,
    last_bookable_day,
    month_start,
    plan_for,
)
from laihua.capacity.services.waitlist import _lock_with_waitlist, _withdraw_waiting, offer_freed_places
from laihua.capacity.signals import bookings_changed
from laihua.cases.models import Case
from laihua.cases.services import add_event, require_case_staff, timeline_note
from laihua.errors import Conflict, DomainError, InvalidInput, NotFound
from laihua.kit import clock

SEARCH_DAYS = 60
# Idempotency keys Laihua makes itself (a waitlist entry's booking, an itinerary's): a client's key may
# not start with these, so that it can never take the key of a booking Laihua is about to make.
RESERVED_KEY_PREFIXES = ("waitlist-", "itinerary-")


def _replay(request: BookingRequest, case: Case, item, start_day) -> list[Booking]:
    if request.case_id != case.pk or request.item_id != item.pk or request.start_day != start_day:
        raise Conflict(_("This idempotency key was already used for another booking."), field="idempotency_key")
    return list(request.bookings.select_related("resource").order_by("day", "resource_id", "pk"))


def _key(idempotency_key, *, internal: bool = False) -> str:
    key = (idempotency_key or "").strip()
    if not key or len(key) > 100:
        raise InvalidInput(_("Send an idempotency key of 1 to 100 characters."), field="idempotency_key")
    if not internal and key.lower().startswith(RESERVED_KEY_PREFIXES):
        raise InvalidInput(
            _("An idempotency key may not start with %(prefixes)s: Laihua uses those itself.")
            % {"prefixes": _(" or ").join(RESERVED_KEY_PREFIXES)},
            field="idempotency_key",
        )
    return key


def book_service(
    actor,
    case: Case,
    item,
    start_day: datetime.date,
    *,
    idempotency_key: str,
    internal: bool = False,
    nights: int | None = None,
    usages=None,
) -> list[Booking]:
    """Book everything the service takes for the case, all or nothing, within the international quota.

    A request with a key already used at the hospital returns the bookings made the first time (the
    replay is audited). `internal`: the key is one Laihua made (RESERVED_KEY_PREFIXES). A booking
    withdraws the case's waiting entries for the same service: its need is met. `nights`: the inpatient
    nights of a clinical pathway's procedure, booked on its bed resources instead of their usual days.
    `usages`: the service's usages with their resources, when the caller has read them."""
    require_case_staff(actor, case, BOOKERS)
    key = _key(idempotency_key, internal=internal)
    # The key is looked up only when the request cannot be booked as it stands (the case has moved on, the
    # day has passed, ...: the first request may have been booked) or when inserting it conflicts below.
    try:
        if item.hospital_id != case.hospital_id:
            raise InvalidInput(_("This service is not offered by the case's hospital."), field="item")
        if case.state not in BOOKABLE_STATES:
            raise Conflict(_("Only an accepted or scheduled case can be booked."), field="case")
        _check_start_day(start_day)
        usages = list(usages if usages is not None else item.usages.select_related("resource"))
        plan = plan_for(item, start_day, usages, nights=nights)
    except DomainError:
        previous = _request_with_key(case.hospital_id, key)
        if previous is not None:
            return _audited_replay(actor, previous, case, item, start_day)
        raise
    resources = {usage.resource_id: usage.resource for usage in usages}
    try:
        with transaction.atomic():
            request = BookingRequest.objects.create(
                hospital_id=case.hospital_id,
                idempotency_key=key,
                case=case,
                item=item,
                start_day=start_day,
                created_by=actor,
            )
            bookings = _take(actor, request, plan, resources)
            _withdraw_waiting(actor, case, item, start_day)
            record_event(
                actor,
                "capacity.book",
                case,
                hospital_id=case.hospital_id,
                detail={"item": item.code, "day": start_day.isoformat(), "bookings": [b.pk for b in bookings]},
            )
            add_event(
                case,
                actor,
                "booked",
                staff_only=True,
                note=timeline_note(
                    gettext_noop("%(service)s booked from %(day)s."), service=item.code, day=start_day.isoformat()
                ),
                item=item.code,
                day=start_day.isoformat(),
            )
    except _Full:
        # One read of the capacity serves both answers: the nearest days' window holds the service's days.
        first, last = _search_window(start_day, usages)
        caps = Capacities(list(resources.values()), min(first, start_day), max(last, *[d for _r, d in plan]))
        _refuse_if_never_fits(plan, resources, caps)
        raise QuotaFull(
            _("The international quota is full for this service on %(day)s.") % {"day": start_day.isoformat()},
            field="day",
            nearest_days=nearest_days_with_room(item, start_day, usages=usages, caps=caps),
        ) from None
    except IntegrityError:
        # The key was used before (or is being used by a request sent twice at once, which won): answer
        # as the first request did.
        previous = _request_with_key(case.hospital_id, key)
        if previous is None:
            raise
        return _audited_replay(actor, previous, case, item, start_day)
    return bookings


def _audited_replay(actor, request: BookingRequest, case: Case, item, start_day) -> list[Booking]:
    bookings = _replay(request, case, item, start_day)
    record_event(
        actor,
        "capacity.book_replay",
        case,
        hospital_id=case.hospital_id,
        detail={"item": item.code, "day": start_day.isoformat(), "bookings": [b.pk for b in bookings]},
    )
    return bookings


def _refuse_if_never_fits(plan: dict, resources: dict, caps: Capacities) -> None:
    """QuotaFull naming the resource when the service takes more of it on a day than the day's whole
    international cap (a small resource: 10% of 8 theatre hours is 0 hours): no other day helps. `caps`
    covers the plan's days."""
    for (resource_id, day), units in sorted(plan.items(), key=lambda entry: entry[0][1]):
        cap = caps.day_cap(resource_id, day)
        if units > cap and caps.day(resource_id, day) > 0:
            resource = resources[resource_id]
            raise QuotaFull(
                _(
                    "%(resource)s has %(cap)s international place(s) a day (%(share)s of %(capacity)s) and this "
                    "service needs %(units)s on one day: raise the share or the capacity for it to be bookable."
                )
                % {
                    "resource": resource.code,
                    "cap": cap,
                    "share": f"{caps.shares[resource_id] * 100:.0f}%",
                    "capacity": caps.day(resource_id, day),
                    "units": units,
                },
                field="item",
            )


def _request_with_key(hospital_id: int, key: str) -> BookingRequest | None:
    return next(iter(BookingRequest.objects.filter(hospital_id=hospital_id, idempotency_key=key).order_by()[:1]), None)


def get_booking(actor, booking_id: int) -> Booking:
    """A booking of the actor's hospital (NotFound for anyone else, never a hint it exists)."""
    require_role(actor, BOOKERS)
    booking = (
        Booking.objects.select_related("case", "case__hospital", "resource", "item", "request")
        .filter(pk=booking_id, case__hospital_id=actor.hospital_id)
        .first()
    )
    if booking is None:
        raise NotFound(_("No such booking."))
    return booking


def case_bookings(actor, case: Case) -> list[Booking]:
    """Every booking of the case (booked and cancelled), by day: for the case hospital's coordinators and
    admins. The read is audited."""
    require_case_staff(actor, case, READERS)
    bookings = list(
        Booking.objects.select_related("resource", "item", "request")
        .filter(case=case)
        .order_by("request__start_day", "request_id", "day", "resource__code", "pk")
    )
    record_event(
        actor, "capacity.case_bookings", case, hospital_id=case.hospital_id, detail={"bookings": len(bookings)}
    )
    for booking in bookings:
        booking.case = case
    return bookings


@transaction.atomic
def cancel_booking(actor, booking: Booking, *, serve_waitlist: bool = True) -> list[Booking]:
    """Cancel the service the booking belongs to (all its days and resources) and give the quota back.

    serve_waitlist=False: the places freed are not offered to the waitlist here, because the caller
    books some of them again in the same transaction (a re-planned trip) and then calls
    offer_places for the rest."""
    require_case_staff(actor, booking.case, BOOKERS)
    active = list(Booking.objects.filter(request_id=booking.request_id, status=BookingStatus.BOOKED).order_by("pk"))
    if not active:
        return []
    plan: dict = {}
    for row in active:
        plan[(row.resource_id, row.day)] = plan.get((row.resource_id, row.day), 0) + row.units
    freed = set(plan) if serve_waitlist else set()
    candidates, locked = _lock_with_waitlist(booking.case.hospital_id, freed, _counter_keys(plan))
    counters = locked.rows
    # Re-read under the lock: a concurrent cancel may have won.
    active = list(Booking.objects.filter(pk__in=[row.pk for row in active], status=BookingStatus.BOOKED).order_by("pk"))
    if not active:
        return []
    plan = {}
    for row in active:
        plan[(row.resource_id, row.day)] = plan.get((row.resource_id, row.day), 0) + row.units
    for (resource_id, day), units in plan.items():
        IntlUsage.objects.filter(pk=counters[(resource_id, IntlUsage.DAY, day)].pk).update(
            booked_units=F("booked_units") - units
        )
    for (resource_id, first), units in _month_totals(plan).items():
        IntlUsage.objects.filter(pk=counters[(resource_id, IntlUsage.MONTH, first)].pk).update(
            booked_units=F("booked_units") - units
        )
    now = clock.now()
    Booking.objects.filter(pk__in=[row.pk for row in active]).update(status=BookingStatus.CANCELLED, cancelled_at=now)
    for row in active:
        row.status, row.cancelled_at = BookingStatus.CANCELLED, now
    case = booking.case
    bookings_changed.send(sender=Booking, hospital_id=case.hospital_id, days=sorted({row.day for row in active}))
    record_event(
        actor, "capacity.cancel", case, hospital=case.hospital, detail={"bookings": [row.pk for row in active]}
    )
    offer_freed_places(actor, case.hospital_id, [c for c in candidates if set(c.plan) & set(plan)], locked)
    add_event(
        case,
        actor,
        "booking_cancelled",
        staff_only=True,
        note=timeline_note(
            gettext_noop("Booking of %(service)s from %(day)s cancelled."),
            service=booking.item.code,
            day=booking.request.start_day.isoformat(),
        ),
    )
    return active


def _search_window(day: datetime.date, usages, horizon: int = SEARCH_DAYS) -> tuple[datetime.date, datetime.date]:
    """(first start day, last day used) that the nearest days around `day` are searched in: from today or
    `day` - horizon to the service's last day when it starts at `day` + horizon (or the last bookable day).
    The first is after the last when nothing can be searched."""
    first = max(clock.today(), _shift(day, -horizon))
    last_start = min(_shift(day, horizon), last_bookable_day())
    span = max(usage.day_offset + usage.days for usage in usages)
    return first, last_start + datetime.timedelta(days=span)


def nearest_days_with_room(
    item, day: datetime.date, n: int = 5, *, horizon: int = SEARCH_DAYS, usages=None, caps: Capacities | None = None
) -> list[datetime.date]:
    """The n start days nearest to `day` (not past, not past the horizon, not `day` itself) on which the
    whole service fits. Never steps beyond the horizon, so never near date.max. `caps`: the capacity of
    the service's resources over the search window, when the caller has read it."""
    usages = list(usages if usages is not None else item.usages.select_related("resource"))
    if not usages:
        return []
    first = max(clock.today(), _shift(day, -horizon))
    last_start = min(_shift(day, horizon), last_bookable_day())
    if first > last_start:
        return []
    last = _search_window(day, usages, horizon)[1]
    resource_ids = {usage.resource_id for usage in usages}
    if caps is None:
        caps = Capacities([usage.resource for usage in usages], first, last)
    counters = IntlUsage.objects.filter(
        resource_id__in=resource_ids, day__range=(month_start(first), last)
    ).values_list("resource_id", "period", "day", "booked_units")
    day_used, month_used = {}, {}
    for resource_id, period, counter_day, units in counters:
        (day_used if period == IntlUsage.DAY else month_used)[(resource_id, counter_day)] = units
    found = []
    for distance in range(1, horizon + 1):
        for candidate in (_shift(day, -distance), _shift(day, distance)):
            if candidate < first or candidate > last_start:
                continue
            if _fits(plan_for(item, candidate, usages), caps, day_used, month_used):
                found.append(candidate)
                if len(found) == n:
                    return found
    return found
