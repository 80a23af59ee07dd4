"""The 10% rule: capacity by day, the international share of it, and the counters a booking takes.

Booking takes the quota in one transaction: one INSERT ... ON CONFLICT DO UPDATE ... RETURNING adds
the service's units to the IntlUsage counter rows of every (resource, day) and (resource, month) it
consumes (creating missing rows, and locking them in one global order: resource, period, day), then
checks the new totals against the day cap floor(capacity x share) and the month cap floor(month's
capacity x share), read after the lock; a total over its cap rolls the whole transaction back.
Capacity and share changes lock the same rows, so they serialise with bookings. On SQLite every
write transaction is serialised anyway (transaction_mode IMMEDIATE).

Input is bounded (MAX_DAYS_AHEAD, MAX_CAPACITY, MAX_USAGE_*): dates never step past date.max and
numbers always fit PostgreSQL's integer columns.
"""

import calendar
import datetime
from decimal import ROUND_FLOOR, Decimal

from django.conf import settings
from django.db import connection
from django.db.models import FilteredRelation, Q, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from laihua.accounts.models import Role
from laihua.audit.services import record_event
from laihua.capacity.models import Booking, BookingRequest, CapacityDay, IntlUsage, Resource, ResourceKind
from laihua.capacity.signals import bookings_changed
from laihua.cases.states import State
from laihua.errors import DomainError, InvalidInput
from laihua.kit import clock

BOOKERS = (Role.COORDINATOR, Role.HOSPITAL_ADMIN)
CAPACITY_EDITORS = (Role.HOSPITAL_ADMIN,)
READERS = (Role.COORDINATOR, Role.HOSPITAL_ADMIN)
BOOKABLE_STATES = (State.ACCEPTED, State.SCHEDULED)
# The furthest a booking or a waitlist entry may start: two years from today. Nobody books further ahead,
# and every date arithmetic (a service's days, the nearest days searched) then stays far from date.max.
MAX_DAYS_AHEAD = 730


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


class Capacities:
    """Capacity of some resources over whole months, read once: default unless a day says otherwise."""

    def __init__(self, resources, first: datetime.date, last: datetime.date, *, rows=None):
        """`rows`: the (resource id, day, capacity, closed) of the CapacityDay rows over the months, when
        the caller has read them already (Capacities.read_locked)."""
        self.resources = {r.pk: r for r in resources}
        self.shares = {pk: effective_share(r) for pk, r in self.resources.items()}
        self.first, self.last = month_start(first), month_start(last)
        if rows is None:
            rows = CapacityDay.objects.filter(
                resource_id__in=list(self.resources), day__range=(self.first, month_days(self.last)[-1])
            ).values_list("resource_id", "day", "capacity", "closed")
        self.overrides = {
            (resource_id, day): (0 if closed else capacity) for resource_id, day, capacity, closed in rows
        }
        self._months: dict = {}

    @classmethod
    def read(cls, resources, first: datetime.date, last: datetime.date) -> "Capacities":
        """The capacity of some resources (their ids, or a Resource queryset) as stored now, read in one
        statement: each resource's default, share and kind joined to its CapacityDay rows over the months."""
        first, end = month_start(first), month_days(month_start(last))[-1]
        if not isinstance(resources, QuerySet):
            resources = Resource.objects.filter(pk__in=list(resources))
        rows = (
            resources.annotate(override=FilteredRelation("days", condition=Q(days__day__range=(first, end))))
            .order_by()
            .values_list(
                "id", "kind", "daily_capacity", "intl_share", "override__day", "override__capacity", "override__closed"
            )
        )
        found, overrides = {}, []
        for pk, kind, daily_capacity, intl_share, day, capacity, closed in rows:
            found.setdefault(pk, Resource(pk=pk, kind=kind, daily_capacity=daily_capacity, intl_share=intl_share))
            if day is not None:
                overrides.append((pk, day, capacity, closed))
        return cls(found.values(), first, last, rows=overrides)

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
    item, start_day: datetime.date, usages=None, *, activating: int | None = None, nights: int | None = None
) -> dict[tuple[int, datetime.date], int]:
    """{(resource id, day): units} that the service takes when it starts on start_day (`activating`: a
    resource being reactivated, counted as active; `nights`: the inpatient nights a clinical pathway books,
    which replace the days of its bed usages, as the quote includes them)."""
    usages = list(usages if usages is not None else item.usages.select_related("resource"))
    if not usages:
        raise InvalidInput(_("This service takes no bookable resource; set what it uses first."), field="item")
    plan: dict[tuple[int, datetime.date], int] = {}
    for usage in usages:
        if not usage.resource.active and usage.resource_id != activating:
            raise InvalidInput(_("A resource this service uses is not active."), field="item")
        days = usage.days
        if nights is not None and usage.resource.kind == ResourceKind.BED:
            days = nights
        for offset in range(usage.day_offset, usage.day_offset + days):
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


# --- taking the places ----------------------------------------------------------------------------


class _Full(Exception):
    pass


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
    if not _within_caps(totals, Capacities.read(resources, min(days), max(days))):
        raise _Full()  # rolls the increments back with the transaction
    bookings = Booking.objects.bulk_create(
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
    hospital_id = next(iter(resources.values())).hospital_id
    bookings_changed.send(sender=Booking, hospital_id=hospital_id, days=sorted(set(days)))
    return bookings


# --- audit ----------------------------------------------------------------------------------------


def _audit_listing(actor, hospital, action: str, cases) -> None:
    """One audit event for a list that shows cases of the hospital, naming them (none when it is empty)."""
    references = sorted({case.reference for case in cases})
    if references:
        record_event(actor, action, hospital, hospital=hospital, detail={"cases": references})
