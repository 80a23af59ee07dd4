"""Keeping the monthly roll-up (MonthlyUse) equal to a recount of the bookings and the capacity.

A hospital's months are recomputed from its bookings (the booked units of each month, and the distinct
patients they were booked for) and its resources' capacity (the month's capacity and cap, as the quota
counts them: capacity.services.Capacities). Recomputing locks the hospital's row first, so two recounts
of the same hospital follow each other and the later one writes what the later data says."""

import datetime
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import Case, CharField, Min, Q, Sum, Value, When
from django.db.models import Count as CountOf
from django.db.models.functions import TruncMonth

from laihua.capacity.models import Booking, BookingStatus, Resource
from laihua.capacity.services import Capacities, month_days, month_start
from laihua.fairness.models import CATEGORY_OF_KIND, Category, MonthlyUse, PendingRecount, Refresh, RefreshKind
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
    """After bookings changed on these days (and committed): their months are marked as waiting for a recount
    (one upsert), and a job recounts them when a broker takes jobs (one per hospital and month while one waits,
    however many bookings ask). Without a broker the months wait for the next read of the report
    (recount_pending), so that a burst of bookings costs one recount, not one each."""
    from laihua.fairness.signals import recount_wanted

    months = sorted({month_start(day) for day in days})
    if not months:
        return
    table = connection.ops.quote_name(PendingRecount._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (hospital_id, month, version) VALUES "  # noqa: S608 (no input in the names)
            + ", ".join(["(%s, %s, 1)"] * len(months))
            + f" ON CONFLICT (hospital_id, month) DO UPDATE SET version = {table}.version + 1",
            [value for month in months for value in (hospital_id, month)],
        )
    recount_wanted.send(sender=MonthlyUse, hospital_id=hospital_id, months=months)


def recount_pending(hospital_id: int | None = None) -> int:
    """Recount every month waiting for it (of one hospital, or of all); the rows written. A month changed again
    while it is recounted keeps waiting (its version moved on), so no change is ever left uncounted."""
    waiting = PendingRecount.objects.order_by("hospital_id", "month")
    if hospital_id is not None:
        waiting = waiting.filter(hospital_id=hospital_id)
    marks = list(waiting.values_list("pk", "hospital_id", "month", "version"))
    if not marks:
        return 0
    months_of: dict[int, list[datetime.date]] = {}
    for _pk, hospital, month, _version in marks:
        months_of.setdefault(hospital, []).append(month)
    written = sum(refresh_months(hospital, months) for hospital, months in months_of.items())
    done = Q()
    for pk, _hospital, _month, version in marks:
        done |= Q(pk=pk, version=version)
    PendingRecount.objects.filter(done).delete()  # `marks` is not empty: never every row
    return written


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
    written = recount_pending()
    months = sorted(set(months)) if months else report_window()
    hospital_ids = Resource.objects.order_by().values_list("hospital_id", flat=True).distinct()
    for hospital_id in sorted(set(hospital_ids)):
        written += refresh_months(hospital_id, months)
    Refresh.objects.create(kind=RefreshKind.USE, started_at=started, finished_at=clock.now(), rows=written)
    return written


__all__ = [
    "Category",
    "Count",
    "recount",
    "recount_pending",
    "recount_soon",
    "refresh_all",
    "refresh_days",
    "refresh_months",
    "report_window",
]
