"""The solver's problem for a case, from the database: the services with their usages, the clinical
orders and each resource's remaining international places by day (the day cap minus what is booked,
never above what is left of the month cap; closed days have none). The case's own bookings count as
free: a re-plan may move them."""

import datetime

from django.db.models import QuerySet

from laihua.capacity.models import Booking, BookingStatus, IntlUsage, ServiceUsage
from laihua.capacity.services import Capacities, last_bookable_day, month_start
from laihua.cases.models import Case
from laihua.kit.i18n import pick
from laihua.planning import solver
from laihua.planning.models import ItineraryItem, ItineraryStatus, Repeat
from laihua.planning.services import pathway_plan
from laihua.planning.services.inputs import MAX_WINDOW_DAYS, Planned


def _trip_requests(case: Case) -> QuerySet:
    """The booking requests of the case's confirmed trip."""
    return ItineraryItem.objects.filter(
        itinerary__case=case, itinerary__status=ItineraryStatus.ACTIVE, booking_request__isnull=False
    ).values("booking_request_id")


def build_problem(
    case: Case,
    planned: list[Planned],
    inputs: dict,
    *,
    time_limit: float = 1.0,
    pathways: pathway_plan.PathwayPlan | None = None,
) -> solver.Problem:
    """The solver's problem: services with their usages, orders and each resource's remaining places by day.

    A service planned several times becomes that many solver services in a chain: each time starts
    when the last one's days are over, the next day for consecutive inpatient days. A clinical order
    that names the service holds from its last time (when it comes first) or to its first time."""
    items = [p.item for p in planned]
    earliest = inputs["earliest_arrival"]
    last = inputs["latest_departure"] or earliest + datetime.timedelta(days=MAX_WINDOW_DAYS)
    # Look further than the window so that the explanation can name when a quota frees up; never past
    # the last day the capacity booking takes, so that no plan is made that could not be confirmed.
    end = min(last + datetime.timedelta(days=solver.RELAXED_EXTRA), last_bookable_day())
    usages = list(ServiceUsage.objects.filter(item__in=items).select_related("resource"))
    resources = {u.resource_id: u.resource for u in usages if u.resource.active}
    services, chains = [], []
    for p in planned:
        mine = tuple(
            solver.Usage(str(u.resource_id), u.units, u.day_offset, u.days)
            for u in usages
            if u.item_id == p.item.pk and u.resource_id in resources
        )
        name = pick(p.item.name)
        for n, key in enumerate(p.keys, start=1):
            label = name if len(p.keys) == 1 else f"{name} ({n}/{len(p.keys)})"
            services.append(solver.Service(key, label, mine, p.duration, p.morning_only, p.stay))
        span = services[-1].span
        close = span if p.repeat == Repeat.CONSECUTIVE else None
        chains += [solver.Order(a, b, span, close) for a, b in zip(p.keys, p.keys[1:], strict=False)]
    first_time = {p.item.code: p.keys[0] for p in planned}
    last_time = {p.item.code: p.keys[-1] for p in planned}
    caps = Capacities(list(resources.values()), earliest, end) if resources else None
    used = {}
    for rid, period, day, units in IntlUsage.objects.filter(
        resource_id__in=resources, day__range=(month_start(earliest), end)
    ).values_list("resource_id", "period", "day", "booked_units"):
        used[(rid, period, day)] = units
    own: dict = {}  # the confirmed trip's bookings: confirming a re-plan gives them back first
    for rid, day, units in Booking.objects.filter(
        case=case,
        status=BookingStatus.BOOKED,
        request_id__in=_trip_requests(case),
        resource_id__in=resources,
        day__range=(month_start(earliest), end),
    ).values_list("resource_id", "day", "units"):
        own[(rid, IntlUsage.DAY, day)] = own.get((rid, IntlUsage.DAY, day), 0) + units
        key = (rid, IntlUsage.MONTH, month_start(day))
        own[key] = own.get(key, 0) + units
    out = {}
    for rid, resource in resources.items():
        remaining = {}
        day = earliest
        while day <= end:
            first = month_start(day)
            day_left = caps.day_cap(rid, day) - used.get((rid, IntlUsage.DAY, day), 0) + own.get((rid, "day", day), 0)
            month_left = (
                caps.month_cap(rid, first)
                - used.get((rid, IntlUsage.MONTH, first), 0)
                + own.get((rid, IntlUsage.MONTH, first), 0)
            )
            remaining[day] = max(0, min(day_left, month_left))
            day += datetime.timedelta(days=1)
        out[str(rid)] = solver.Resource(str(rid), pick(resource.name), resource.opening_hours, remaining)
    problem = solver.Problem(
        services=services,
        orders=[
            solver.Order(last_time[o["before"]], first_time[o["after"]], o["min"], o["max"]) for o in inputs["orders"]
        ]
        + chains,
        resources=out,
        earliest_arrival=earliest,
        latest_departure=inputs["latest_departure"],
        stay_limit=inputs["stay_limit"],
        route=inputs.get("limit_name") or inputs.get("route_name") or "",
        visits_per_day=inputs["visits_per_day"],
        rest_days=frozenset(datetime.date.fromisoformat(d) for d in inputs["rest_days"]),
        rest_weekdays=frozenset(inputs["rest_weekdays"]),
        time_limit=time_limit,
    )
    if pathways is not None:  # the clinical pathways' steps, nights, report turnarounds and fit-to-fly day
        problem = pathway_plan.apply(problem, pathways, {str(rid): r for rid, r in resources.items()})
    return problem
