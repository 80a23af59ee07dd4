"""Keeping the monthly roll-up (MonthlyUse) equal to a recount of the bookings and the capacity.

A hospital's months are recomputed from its bookings (the booked units of each month, and the distinct
patients they were booked for) and its resources' capacity (the month's capacity and cap, as the quota
counts them: capacity.services.Capacities). Recomputing locks the hospital's row first, so two recounts
of the same hospital follow each other and the later one writes what the later data says."""

import datetime
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Case, CharField, Min, Sum, Value, When
from django.db.models import Count as CountOf
from django.db.models.functions import TruncMonth

from laihua.capacity.models import Booking, BookingStatus, Resource
from laihua.capacity.services import Capacities, month_days, month_start
from laihua.fairness.models import CATEGORY_OF_KIND, Category, MonthlyUse, Refresh, RefreshKind
from laihua.hospitals.models import Hospital
from laihua.kit import clock

# A whole recount goes back at most this many months (and never before the first booking).
MAX_MONTHS_BACK = 120


@dataclass
class Count:
    used: int = 0
    capacity: int = 0
    cap: int = 0
    patients: int = 0


def next_month(first: datetime.date) -> datetime.date:
    return (first.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)


def months_between(first: datetime.date, last: datetime.date) -> list[datetime.date]:
    """Every month from first's to last's, as their first days."""
    months, month = [], month_start(first)
    while month <= month_start(last):
        months.append(month)
        month = next_month(month)
    return months


def recount(hospital_id: int, months: list[datetime.date]) -> dict[tuple[datetime.date, str], Count]:
    """{(month, category): Count} for the hospital's months, from its bookings and resources: every
    category of an active resource, and every category with a booking, is present."""
    months = sorted({month_start(month) for month in months})
    counts: dict[tuple[datetime.date, str], Count] = {}
    if not months:
        return counts
    # The active resources and their capacity over the months, in one read.
    capacities = Capacities.read(Resource.objects.filter(hospital_id=hospital_id, active=True), months[0], months[-1])
    active = sorted(capacities.resources.values(), key=lambda resource: resource.pk)
    wanted = set(months)
    for month in months:
        for resource in active:
            count = counts.setdefault((month, CATEGORY_OF_KIND[resource.kind]), Count())
            count.capacity += capacities.month(resource.pk, month)
            count.cap += capacities.month_cap(resource.pk, month)
    # Counted by the database, one row per (month, category): a recount follows every booking change, so
    # its cost in Python must not grow with the month's bookings.
    category = Case(
        *[When(resource__kind=kind, then=Value(str(category))) for kind, category in CATEGORY_OF_KIND.items()],
        output_field=CharField(),
    )
    rows = (
        Booking.objects.filter(
            resource__hospital_id=hospital_id,
            status=BookingStatus.BOOKED,
            day__range=(months[0], month_days(months[-1])[-1]),
        )
        .annotate(month=TruncMonth("day"), category=category)
        .values("month", "category")
        .annotate(used=Sum("units"), patients=CountOf("case__patient_id", distinct=True))
        .order_by()
    )
    for row in rows:
        month = row["month"]
        month = month.date() if isinstance(month, datetime.datetime) else month
        if month not in wanted:
            continue
        count = counts.setdefault((month, Category(row["category"])), Count())
        count.used += row["used"]
        count.patients = row["patients"]
    return counts


def refresh_months(hospital_id: int, months) -> int:
    """Recompute the hospital's rows for these months (replacing what was there); the rows written."""
    months = sorted({month_start(month) for month in months})
    if not months:
        return 0
    with transaction.atomic():
        # Serialise recounts of one hospital: the later one reads the later bookings.
        Hospital.objects.select_for_update().filter(pk=hospital_id).values_list("pk", flat=True).first()
        counts = recount(hospital_id, months)
        now = clock.now()
        MonthlyUse.objects.filter(hospital_id=hospital_id, month__in=months).delete()
        MonthlyUse.objects.bulk_create(
            [
                MonthlyUse(
                    hospital_id=hospital_id,
                    month=month,
                    category=category,
                    used=count.used,
                    capacity=count.capacity,
                    cap=count.cap,
                    patients=count.patients,
                    updated_at=now,
                )
                for (month, category), count in sorted(counts.items())
            ]
        )
    return len(counts)


def refresh_days(hospital_id: int, days) -> int:
    """Recompute the months these days fall in (after bookings changed on them)."""
    return refresh_months(hospital_id, {month_start(day) for day in days})


def recount_soon(hospital_id: int, days) -> None:
    """After bookings changed on these days: a job recounts their months (one job per hospital and month while
    one waits, however many bookings ask), or, with no job taking it over, the recount runs now."""
    from laihua.fairness.signals import recount_wanted

    months = sorted({month_start(day) for day in days})
    if not months:
        return
    answers = recount_wanted.send(sender=MonthlyUse, hospital_id=hospital_id, months=months)
    if not any(taken for _receiver, taken in answers):
        refresh_months(hospital_id, months)


def report_window(until: datetime.date | None = None) -> list[datetime.date]:
    """The months a whole recount covers: from the first booking's month (at most MAX_MONTHS_BACK months
    back) to the month `until` falls in (this month by default)."""
    last = month_start(until or clock.today())
    earliest = last
    for _step in range(MAX_MONTHS_BACK - 1):
        earliest = (earliest - datetime.timedelta(days=1)).replace(day=1)
    first = Booking.objects.aggregate(first=Min("day"))["first"]
    first = max(month_start(first), earliest) if first else last
    return months_between(min(first, last), last)


def refresh_all(months=None) -> int:
    """The job: recompute every hospital with resources over the report's months (or the given ones) and
    note the time. Returns the rows written."""
    started = clock.now()
    months = sorted(set(months)) if months else report_window()
    written = 0
    hospital_ids = Resource.objects.order_by().values_list("hospital_id", flat=True).distinct()
    for hospital_id in sorted(set(hospital_ids)):
        written += refresh_months(hospital_id, months)
    Refresh.objects.create(kind=RefreshKind.USE, started_at=started, finished_at=clock.now(), rows=written)
    return written


__all__ = [
    "Category",
    "Count",
    "recount",
    "recount_soon",
    "refresh_all",
    "refresh_days",
    "refresh_months",
    "report_window",
]
