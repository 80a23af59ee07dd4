"""The greedy baseline: each service in clinical order on the earliest day with room, as a coordinator
does by hand. It is the comparison shown with every plan and the fallback when CP-SAT finds nothing in
its time limit."""

from __future__ import annotations

import time

from laihua.planning.solver.hours import _Timer
from laihua.planning.solver.pathway import ready_floor
from laihua.planning.solver.plans import _make_plan
from laihua.planning.solver.problem import Plan, Problem, Service, _start_allowed, _topological, _uses


def greedy(problem: Problem, *, max_restarts: int = 300) -> Plan | None:
    """Book each service in clinical order on the earliest day with room; None when that fails."""
    began = time.perf_counter()
    services = _topological(problem)
    horizon = problem.horizon
    timer = _Timer(problem)
    floor: dict[str, int] = {}
    for _attempt in range(max_restarts):
        starts: dict[str, int] = {}
        used: dict = {}
        booked: dict[int, frozenset] = {}  # the services starting on each day
        failed = None
        for service in services:
            preds = [o for o in problem.orders if o.after == service.key and o.before in starts]
            low = max(
                [problem.arrival_buffer, floor.get(service.key, 0), ready_floor(problem, service, starts)]
                + [starts[o.before] + o.min_gap for o in preds]
            )
            caps = [starts[o.before] + o.max_gap for o in preds if o.max_gap is not None]
            high = min(caps + [horizon - service.span])
            chosen = _earliest_day(problem, service, range(low, high + 1), used, booked, timer)
            if chosen is None:
                failed = (service, preds)
                break
            starts[service.key] = chosen
            booked[chosen] = booked.get(chosen, frozenset()) | {service.key}
            for resource, index, units in _uses(service, chosen):
                used[(resource, index)] = used.get((resource, index), 0) + units
        if failed is None:
            plan = _make_plan(problem, starts, "greedy", seconds=time.perf_counter() - began, timer=timer)
            if problem.stay_limit is not None and plan.stay > problem.stay_limit:
                return None
            if problem.latest_departure is not None and plan.departure > problem.latest_departure:
                return None
            return plan
        service, preds = failed
        bounded = [o for o in preds if o.max_gap is not None]
        if not bounded:
            return None
        # As a coordinator would: move the predecessor with a deadline one day later and start again.
        for o in bounded:
            floor[o.before] = starts[o.before] + 1
    return None


def _earliest_day(problem: Problem, service: Service, days: range, used: dict, booked: dict, timer: _Timer):
    """The first of these days with room for the service and under K visits, on which the day's visits
    still fit the opening hours with it; None when there is none."""
    for start in days:
        today = booked.get(start, frozenset())
        if len(today) >= problem.visits_per_day or not _start_allowed(problem, service, start, used):
            continue
        if timer.fits(today | {service.key}):
            return start
    return None
