"""When no plan fits: relax one constraint at a time to name the binding one, and find the nearest plan."""

from __future__ import annotations

import datetime
from dataclasses import replace

from laihua.planning.solver.problem import (
    Plan,
    Problem,
    Reason,
    Resource,
    Service,
    _remaining,
    _uses,
    earliest_offsets,
    lower_bound,
)
from laihua.planning.solver.sat import cpsat

RELAXED_EXTRA = 60  # days added to the window when the latest departure or the stay limit is relaxed


def _fmt(day: datetime.date) -> str:
    return f"{day.day} {day:%B %Y}"


def _quick(problem: Problem) -> Problem:
    return replace(problem, time_limit=min(problem.time_limit, 0.5))


def _full_until(problem: Problem, key: str, nearest: Plan | None = None) -> datetime.date | None:
    """The first day the resource has room again for a service it holds up: for each service using it,
    the first day from the service's earliest start (the arrival buffer and the orders' gaps), not a rest
    day, with room for what it takes of the resource; the earliest of those later than that start. When
    it holds none up on its own (it binds with others), the first day the nearest plan uses it later
    than a service's earliest start. Never later than the nearest plan's day for a service it held up."""
    lows = {k: problem.arrival_buffer + v for k, v in earliest_offsets(problem).items()}
    users = [s for s in problem.services if any(u.resource == key for u in s.usages)]
    held = [d for s in users if (d := _first_room(problem, s, key, lows[s.key])) is not None and d > lows[s.key]]
    if not held and nearest is not None:
        held = [i for s in users if (i := problem.index(nearest.starts[s.key])) > lows[s.key]]
    return problem.day(min(held)) if held else None


def _first_room(problem: Problem, service: Service, key: str, low: int) -> int | None:
    """The first day from `low`, not a rest day, on which the resource has room for the service."""
    for start in range(low, problem.horizon + RELAXED_EXTRA):
        if not problem.is_rest(start) and all(
            units <= _remaining(problem, r, index) for r, index, units in _uses(service, start) if r == key
        ):
            return start
    return None


def explain(problem: Problem) -> tuple[list[Reason], Plan | None]:
    """Relax one constraint at a time: the reasons (binding constraint first) and the nearest plan."""
    quick = _quick(problem)
    reasons: list[Reason] = []
    nearest: Plan | None = None
    # 1. Dates: a later departure and a longer stay. When that helps, capacity or the window binds.
    # With no latest departure the date below only widens the search of this relaxed copy: no reason
    # names it (step 3 needs the patient's own latest departure).
    wider = replace(
        quick,
        latest_departure=problem.day(problem.horizon + RELAXED_EXTRA),
        stay_limit=None,
    )
    later = cpsat(wider)
    if later is not None:
        free = cpsat(replace(quick, resources={k: _unlimited(r) for k, r in problem.resources.items()}))
        if free is not None:
            # Capacity binds: name the resources that, given room, would make the window work.
            for key, resource in problem.resources.items():
                alone = cpsat(replace(quick, resources={**problem.resources, key: _unlimited(resource)}))
                if alone is None:
                    continue
                until = _full_until(problem, key, later) or later.departure
                reasons.append(
                    Reason(
                        "quota",
                        {"resource": resource.name or key, "key": key, "until": until.isoformat()},
                        f"{resource.name or key} quota full until {_fmt(until)}",
                    )
                )
            if not reasons:
                reasons.append(Reason("quota_many", {}, "several resources are fully booked in these dates"))
        nearest = later
    # 2. The entry route's limit (the clinical order alone may need longer than the route allows).
    if problem.stay_limit is not None:
        longer = cpsat(replace(quick, stay_limit=None), primary="stay")
        if longer is None and later is not None:
            longer = cpsat(replace(wider, stay_limit=None), primary="stay")
        if longer is not None and longer.stay > problem.stay_limit:
            excess = longer.stay - problem.stay_limit
            route = problem.route or f"{problem.stay_limit}-day"
            reasons.insert(
                0 if lower_bound(problem) > problem.stay_limit else len(reasons),
                Reason(
                    "stay_limit",
                    {"route": route, "limit": problem.stay_limit, "excess": excess},
                    f"the stay would exceed the {route} limit by {excess} day{'s' if excess != 1 else ''}",
                ),
            )
            if nearest is None or lower_bound(problem) > problem.stay_limit:
                nearest = longer
    # 3. The latest departure.
    if problem.latest_departure is not None and later is not None and later.departure > problem.latest_departure:
        over = (later.departure - problem.latest_departure).days
        if not any(r.code == "quota" for r in reasons):
            reasons.append(
                Reason(
                    "latest_departure",
                    {"latest": problem.latest_departure.isoformat(), "excess": over},
                    f"the earliest departure is {_fmt(later.departure)}, {over} day{'s' if over != 1 else ''} "
                    f"after the latest departure of {_fmt(problem.latest_departure)}",
                )
            )
    # 4. The patient's preferences.
    if problem.visits_per_day < len(problem.services):
        more = cpsat(replace(quick, visits_per_day=len(problem.services)))
        if more is not None:
            reasons.append(
                Reason(
                    "visits_per_day",
                    {"limit": problem.visits_per_day},
                    f"at most {problem.visits_per_day} hospital visits a day leaves no plan in these dates",
                )
            )
            nearest = nearest or more
    if problem.rest_days or problem.rest_weekdays:
        rested = cpsat(replace(quick, rest_days=frozenset(), rest_weekdays=frozenset()))
        if rested is not None:
            reasons.append(Reason("rest_days", {}, "the rest days leave no plan in these dates"))
            nearest = nearest or rested
    if not reasons:
        reasons.append(Reason("no_plan", {}, "no plan fits even with a later departure and a longer stay"))
    return reasons, nearest


def _unlimited(resource: Resource) -> Resource:
    return Resource(resource.key, resource.name, resource.opening_hours, _Plenty())


class _Plenty(dict):
    def get(self, key, default=None):
        return 10**6
