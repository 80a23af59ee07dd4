"""The 10% rule: capacity by day, the international share of it, and booking that can never exceed it.

Booking takes the quota in one transaction: one INSERT ... ON CONFLICT DO UPDATE ... RETURNING adds
the service's units to the IntlUsage counter rows of every (resource, day) and (resource, month) it
consumes (creating missing rows, and locking them in one global order: resource, period, day), then
checks the new totals against the day cap floor(capacity x share) and the month cap floor(month's
capacity x share), read after the lock; a total over its cap rolls the whole transaction back.
Capacity and share changes lock the same rows, so they serialise with bookings. On SQLite every
write transaction is serialised anyway (transaction_mode IMMEDIATE).

Lowering capacity or the share cancels nothing: the bookings over the new cap are returned and
listed (over_cap_bookings) for the coordinator to resolve. A cancellation or a higher capacity or share
(by hand, over the API or by CSV) first locks, with its own counters and in the same global order, the
counters of the waiting entries its freed places could serve (_lock_with_waitlist), then hands them the
places (offer_freed_places): never a lock out of order, so never a deadlock with a booking.

Input is bounded (MAX_DAYS_AHEAD, MAX_CAPACITY, MAX_USAGE_*): dates never step past date.max and
numbers always fit PostgreSQL's integer columns.
"""

import calendar
import csv
import datetime
import io
import itertools
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal, InvalidOperation

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q, QuerySet, Sum
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from laihua.accounts.models import Role
from laihua.accounts.services import require_hospital_staff, require_role
from laihua.audit.services import record_event
from laihua.capacity.models import (
    MAX_CAPACITY,
    MAX_USAGE_DAYS,
    MAX_USAGE_OFFSET,
    MAX_USAGE_UNITS,
    Booking,
    BookingRequest,
    BookingStatus,
    CapacityDay,
    IntlUsage,
    ReportedMetrics,
    Resource,
    ResourceKind,
    ServiceUsage,
    Unit,
    WaitlistEntry,
    WaitlistStatus,
)
from laihua.cases.models import Case
from laihua.cases.services import add_event, require_case_staff, timeline_note
from laihua.cases.states import State
from laihua.errors import Conflict, DomainError, InvalidInput, NotFound, PermissionDenied
from laihua.kit import clock

BOOKERS = (Role.COORDINATOR, Role.HOSPITAL_ADMIN)
CAPACITY_EDITORS = (Role.HOSPITAL_ADMIN,)
READERS = (Role.COORDINATOR, Role.HOSPITAL_ADMIN)
BOOKABLE_STATES = (State.ACCEPTED, State.SCHEDULED)
WARN_AT = Decimal("0.80")
SEARCH_DAYS = 60
# The furthest a booking or a waitlist entry may start: two years from today. Nobody books further ahead,
# and every date arithmetic (a service's days, the nearest days searched) then stays far from date.max.
MAX_DAYS_AHEAD = 730
FIRST_REPORT_YEAR, LAST_REPORT_YEAR = 2000, 2100
CSV_COLUMNS = ["resource_code", "day", "capacity", "closed", "note"]
# Idempotency keys Laihua makes itself (a waitlist entry's booking, an itinerary's): a client's key may
# not start with these, so that it can never take the key of a booking Laihua is about to make.
RESERVED_KEY_PREFIXES = ("waitlist-", "itinerary-")
MAX_CSV_ROWS = 10_000


def max_share() -> Decimal:
    """The platform maximum of the international share (settings.LAIHUA_QUOTA_MAX_SHARE, default 10%)."""
    return Decimal(str(settings.LAIHUA_QUOTA_MAX_SHARE))


class QuotaFull(DomainError):
    code = "quota_full"
    status = 409
    default_message = gettext_lazy("The international quota is full on this day.")

    def __init__(self, message=None, *, nearest_days=(), **kwargs):
        super().__init__(message, **kwargs)
        self.nearest_days = list(nearest_days)

    def as_dict(self) -> dict:
        return {**super().as_dict(), "nearest_days": [day.isoformat() for day in self.nearest_days]}


# --- arithmetic -----------------------------------------------------------------------------------


def effective_share(resource: Resource) -> Decimal:
    """The resource's share, never above the platform maximum (which may have been lowered since)."""
    return min(resource.intl_share, max_share())


def cap_of(capacity: int, share: Decimal) -> int:
    """The international places: the share of the capacity, rounded down (never up)."""
    return int((Decimal(capacity) * Decimal(share)).to_integral_value(rounding=ROUND_FLOOR))


def month_start(day: datetime.date) -> datetime.date:
    return day.replace(day=1)


def month_days(first: datetime.date) -> list[datetime.date]:
    count = calendar.monthrange(first.year, first.month)[1]
    return [first.replace(day=n) for n in range(1, count + 1)]


def parse_month(text: str) -> datetime.date:
    try:
        month = datetime.datetime.strptime((text or "").strip(), "%Y-%m").date()
    except ValueError:
        raise InvalidInput(_("Give the month as YYYY-MM."), field="month") from None
    if not FIRST_REPORT_YEAR <= month.year <= LAST_REPORT_YEAR:
        raise InvalidInput(
            _("Give a month from %(first)s-01 to %(last)s-12.")
            % {"first": FIRST_REPORT_YEAR, "last": LAST_REPORT_YEAR},
            field="month",
        )
    return month


def last_bookable_day() -> datetime.date:
    """The furthest day a booking or a waitlist entry may start (MAX_DAYS_AHEAD from today)."""
    return clock.today() + datetime.timedelta(days=MAX_DAYS_AHEAD)


def _check_start_day(day: datetime.date) -> None:
    """A start day from today to the horizon, else InvalidInput naming the day."""
    if day < clock.today():
        raise InvalidInput(_("This day has passed."), field="day")
    if day > last_bookable_day():
        raise InvalidInput(
            _("Book at most %(days)s days ahead, until %(last)s.")
            % {"days": MAX_DAYS_AHEAD, "last": last_bookable_day().isoformat()},
            field="day",
        )


def _shift(day: datetime.date, days: int) -> datetime.date:
    """day + days, held at the first or last representable date instead of overflowing."""
    try:
        return day + datetime.timedelta(days=days)
    except OverflowError:
        return datetime.date.max if days > 0 else datetime.date.min


def level_of(booked: int, cap: int) -> str:
    """ok, warn (80% or more of the cap) or full (100% or more; a cap of 0 is full)."""
    if cap <= 0 or booked >= cap:
        return "full"
    if Decimal(booked) >= WARN_AT * cap:
        return "warn"
    return "ok"


class Capacities:
    """Capacity of some resources over whole months, read once: default unless a day says otherwise."""

    def __init__(self, resources, first: datetime.date, last: datetime.date):
        self.resources = {r.pk: r for r in resources}
        self.shares = {pk: effective_share(r) for pk, r in self.resources.items()}
        self.first, self.last = month_start(first), month_start(last)
        end = month_days(self.last)[-1]
        rows = CapacityDay.objects.filter(resource_id__in=self.resources, day__range=(self.first, end)).values_list(
            "resource_id", "day", "capacity", "closed"
        )
        self.overrides = {
            (resource_id, day): (0 if closed else capacity) for resource_id, day, capacity, closed in rows
        }
        self._months: dict = {}

    def day(self, resource_id: int, day: datetime.date) -> int:
        found = self.overrides.get((resource_id, day))
        return self.resources[resource_id].daily_capacity if found is None else found

    def day_cap(self, resource_id: int, day: datetime.date) -> int:
        return cap_of(self.day(resource_id, day), self.shares[resource_id])

    def month(self, resource_id: int, first: datetime.date) -> int:
        key = (resource_id, first)
        if key not in self._months:
            self._months[key] = sum(self.day(resource_id, day) for day in month_days(first))
        return self._months[key]

    def month_cap(self, resource_id: int, first: datetime.date) -> int:
        return cap_of(self.month(resource_id, first), self.shares[resource_id])


# --- what a service takes -------------------------------------------------------------------------


def plan_for(
    item, start_day: datetime.date, usages=None, *, activating: int | None = None
) -> dict[tuple[int, datetime.date], int]:
    """{(resource id, day): units} that the service takes when it starts on start_day (`activating`: a
    resource being reactivated, counted as active)."""
    usages = list(usages if usages is not None else item.usages.select_related("resource"))
    if not usages:
        raise InvalidInput(_("This service takes no bookable resource; set what it uses first."), field="item")
    plan: dict[tuple[int, datetime.date], int] = {}
    for usage in usages:
        if not usage.resource.active and usage.resource_id != activating:
            raise InvalidInput(_("A resource this service uses is not active."), field="item")
        for offset in range(usage.day_offset, usage.day_offset + usage.days):
            key = (usage.resource_id, start_day + datetime.timedelta(days=offset))
            plan[key] = plan.get(key, 0) + usage.units
    return plan


def _month_totals(plan: dict) -> dict[tuple[int, datetime.date], int]:
    totals: dict = {}
    for (resource_id, day), units in plan.items():
        key = (resource_id, month_start(day))
        totals[key] = totals.get(key, 0) + units
    return totals


def _fits(plan: dict, caps: Capacities, day_used: dict, month_used: dict) -> bool:
    for (resource_id, day), units in plan.items():
        if day_used.get((resource_id, day), 0) + units > caps.day_cap(resource_id, day):
            return False
    for (resource_id, first), units in _month_totals(plan).items():
        if month_used.get((resource_id, first), 0) + units > caps.month_cap(resource_id, first):
            return False
    return True


# --- counters (the lock targets) ------------------------------------------------------------------


CounterKey = tuple[int, str, datetime.date]  # (resource id, period, day)


def _lock_counters(keys: set[CounterKey], resources=()) -> dict[CounterKey, IntlUsage]:
    """Lock the counter rows for these (resource id, period, day) keys, and every counter of these
    resources, in one global order, creating missing keyed ones first (INSERT ... ON CONFLICT DO
    NOTHING: a concurrent insert is simply waited for)."""

    def select():
        condition = Q(resource_id__in=resources) if resources else Q()
        for resource_id, period, day in keys:
            condition |= Q(resource_id=resource_id, period=period, day=day)
        rows = IntlUsage.objects.select_for_update().filter(condition).order_by("resource_id", "period", "day")
        return {(row.resource_id, row.period, row.day): row for row in rows}

    if not keys and not resources:
        return {}
    missing = set(keys)
    if missing:
        existing = IntlUsage.objects.filter(
            resource_id__in={r for r, _p, _d in keys}, day__in={d for _r, _p, d in keys}
        ).values_list("resource_id", "period", "day")
        missing -= set(existing)
    if missing:
        IntlUsage.objects.bulk_create(
            [IntlUsage(resource_id=r, period=p, day=d) for r, p, d in sorted(missing)], ignore_conflicts=True
        )
    return select()


def _add_to_counters(additions: dict[tuple[int, str, datetime.date], int]) -> dict[tuple, int]:
    """Add units to the counter rows (created when missing) and return their new totals.

    One INSERT ... ON CONFLICT DO UPDATE ... RETURNING: it creates, locks (in the global order of the
    VALUES list) and increments every row at once. The caller checks the totals against the caps and
    rolls the whole transaction back when one is over, so nothing is ever taken half."""
    table = connection.ops.quote_name(IntlUsage._meta.db_table)
    keys = sorted(additions)
    values = ", ".join(["(%s, %s, %s, %s)"] * len(keys))
    params = [part for key in keys for part in (*key, additions[key])]
    sql = (
        f"INSERT INTO {table} (resource_id, period, day, booked_units) VALUES {values} "
        "ON CONFLICT (resource_id, period, day) "
        f"DO UPDATE SET booked_units = {table}.booked_units + excluded.booked_units "
        "RETURNING resource_id, period, day, booked_units"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return {(r, p, d if isinstance(d, datetime.date) else datetime.date.fromisoformat(d)): n for r, p, d, n in rows}


def _counter_keys(plan: dict) -> set:
    keys = {(resource_id, IntlUsage.DAY, day) for resource_id, day in plan}
    keys |= {(resource_id, IntlUsage.MONTH, month_start(day)) for resource_id, day in plan}
    return keys


# --- booking --------------------------------------------------------------------------------------


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
    actor, case: Case, item, start_day: datetime.date, *, idempotency_key: str, internal: bool = False
) -> list[Booking]:
    """Book everything the service takes for the case, all or nothing, within the international quota.

    A request with a key already used at the hospital returns the bookings made the first time (the
    replay is audited). `internal`: the key is one Laihua made (RESERVED_KEY_PREFIXES). A booking
    withdraws the case's waiting entries for the same service: its need is met."""
    require_case_staff(actor, case, BOOKERS)
    key = _key(idempotency_key, internal=internal)
    previous = _request_with_key(case.hospital_id, key)
    if previous is not None:
        return _audited_replay(actor, previous, case, item, start_day)
    if item.hospital_id != case.hospital_id:
        raise InvalidInput(_("This service is not offered by the case's hospital."), field="item")
    if case.state not in BOOKABLE_STATES:
        raise Conflict(_("Only an accepted or scheduled case can be booked."), field="case")
    _check_start_day(start_day)
    usages = list(item.usages.select_related("resource"))
    plan = plan_for(item, start_day, usages)
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
        _refuse_if_never_fits(plan, resources)
        raise QuotaFull(
            _("The international quota is full for this service on %(day)s.") % {"day": start_day.isoformat()},
            field="day",
            nearest_days=nearest_days_with_room(item, start_day, usages=usages),
        ) from None
    except IntegrityError:
        # The same key, sent twice at once: the other request won; answer as it did.
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


def _withdraw_waiting(actor, case: Case, item, day: datetime.date) -> None:
    """The case's waiting entries for this service are withdrawn once it is booked (on any day), so
    that a place freed later is not booked for it a second time; the timeline says so."""
    withdrawn = WaitlistEntry.objects.filter(case=case, item=item, status=WaitlistStatus.WAITING).update(
        status=WaitlistStatus.WITHDRAWN
    )
    if withdrawn:
        add_event(
            case,
            actor,
            "waitlist_left",
            staff_only=True,
            note=timeline_note(
                gettext_noop("Left the waitlist for %(service)s: booked from %(day)s."),
                service=item.code,
                day=day.isoformat(),
            ),
        )


class _Full(Exception):
    pass


def _refuse_if_never_fits(plan: dict, resources: dict) -> None:
    """QuotaFull naming the resource when the service takes more of it on a day than the day's whole
    international cap (a small resource: 10% of 8 theatre hours is 0 hours): no other day helps."""
    days = [day for _r, day in plan]
    caps = Capacities(list(resources.values()), min(days), max(days))
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


def _within_caps(totals: dict[tuple, int], caps: Capacities) -> bool:
    """Whether every counter's new total stays within its day or month cap."""
    for (resource_id, period, day), booked in totals.items():
        cap = caps.day_cap(resource_id, day) if period == IntlUsage.DAY else caps.month_cap(resource_id, day)
        if booked > cap:
            return False
    return True


def _take(actor, request: BookingRequest, plan: dict, resources: dict) -> list[Booking]:
    additions = dict(((r, IntlUsage.DAY, d), u) for (r, d), u in plan.items())
    additions.update(((r, IntlUsage.MONTH, m), u) for (r, m), u in _month_totals(plan).items())
    totals = _add_to_counters(additions)
    days = [day for _r, day in plan]
    # Capacity is read after the counters are locked: a capacity change locks them too.
    current = Resource.objects.filter(pk__in=resources).order_by().only("id", "daily_capacity", "intl_share")
    if not _within_caps(totals, Capacities(current, min(days), max(days))):
        raise _Full()  # rolls the increments back with the transaction
    return Booking.objects.bulk_create(
        [
            Booking(
                request=request,
                case_id=request.case_id,
                item_id=request.item_id,
                resource=resources[resource_id],
                day=day,
                units=units,
                created_by=actor,
            )
            for (resource_id, day), units in sorted(plan.items(), key=lambda entry: (entry[0][1], entry[0][0]))
        ]
    )


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


def offer_places(actor, hospital_id: int, freed: set[tuple[int, datetime.date]]) -> list[WaitlistEntry]:
    """Offer what is still free of these (resource id, day)s, freed earlier in the caller's transaction, to
    the waitlist: the waiting entries' counters are locked in the global order first."""
    candidates, locked = _lock_with_waitlist(hospital_id, freed)
    return offer_freed_places(actor, hospital_id, candidates, locked)


def nearest_days_with_room(
    item, day: datetime.date, n: int = 5, *, horizon: int = SEARCH_DAYS, usages=None
) -> list[datetime.date]:
    """The n start days nearest to `day` (not past, not past the horizon, not `day` itself) on which the
    whole service fits. Never steps beyond the horizon, so never near date.max."""
    usages = list(usages if usages is not None else item.usages.select_related("resource"))
    if not usages:
        return []
    today = clock.today()
    span = max(usage.day_offset + usage.days for usage in usages)
    first = max(today, _shift(day, -horizon))
    last_start = min(_shift(day, horizon), last_bookable_day())
    if first > last_start:
        return []
    last = last_start + datetime.timedelta(days=span)
    resource_ids = {usage.resource_id for usage in usages}
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


# --- waitlist ------------------------------------------------------------------------------------


def join_waitlist(actor, case: Case, item, day: datetime.date) -> WaitlistEntry:
    """Put the case on the waitlist for the service from `day`: it is given the first place that frees."""
    require_case_staff(actor, case, BOOKERS)
    if item.hospital_id != case.hospital_id:
        raise InvalidInput(_("This service is not offered by the case's hospital."), field="item")
    if case.state not in BOOKABLE_STATES:
        raise Conflict(_("Only an accepted or scheduled case can be booked."), field="case")
    _check_start_day(day)
    plan_for(item, day)
    with transaction.atomic():
        entry = WaitlistEntry.objects.filter(
            case=case, item=item, day=day, status=WaitlistStatus.WAITING
        ).first() or WaitlistEntry.objects.create(
            hospital_id=case.hospital_id, case=case, item=item, day=day, created_by=actor
        )
        record_event(
            actor, "capacity.waitlist", case, hospital=case.hospital, detail={"item": item.code, "day": day.isoformat()}
        )
        add_event(
            case,
            actor,
            "waitlisted",
            staff_only=True,
            note=timeline_note(
                gettext_noop("On the waitlist for %(service)s from %(day)s."), service=item.code, day=day.isoformat()
            ),
        )
    return entry


@transaction.atomic
def leave_waitlist(actor, entry: WaitlistEntry) -> WaitlistEntry:
    require_case_staff(actor, entry.case, BOOKERS)
    if entry.status == WaitlistStatus.WAITING:
        entry.status = WaitlistStatus.WITHDRAWN
        entry.save(update_fields=["status"])
        record_event(actor, "capacity.waitlist_leave", entry.case, hospital=entry.case.hospital)
    return entry


def waitlist_of(actor, hospital) -> list[WaitlistEntry]:
    """The hospital's waiting entries from today, oldest first (the read of their cases is audited)."""
    require_hospital_staff(actor, hospital, READERS)
    entries = list(
        WaitlistEntry.objects.select_related("case", "item")
        .filter(hospital=hospital, status=WaitlistStatus.WAITING, day__gte=clock.today())
        .order_by("created_at", "pk")
    )
    _audit_listing(actor, hospital, "capacity.waitlist_list", [entry.case for entry in entries])
    return entries


def get_waitlist_entry(actor, entry_id: int) -> WaitlistEntry:
    """A waitlist entry of the actor's hospital, whatever its status (NotFound for anyone else)."""
    require_role(actor, BOOKERS)
    entry = (
        WaitlistEntry.objects.select_related("case", "case__hospital", "item")
        .filter(pk=entry_id, hospital_id=actor.hospital_id)
        .first()
    )
    if entry is None:
        raise NotFound(_("No such waitlist entry."))
    return entry


def case_waitlist(actor, case: Case) -> list[WaitlistEntry]:
    """Every waitlist entry of the case (waiting, booked from the waitlist, withdrawn); the read is audited."""
    require_case_staff(actor, case, READERS)
    entries = list(WaitlistEntry.objects.select_related("item").filter(case=case).order_by("created_at", "pk"))
    record_event(actor, "capacity.case_waitlist", case, hospital_id=case.hospital_id, detail={"entries": len(entries)})
    for entry in entries:
        entry.case = case
    return entries


def _waiting_days(
    resource: Resource, day: datetime.date | None = None, *, activating: int | None = None
) -> set[tuple[int, datetime.date]]:
    """The (resource, day)s of this resource that waiting entries want (only `day`, if given;
    `activating`: the resource is being reactivated)."""
    wanted = set()
    entries = (
        WaitlistEntry.objects.filter(
            hospital_id=resource.hospital_id, status=WaitlistStatus.WAITING, item__usages__resource=resource
        )
        .select_related("item")
        .distinct()
    )
    for entry in entries:
        try:
            plan = plan_for(entry.item, entry.day, activating=activating)
        except InvalidInput:
            continue
        wanted |= {(r, d) for r, d in plan if r == resource.pk and (day is None or d == day)}
    return wanted


@dataclass
class _Candidate:
    """A waiting entry that freed places could serve, with what its service takes."""

    entry: WaitlistEntry
    usages: list
    plan: dict


@dataclass
class _Locked:
    """The counter rows a transaction holds: these keys, and every counter of these resources."""

    rows: dict
    keys: set
    resources: set

    def covers(self, keys) -> bool:
        return all(key in self.keys or key[0] in self.resources for key in keys)


def _waitlist_candidates(
    hospital_id: int, freed: set[tuple[int, datetime.date]], activating: int | None = None
) -> list[_Candidate]:
    """The waiting entries whose service takes a place on one of these (resource id, day)s, oldest first."""
    if not freed:
        return []
    days = [day for _r, day in freed]
    entries = (
        WaitlistEntry.objects.select_related("case", "case__hospital", "item", "created_by")
        .filter(
            hospital_id=hospital_id,
            status=WaitlistStatus.WAITING,
            day__gte=clock.today(),
            day__lte=max(days),
            case__state__in=BOOKABLE_STATES,
            item__usages__resource_id__in={r for r, _d in freed},
        )
        .distinct()
        .order_by("created_at", "pk")
    )
    candidates = []
    for entry in entries:
        usages = list(entry.item.usages.select_related("resource"))
        try:
            plan = plan_for(entry.item, entry.day, usages, activating=activating)
        except InvalidInput:
            continue
        if set(plan) & freed:
            candidates.append(_Candidate(entry, usages, plan))
    return candidates


def _lock_with_waitlist(
    hospital_id: int, freed: set[tuple[int, datetime.date]], keys=(), resources=(), activating: int | None = None
) -> tuple[list[_Candidate], _Locked]:
    """Lock the counters a change touches together with those that the waitlist entries its freed
    places could serve would take, in one global order and before anything changes: handing a place
    to the waitlist afterwards then waits for no lock out of that order, which could deadlock with a
    booking that locked in order (an entry's service may take resources the change does not touch)."""
    candidates = _waitlist_candidates(hospital_id, freed, activating)
    wanted = set(keys)
    for candidate in candidates:
        wanted |= _counter_keys(candidate.plan)
    rows = _lock_counters(wanted, resources)
    return candidates, _Locked(rows, wanted, set(resources))


def offer_freed_places(actor, hospital_id: int, candidates: list[_Candidate], locked: _Locked) -> list[WaitlistEntry]:
    """Give places just freed to the waitlist entries found before the counters were locked, first come
    first served, in the caller's transaction (it holds the counters): nobody else can take them in
    between. An entry that joined after the lock waits for the next freed place."""
    still_waiting = set(
        WaitlistEntry.objects.filter(
            pk__in=[c.entry.pk for c in candidates], status=WaitlistStatus.WAITING
        ).values_list("pk", flat=True)
    )
    given = []
    for candidate in candidates:
        entry, usages, plan = candidate.entry, candidate.usages, candidate.plan
        if entry.pk not in still_waiting or not locked.covers(_counter_keys(plan)):
            continue
        try:
            with transaction.atomic():
                request = BookingRequest.objects.create(
                    hospital_id=hospital_id,
                    idempotency_key=f"waitlist-{entry.pk}",
                    case=entry.case,
                    item=entry.item,
                    start_day=entry.day,
                    created_by=entry.created_by,
                )
                _take(entry.created_by, request, plan, {u.resource_id: u.resource for u in usages})
        except (_Full, IntegrityError):  # IntegrityError: the entry's key is taken; the next entry may fit
            continue
        entry.status, entry.request = WaitlistStatus.BOOKED, request
        entry.save(update_fields=["status", "request"])
        record_event(
            actor,
            "capacity.waitlist_book",
            entry.case,
            hospital=entry.case.hospital,
            detail={"item": entry.item.code, "day": entry.day.isoformat()},
        )
        add_event(
            entry.case,
            actor,
            "booked",
            staff_only=True,
            note=timeline_note(
                gettext_noop("%(service)s booked from %(day)s from the waitlist."),
                service=entry.item.code,
                day=entry.day.isoformat(),
            ),
        )
        given.append(entry)
    return given


# --- over the cap ---------------------------------------------------------------------------------


@dataclass
class OverCap:
    resource: Resource
    day: datetime.date
    capacity: int
    cap: int
    booked: int
    bookings: list = field(default_factory=list)  # the latest bookings beyond the cap
    period: str = "day"


def _beyond(bookings: list[Booking], cap: int) -> list[Booking]:
    """The bookings that came after the cap was reached (first come keeps its place)."""
    taken, over = 0, []
    for booking in sorted(bookings, key=lambda b: (b.created_at, b.pk)):
        taken += booking.units
        if taken > cap:
            over.append(booking)
    return over


def over_cap_bookings(resource: Resource, day: datetime.date | None = None, *, since=None) -> list[OverCap]:
    """Days (and months) whose international bookings are over the cap, with the bookings over it.

    With `day`, that day and its month; without, every day from `since` (default today)."""
    since = since or clock.today()
    days_q = Q(day=day) if day else Q(day__gte=since)
    used = list(
        IntlUsage.objects.filter(days_q, resource=resource, period=IntlUsage.DAY, booked_units__gt=0).order_by("day")
    )
    months = {month_start(day)} if day else {month_start(row.day) for row in used}
    month_rows = list(
        IntlUsage.objects.filter(resource=resource, period=IntlUsage.MONTH, day__in=months, booked_units__gt=0)
    )
    if not used and not month_rows:
        return []
    all_days = [row.day for row in used] + [row.day for row in month_rows]
    caps = Capacities([resource], min(all_days), max(all_days))
    found = []
    for row in used:
        cap = caps.day_cap(resource.pk, row.day)
        if row.booked_units > cap:
            bookings = list(
                Booking.objects.select_related("case", "item").filter(
                    resource=resource, day=row.day, status=BookingStatus.BOOKED
                )
            )
            found.append(
                OverCap(
                    resource, row.day, caps.day(resource.pk, row.day), cap, row.booked_units, _beyond(bookings, cap)
                )
            )
    for row in month_rows:
        cap = caps.month_cap(resource.pk, row.day)
        if row.booked_units > cap:
            bookings = list(
                Booking.objects.select_related("case", "item").filter(
                    resource=resource, day__range=(row.day, month_days(row.day)[-1]), status=BookingStatus.BOOKED
                )
            )
            found.append(
                OverCap(
                    resource,
                    row.day,
                    caps.month(resource.pk, row.day),
                    cap,
                    row.booked_units,
                    _beyond(bookings, cap),
                    period="month",
                )
            )
    return found


def hospital_over_cap(actor, hospital) -> list[OverCap]:
    """Every resource's days and months over the cap, from today: for the coordinator to resolve. The
    read of the cases listed is audited."""
    require_hospital_staff(actor, hospital, READERS)
    found = []
    for resource in hospital.resources.all():
        found.extend(over_cap_bookings(resource))
    _audit_listing(actor, hospital, "capacity.over_cap_list", [b.case for over in found for b in over.bookings])
    return found


def _audit_listing(actor, hospital, action: str, cases) -> None:
    """One audit event for a list that shows cases of the hospital, naming them (none when it is empty)."""
    references = sorted({case.reference for case in cases})
    if references:
        record_event(actor, action, hospital, hospital=hospital, detail={"cases": references})


# --- resources, capacity and share ----------------------------------------------------------------


def _get_resource(actor, resource_id: int, roles=READERS) -> Resource:
    require_role(actor, roles)
    resource = Resource.objects.filter(pk=resource_id, hospital_id=actor.hospital_id).first()
    if resource is None:
        raise NotFound(_("No such resource."))
    return resource


def get_resource(actor, resource_id: int) -> Resource:
    return _get_resource(actor, resource_id)


def resources_of(actor, hospital) -> QuerySet[Resource]:
    require_hospital_staff(actor, hospital, READERS)
    return hospital.resources.select_related("department").all()


def _int(value, field_name: str, *, minimum: int = 0, maximum: int) -> int:
    """A whole number from minimum to maximum, else InvalidInput naming the field."""
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        raise InvalidInput(_("Give a whole number."), field=field_name) from None
    if not minimum <= number <= maximum:
        raise InvalidInput(
            _("Give a number from %(min)s to %(max)s.") % {"min": minimum, "max": maximum}, field=field_name
        )
    return number


@transaction.atomic
def create_resource(actor, hospital, data: dict) -> Resource:
    """A new resource of the hospital (hospital admin); everything is checked before it is saved."""
    require_hospital_staff(actor, hospital, CAPACITY_EDITORS)
    code = str(data.get("code") or "").strip()
    from django.core.validators import validate_slug

    try:
        validate_slug(code)
    except Exception:
        raise InvalidInput(_("Give a code of letters, digits, hyphens or underscores."), field="code") from None
    if len(code) > 40:
        raise InvalidInput(_("Give a code of at most 40 characters."), field="code")
    if hospital.resources.filter(code=code).exists():
        raise InvalidInput(_("This code is already in use."), field="code")
    kind = data.get("kind")
    if kind not in ResourceKind.values:
        raise InvalidInput(_("Choose a kind of resource."), field="kind")
    unit = data.get("unit")
    if unit not in Unit.values:
        raise InvalidInput(_("Choose a unit."), field="unit")
    name = data.get("name") or {}
    if not isinstance(name, dict) or not str(name.get("en", "")).strip():
        raise InvalidInput(_("Give the name in English at least."), field="name")
    department = None
    if data.get("department"):
        department = hospital.departments.filter(code=data["department"]).first()
        if department is None:
            raise InvalidInput(_("No such department."), field="department")
    share = _share(data.get("intl_share", min(Decimal("0.10"), max_share())))
    resource = Resource.objects.create(
        hospital=hospital,
        department=department,
        code=code,
        kind=kind,
        unit=unit,
        name={k: str(v).strip() for k, v in name.items() if str(v).strip()},
        daily_capacity=_int(data.get("daily_capacity", 0), "daily_capacity", maximum=MAX_CAPACITY),
        opening_hours=_opening_hours(data.get("opening_hours")),
        intl_share=share,
    )
    record_event(actor, "capacity.resource_create", resource, hospital=hospital)
    return resource


def _opening_hours(value) -> str:
    text = str(value or "").strip()
    if len(text) > 200:
        raise InvalidInput(_("Give the opening hours in at most 200 characters."), field="opening_hours")
    return text


@transaction.atomic
def update_resource(actor, resource: Resource, *, opening_hours=None, active=None) -> list[Booking]:
    """Change the opening hours and/or deactivate (or reactivate) a resource (hospital admin).

    An inactive resource takes no new booking; deactivating cancels nothing: the bookings kept on it from
    today are returned, for the coordinator to resolve. Reactivating offers the places free on it to the
    waitlist at once, its counters locked first as a capacity change locks them."""
    require_hospital_staff(actor, resource.hospital, CAPACITY_EDITORS)
    candidates, locked = [], None
    if active is True and not resource.active:
        wanted = _waiting_days(resource, activating=resource.pk)
        candidates, locked = _lock_with_waitlist(
            resource.hospital_id, wanted, resources=[resource.pk], activating=resource.pk
        )
    changes = {}
    if opening_hours is not None:
        changes["opening_hours"] = _opening_hours(opening_hours)
    if active is not None:
        if not isinstance(active, bool):
            raise InvalidInput(_("Give yes or no."), field="active")
        changes["active"] = active
    if changes:
        Resource.objects.filter(pk=resource.pk).update(**changes)
        for name, value in changes.items():
            setattr(resource, name, value)
        record_event(
            actor,
            "capacity.resource_update",
            resource,
            hospital=resource.hospital,
            detail={name: value for name, value in changes.items()},
        )
    if locked is not None:
        offer_freed_places(actor, resource.hospital_id, candidates, locked)
    if resource.active:
        return []
    return list(
        Booking.objects.select_related("case", "item")
        .filter(resource=resource, day__gte=clock.today(), status=BookingStatus.BOOKED)
        .order_by("day", "pk")
    )


def closures_of(actor, resource: Resource, since: datetime.date | None = None) -> list[CapacityDay]:
    """The resource's closed days (holidays, maintenance) from `since` (default today), by day."""
    require_hospital_staff(actor, resource.hospital, READERS)
    return list(resource.days.filter(closed=True, day__gte=since or clock.today()).order_by("day"))


def _share(value) -> Decimal:
    try:
        share = Decimal(str(value).strip().rstrip("%")) / (100 if str(value).strip().endswith("%") else 1)
    except (InvalidOperation, ValueError):
        raise InvalidInput(_("Give the share as a decimal, e.g. 0.10."), field="intl_share") from None
    if not share.is_finite() or share < 0:
        raise InvalidInput(_("Give the share as a decimal, e.g. 0.10."), field="intl_share")
    if share > max_share():
        raise InvalidInput(
            _("The share may not be above the platform maximum of %(max)s.") % {"max": max_share()},
            field="intl_share",
        )
    return share.quantize(Decimal("0.001"))


@transaction.atomic
def set_share(actor, resource: Resource, share) -> list[OverCap]:
    """Set the international share (hospital admin, at most the platform maximum); returns what is over."""
    require_hospital_staff(actor, resource.hospital, CAPACITY_EDITORS)
    value = _share(share)
    candidates, locked = _lock_with_waitlist(resource.hospital_id, _waiting_days(resource), resources=[resource.pk])
    before = resource.intl_share
    Resource.objects.filter(pk=resource.pk).update(intl_share=value)
    resource.intl_share = value
    record_event(
        actor, "capacity.share", resource, hospital=resource.hospital, detail={"from": str(before), "to": str(value)}
    )
    offer_freed_places(actor, resource.hospital_id, candidates, locked)
    return over_cap_bookings(resource)


@transaction.atomic
def set_capacity(
    actor, resource: Resource, day: datetime.date | None, capacity, *, closed: bool = False, note: str = ""
) -> list[OverCap]:
    """Set the default capacity (day None) or one day's; cancels nothing, returns the bookings now over.

    For a day, a capacity left empty (None or "") and not closed gives the day back its usual capacity
    (reopening a closed day); a closed day takes no capacity."""
    require_hospital_staff(actor, resource.hospital, CAPACITY_EDITORS)
    reset = day is not None and not closed and (capacity is None or str(capacity).strip() == "")
    if closed and day is None:
        raise InvalidInput(_("Give the day that is closed."), field="day")
    if len(note or "") > 200:
        raise InvalidInput(_("Give the note in at most 200 characters."), field="note")
    if reset:
        capacity = None
    elif closed and capacity in (None, ""):
        capacity = 0  # a closed day needs no number
    else:
        capacity = _int(capacity, "capacity", maximum=MAX_CAPACITY)
    wanted = _waiting_days(resource, day)
    if day is None:
        candidates, locked = _lock_with_waitlist(resource.hospital_id, wanted, resources=[resource.pk])
        Resource.objects.filter(pk=resource.pk).update(daily_capacity=capacity)
        resource.daily_capacity = capacity
    else:
        keys = {(resource.pk, IntlUsage.DAY, day), (resource.pk, IntlUsage.MONTH, month_start(day))}
        candidates, locked = _lock_with_waitlist(resource.hospital_id, wanted, keys)
        if reset:
            CapacityDay.objects.filter(resource=resource, day=day).delete()
        else:
            CapacityDay.objects.update_or_create(
                resource=resource, day=day, defaults={"capacity": capacity, "closed": closed, "note": note or ""}
            )
    record_event(
        actor,
        "capacity.set",
        resource,
        hospital=resource.hospital,
        detail={"day": day.isoformat() if day else None, "capacity": capacity, "closed": closed, "reset": reset},
    )
    offer_freed_places(actor, resource.hospital_id, candidates, locked)
    return over_cap_bookings(resource, day)


def _truthy(value: str) -> bool | None:
    text = (value or "").strip().lower()
    if text in ("", "0", "false", "no", "n", "否"):
        return False
    if text in ("1", "true", "yes", "y", "closed", "是"):
        return True
    return None


def _csv_read(read, number: int):
    """read() of a csv reader, a malformed row (a line end inside an unquoted field, a field over the
    csv module's limit) refused naming the row, never a 500."""
    try:
        return read()
    except csv.Error as error:
        raise InvalidInput(
            _("Row %(row)s: the file is not valid CSV (%(error)s).") % {"row": number, "error": error}, field="file"
        ) from None


def _csv_rows(reader: csv.DictReader):
    """(row number, row) of the reader's data rows, the header being row 1."""
    for number in itertools.count(2):
        row = _csv_read(lambda: next(reader, None), number)
        if row is None:
            return
        yield number, row


def import_capacity_csv(actor, hospital, data) -> dict:
    """Load capacity days from CSV (resource_code,day,capacity,closed,note): every row is checked
    first, and nothing is loaded unless all are good. Errors name the row and the column. As with
    set_capacity, places a higher capacity frees go to the waitlist in the same transaction, and the
    bookings now over a day's cap are returned (nothing is cancelled)."""
    require_hospital_staff(actor, hospital, CAPACITY_EDITORS)
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise InvalidInput(_("The file is not UTF-8 text."), field="file") from None
    # newline="": the csv module reads CR, LF and CRLF line ends, and line ends inside quoted fields.
    reader = csv.DictReader(io.StringIO(data.lstrip("\ufeff"), newline=""))
    header = [name.strip() for name in (_csv_read(lambda: reader.fieldnames, 1) or [])]
    missing = [name for name in CSV_COLUMNS[:3] if name not in header]
    if missing:
        raise InvalidInput(
            _("Row 1: the header lacks the column(s) %(columns)s.") % {"columns": ", ".join(missing)}, field="file"
        )
    resources = {r.code: r for r in hospital.resources.all()}
    errors, rows, seen = [], [], set()
    for number, raw in _csv_rows(reader):
        if number > MAX_CSV_ROWS + 1:
            errors.append(_("Row %(row)s: at most %(max)s rows per file.") % {"row": number, "max": MAX_CSV_ROWS})
            break
        row = {(k or "").strip(): (v or "").strip() for k, v in raw.items() if k}

        def error(column, message, number=number):
            errors.append(
                _("Row %(row)s, column %(column)s: %(message)s")
                % {
                    "row": number,
                    "column": column,
                    "message": message,
                }
            )

        resource = resources.get(row.get("resource_code", ""))
        if resource is None:
            error("resource_code", _("no such resource at this hospital."))
        try:
            day = datetime.date.fromisoformat(row.get("day", ""))
        except ValueError:
            day = None
            error("day", _("give the day as YYYY-MM-DD."))
        try:
            capacity = int(row.get("capacity", ""))
            if not 0 <= capacity <= MAX_CAPACITY:
                raise ValueError
        except ValueError:
            capacity = None
            error("capacity", _("give a whole number from 0 to %(max)s.") % {"max": MAX_CAPACITY})
        closed = _truthy(row.get("closed", ""))
        if closed is None:
            error("closed", _("give yes or no."))
        note = row.get("note", "")
        if len(note) > 200:
            error("note", _("at most 200 characters."))
        if resource and day:
            if (resource.pk, day) in seen:
                error("day", _("this resource and day are already in an earlier row."))
            seen.add((resource.pk, day))
        rows.append((resource, day, capacity, closed, note))
    if errors:
        exc = InvalidInput("; ".join(str(e) for e in errors[:20]), field="file")
        exc.errors = errors
        raise exc
    if not rows:
        raise InvalidInput(_("The file has no rows."), field="file")
    over = []
    days_of: dict[int, set] = {}
    for resource, day, *_rest in rows:
        days_of.setdefault(resource.pk, set()).add(day)
    loaded = {resource.pk: resource for resource, *_rest in rows}
    with transaction.atomic():
        keys = set()
        for resource, day, *_rest in rows:
            keys |= {(resource.pk, IntlUsage.DAY, day), (resource.pk, IntlUsage.MONTH, month_start(day))}
        # As set_capacity: find the waiting entries the loaded days could serve and lock their counters
        # with ours, in the global order, before anything changes; then hand them the freed places.
        wanted = set()
        for resource_id, days in days_of.items():
            wanted |= {(r, d) for r, d in _waiting_days(loaded[resource_id]) if d in days}
        candidates, locked = _lock_with_waitlist(hospital.pk, wanted, keys)
        for resource, day, capacity, closed, note in rows:
            CapacityDay.objects.update_or_create(
                resource=resource, day=day, defaults={"capacity": capacity, "closed": closed, "note": note}
            )
        record_event(actor, "capacity.import", hospital, hospital=hospital, detail={"rows": len(rows)})
        offer_freed_places(actor, hospital.pk, candidates, locked)
        for resource_id, days in days_of.items():
            for day in sorted(days):
                over.extend(entry for entry in over_cap_bookings(loaded[resource_id], day) if entry.period == "day")
    return {"rows": len(rows), "over_cap": over}


@transaction.atomic
def set_usage(actor, item, resource: Resource, *, units: int = 1, day_offset: int = 0, days: int = 1) -> ServiceUsage:
    """Say what a catalog service takes of a resource of the same hospital (hospital admin)."""
    require_hospital_staff(actor, item.hospital, CAPACITY_EDITORS)
    if resource.hospital_id != item.hospital_id:
        raise InvalidInput(_("The resource belongs to another hospital."), field="resource")
    usage = ServiceUsage.objects.create(
        item=item,
        resource=resource,
        units=_int(units, "units", minimum=1, maximum=MAX_USAGE_UNITS),
        day_offset=_int(day_offset, "day_offset", maximum=MAX_USAGE_OFFSET),
        days=_int(days, "days", minimum=1, maximum=MAX_USAGE_DAYS),
    )
    record_event(actor, "capacity.usage", resource, hospital=resource.hospital, detail={"item": item.code})
    return usage


def usages_of(actor, resource: Resource) -> list[ServiceUsage]:
    """What the hospital's services take of this resource (hospital staff who read capacity)."""
    require_hospital_staff(actor, resource.hospital, READERS)
    return list(resource.usages.select_related("item").order_by("item__code", "day_offset", "pk"))


def get_usage(actor, usage_id: int, resource: Resource | None = None) -> ServiceUsage:
    """A usage of the actor's hospital (of `resource`, if given); NotFound for anyone else."""
    require_role(actor, READERS)
    usages = ServiceUsage.objects.select_related("item", "resource", "resource__hospital").filter(
        pk=usage_id, resource__hospital_id=actor.hospital_id
    )
    if resource is not None:
        usages = usages.filter(resource=resource)
    usage = usages.first()
    if usage is None:
        raise NotFound(_("No such service usage."))
    return usage


@transaction.atomic
def remove_usage(actor, usage: ServiceUsage) -> None:
    """The service no longer takes this resource (hospital admin). Bookings already made are kept."""
    resource = usage.resource
    require_hospital_staff(actor, resource.hospital, CAPACITY_EDITORS)
    detail = {"item": usage.item.code, "units": usage.units, "day_offset": usage.day_offset, "days": usage.days}
    usage.delete()
    record_event(actor, "capacity.usage_remove", resource, hospital=resource.hospital, detail=detail)


# --- utilisation ----------------------------------------------------------------------------------


def _require_reader(actor, hospital) -> None:
    require_role(actor, (*READERS, Role.PLATFORM_ADMIN))
    if actor.role != Role.PLATFORM_ADMIN and actor.hospital_id != hospital.pk:
        raise PermissionDenied(_("This belongs to another hospital."))


def units_present(hospital) -> list[str]:
    """The units of the hospital's active resources, in the order of Unit (visits, slots, hours, bed-days)."""
    found = set(hospital.resources.filter(active=True).values_list("unit", flat=True))
    return [unit for unit in Unit.values if unit in found]


def _chosen_units(hospital) -> list[str] | None:
    row = ReportedMetrics.objects.filter(hospital_id=hospital.pk).first()
    return list(row.units) if row is not None else None


def reported_units(hospital) -> list[str]:
    """The metrics on which the hospital reports its hospital-wide share: its admin's choice, or else
    every unit of its active resources."""
    chosen = _chosen_units(hospital)
    return chosen if chosen is not None else units_present(hospital)


def metrics_of(actor, hospital) -> dict:
    """The reported metrics, the units there are to choose from, and whether the admin chose."""
    _require_reader(actor, hospital)
    chosen = _chosen_units(hospital)
    present = units_present(hospital)
    return {"units": chosen if chosen is not None else present, "present": present, "chosen": chosen is not None}


@transaction.atomic
def set_reported_units(actor, hospital, units) -> list[str]:
    """Choose the metrics the hospital reports its share on (its own hospital admin only): one or more of
    the units its active resources have. Returns them in the order of Unit."""
    require_hospital_staff(actor, hospital, CAPACITY_EDITORS)
    if not isinstance(units, (list, tuple)) or not all(isinstance(unit, str) for unit in units):
        raise InvalidInput(_("Give a list of units."), field="units")
    present = units_present(hospital)
    unknown = [unit for unit in units if unit not in present]
    if unknown:
        raise InvalidInput(
            _("No active resource of this hospital is counted in %(units)s.") % {"units": ", ".join(unknown)},
            field="units",
        )
    chosen = [unit for unit in Unit.values if unit in set(units)]
    if not chosen:
        raise InvalidInput(_("Choose at least one metric."), field="units")
    ReportedMetrics.objects.update_or_create(hospital=hospital, defaults={"units": chosen, "updated_by": actor})
    record_event(actor, "capacity.metrics", hospital, hospital=hospital, detail={"units": chosen})
    return chosen


def utilisation(actor, hospital, month: datetime.date) -> dict:
    """Each resource's international use against its cap, by day and for the month, with levels
    (ok, warn at 80%, full at 100%), and the hospital-wide share on each metric (unit) the hospital
    reports (beds, visits, ...; see reported_units). An inactive resource is listed while it still
    holds bookings in the month."""
    _require_reader(actor, hospital)
    first = month_start(month)
    days = month_days(first)
    resources = list(
        hospital.resources.filter(
            Q(active=True) | Q(intl_usage__day__range=(first, days[-1]), intl_usage__booked_units__gt=0)
        )
        .distinct()
        .order_by("code")
    )
    caps = Capacities(resources, first, first)
    used = {
        (r, p, d): u
        for r, p, d, u in IntlUsage.objects.filter(resource__in=resources, day__range=(first, days[-1])).values_list(
            "resource_id", "period", "day", "booked_units"
        )
    }
    out, by_unit = [], {}
    for resource in resources:
        rows = []
        for day in days:
            cap = caps.day_cap(resource.pk, day)
            booked = used.get((resource.pk, IntlUsage.DAY, day), 0)
            rows.append(
                {
                    "day": day,
                    "capacity": caps.day(resource.pk, day),
                    "cap": cap,
                    "booked": booked,
                    "percent": _percent(booked, cap),
                    "level": level_of(booked, cap) if cap or booked else "closed",
                }
            )
        month_cap = caps.month_cap(resource.pk, first)
        month_booked = used.get((resource.pk, IntlUsage.MONTH, first), 0)
        capacity = caps.month(resource.pk, first)
        totals = by_unit.setdefault(
            resource.unit, {"unit": resource.unit, "unit_label": Unit(resource.unit).label, "capacity": 0, "booked": 0}
        )
        totals["capacity"] += capacity
        totals["booked"] += month_booked
        out.append(
            {
                "resource": resource,
                "share": effective_share(resource),
                "days": rows,
                "month": {
                    "capacity": capacity,
                    "cap": month_cap,
                    "booked": month_booked,
                    "percent": _percent(month_booked, month_cap),
                    "level": level_of(month_booked, month_cap) if month_cap or month_booked else "closed",
                },
                "warnings": sum(1 for row in rows if row["level"] in ("warn", "full")),
            }
        )
    chosen = _chosen_units(hospital)
    metrics = chosen if chosen is not None else [unit for unit in Unit.values if unit in by_unit]
    reported = []
    for unit in metrics:
        totals = by_unit.get(unit) or {"unit": unit, "unit_label": Unit(unit).label, "capacity": 0, "booked": 0}
        totals["share_of_capacity"] = _percent(totals["booked"], totals["capacity"])
        reported.append(totals)
    return {
        "hospital": hospital,
        "month": first,
        "resources": out,
        "by_unit": reported,
        "metrics_chosen": chosen is not None,
        "units_present": [unit for unit in Unit.values if unit in by_unit],
    }


def _percent(booked: int, cap: int) -> Decimal | None:
    """The share of the cap used, to 0.1%; a use below that shows as 0.1%, never as an empty 0.0%."""
    if cap <= 0:
        return None
    percent = (Decimal(100) * booked / cap).quantize(Decimal("0.1"))
    return max(percent, Decimal("0.1")) if booked else percent


def utilisation_csv(actor, hospital, month: datetime.date) -> str:
    report = utilisation(actor, hospital, month)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["resource_code", "unit", "period", "day", "capacity", "intl_cap", "intl_booked", "percent", "level"]
    )
    for entry in report["resources"]:
        resource = entry["resource"]
        for row in entry["days"]:
            writer.writerow(
                [
                    resource.code,
                    resource.unit,
                    "day",
                    row["day"].isoformat(),
                    row["capacity"],
                    row["cap"],
                    row["booked"],
                    row["percent"] if row["percent"] is not None else "",
                    row["level"],
                ]
            )
        month = entry["month"]
        writer.writerow(
            [
                resource.code,
                resource.unit,
                "month",
                report["month"].strftime("%Y-%m"),
                month["capacity"],
                month["cap"],
                month["booked"],
                month["percent"] if month["percent"] is not None else "",
                month["level"],
            ]
        )
    return out.getvalue()


def booked_units(resource: Resource, day: datetime.date) -> int:
    """Units of active bookings (the truth the counters must equal)."""
    return (
        Booking.objects.filter(resource=resource, day=day, status=BookingStatus.BOOKED).aggregate(t=Sum("units"))["t"]
        or 0
    )


def platform_overview(actor, month: datetime.date) -> list[dict]:
    """Platform admins: every hospital's resources for the month, with their levels and warning days."""
    from laihua.hospitals.models import Hospital

    require_role(actor, (Role.PLATFORM_ADMIN,))
    rows = []
    for hospital in Hospital.objects.filter(resources__isnull=False).distinct().order_by("slug"):
        report = utilisation(actor, hospital, month)
        for entry in report["resources"]:
            rows.append(
                {
                    "hospital": hospital,
                    "resource": entry["resource"],
                    "month": entry["month"],
                    "warn_days": sum(1 for row in entry["days"] if row["level"] == "warn"),
                    "full_days": sum(1 for row in entry["days"] if row["level"] == "full" and row["booked"]),
                }
            )
    return rows
