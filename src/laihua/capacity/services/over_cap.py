"""Bookings over the cap. Lowering capacity or the share cancels nothing: the bookings over the new
cap are returned and listed (over_cap_bookings) for the coordinator to resolve."""

import datetime
from dataclasses import dataclass, field

from django.db.models import Q

from laihua.accounts.permissions import require_hospital_staff
from laihua.capacity.models import Booking, BookingStatus, IntlUsage, Resource
from laihua.capacity.services.quota import READERS, Capacities, _audit_listing, month_days, month_start
from laihua.kit import clock


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
