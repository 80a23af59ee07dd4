"""Utilisation: each resource's international use against its cap by day and for the month, with
levels (ok, warn at 80%, full at 100%), the metrics (units) a hospital reports its share on, the CSV
export and the platform admin's overview of every hospital."""

import datetime
import io
from decimal import Decimal

from django.db import transaction
from django.db.models import Q, Sum
from django.utils.translation import gettext as _

from laihua.accounts.models import Role
from laihua.accounts.permissions import require_hospital_staff, require_role
from laihua.audit.services import record_event
from laihua.capacity.models import Booking, BookingStatus, IntlUsage, ReportedMetrics, Resource, Unit
from laihua.capacity.services.quota import (
    CAPACITY_EDITORS,
    READERS,
    Capacities,
    effective_share,
    month_days,
    month_start,
)
from laihua.errors import InvalidInput, PermissionDenied
from laihua.hospitals.models import Hospital
from laihua.kit.csvdata import SafeWriter

WARN_AT = Decimal("0.80")
FIRST_REPORT_YEAR, LAST_REPORT_YEAR = 2000, 2100


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


def level_of(booked: int, cap: int) -> str:
    """ok, warn (80% or more of the cap) or full (100% or more; a cap of 0 is full)."""
    if cap <= 0 or booked >= cap:
        return "full"
    if Decimal(booked) >= WARN_AT * cap:
        return "warn"
    return "ok"


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
    writer = SafeWriter(out)
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
