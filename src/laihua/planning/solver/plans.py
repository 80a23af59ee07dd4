"""A plan from the start days chosen (arrival, departure, hospital days, the visits with their times),
and what a plan breaks."""

from __future__ import annotations

from laihua.planning.solver import interpreters
from laihua.planning.solver.hours import _days, _Timer, _times
from laihua.planning.solver.pathway import broken as pathway_broken
from laihua.planning.solver.pathway import departure_floor, fit_to_fly_day
from laihua.planning.solver.problem import Plan, Problem, _remaining, _uses


def _make_plan(
    problem: Problem, starts: dict[str, int], method: str, *, optimal=False, seconds=0.0, timer: _Timer | None = None
) -> Plan:
    """The plan for these start days: arrival, departure, hospital days and the visits with their times."""
    by_key = {s.key: s for s in problem.services}
    first = min(starts.values())
    departure = max([starts[k] + by_key[k].span for k in starts] + [departure_floor(problem, starts)])
    busy = set()
    for key, start in starts.items():
        busy.update(range(start, start + by_key[key].span))
    plan = Plan(
        method=method,
        arrival=problem.day(first - problem.arrival_buffer),
        departure=problem.day(departure),
        starts={k: problem.day(v) for k, v in starts.items()},
        hospital_days=len(busy),
        optimal=optimal,
        seconds=seconds,
    )
    fly = fit_to_fly_day(problem, starts)
    plan.fit_to_fly = problem.day(fly) if fly is not None else None
    plan.visits = _times(problem, starts, timer)
    # Interpreters: who interprets each visit, now that its time is known.
    assigned = interpreters.assign(problem, plan.visits)
    for visit in plan.visits:
        if visit.service in assigned:
            visit.language, visit.interpreter = assigned[visit.service].language, assigned[visit.service].interpreter
    return plan


def check(problem: Problem, plan: Plan) -> list[str]:
    """What the plan breaks (empty when it keeps every constraint): used by tests and the benchmark."""
    by_key = {s.key: s for s in problem.services}
    starts = {k: problem.index(v) for k, v in plan.starts.items()}
    broken = []
    for o in problem.orders:
        gap = starts[o.after] - starts[o.before]
        if gap < o.min_gap or (o.max_gap is not None and gap > o.max_gap):
            broken.append(f"order {o.before}->{o.after}")
    used: dict = {}
    for key, start in starts.items():
        for resource, index, units in _uses(by_key[key], start):
            used[(resource, index)] = used.get((resource, index), 0) + units
    for (resource, index), units in used.items():
        if units > _remaining(problem, resource, index):
            broken.append(f"quota {resource} {problem.day(index)}")
    per_day: dict = {}
    for start in starts.values():
        per_day[start] = per_day.get(start, 0) + 1
        if problem.is_rest(start):
            broken.append(f"rest {problem.day(start)}")
    broken += [f"visits {problem.day(d)}" for d, n in per_day.items() if n > problem.visits_per_day]
    if problem.stay_limit is not None and plan.stay > problem.stay_limit:
        broken.append("stay_limit")
    if problem.latest_departure is not None and plan.departure > problem.latest_departure:
        broken.append("latest_departure")
    if plan.arrival < problem.earliest_arrival:
        broken.append("earliest_arrival")
    broken += pathway_broken(problem, starts, problem.index(plan.departure))
    timer = _Timer(problem)
    broken += [f"hours {problem.day(d)}" for d, keys in _days(starts).items() if not timer.fits(keys)]
    return broken
