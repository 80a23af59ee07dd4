"""The CP-SAT model: a start day for every service (one boolean per service and candidate day) within
the remaining international quota of each resource and day, at most K visits a day, no visit on a rest
day, the latest departure and the limit of the entry route, each day's visits fitting one after another
in their resources' opening hours (a set of visits that does not fit is cut off and the model solved
again). It minimises, in this order, the departure day, the days spent at the hospital and the days of
waiting."""

from __future__ import annotations

import itertools
import time

from ortools.sat.python import cp_model

from laihua.planning.solver import interpreters
from laihua.planning.solver.hours import _days, _Timer
from laihua.planning.solver.pathway import add_fit_to_fly, add_turnaround
from laihua.planning.solver.plans import _make_plan
from laihua.planning.solver.problem import Plan, Problem, Service, _remaining, _uses

DAY_MINUTES = 9 * 60  # most minutes of visits in one day
PRECUT_SIZE = 4  # most services in a set that does not fit one day, looked for before the first solve
MAX_CUT_ROUNDS = 30  # CP-SAT re-solves after excluding days whose visits do not fit the opening hours


def _solve(problem: Problem, *, primary: str = "departure", ignore_quota: frozenset[str] = frozenset(), coverage=None):
    """CP-SAT: (status, starts by key or None, optimal). A solution with a day whose visits do not fit the
    opening hours is cut off (those services never all on one day) and the model solved again, within
    the time limit. `coverage` (interpreters): the second pass, (the first pass's objective, its starts,
    when it began)."""
    began = coverage[2] if coverage else time.perf_counter()
    if not problem.services:
        return "infeasible", None, False
    timer = _Timer(problem)
    built = _model(problem, primary, ignore_quota, timer, coverage)
    if built is None:
        return "infeasible", None, False
    model, x, start_var, covered = built
    fallback = None  # interpreters: the last solution that fits the hours, should the cut rounds run out
    for _round in range(MAX_CUT_ROUNDS):
        left = problem.time_limit - (time.perf_counter() - began)
        if left <= 0:
            break
        solver = cp_model.CpSolver()
        solver.parameters.max_time_in_seconds = left
        solver.parameters.num_search_workers = problem.workers
        status = solver.Solve(model)
        if status == cp_model.INFEASIBLE:
            return "infeasible", None, False
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            break
        starts = {key: solver.Value(var) for key, var in start_var.items()}
        misfits = [keys for keys in _days(starts).values() if not timer.fits(keys)]
        # Interpreters: a visit claimed covered that no interpreter is free for at its exact time is cut off.
        if not misfits and interpreters.cuts(model, problem, x, covered, starts, solver.Value, timer):
            fallback = starts
            continue
        if not misfits:
            optimal = status == cp_model.OPTIMAL
            # Interpreters: a second pass, among the trips as good as this one (interpreters.py).
            if coverage is None and interpreters.wanted(problem):
                value = round(solver.ObjectiveValue())
                starts = (
                    _solve(problem, primary=primary, ignore_quota=ignore_quota, coverage=(value, starts, began))[1]
                    or starts
                )
            return ("optimal" if optimal else "feasible"), starts, optimal
        for keys in misfits:
            _apart(model, x, timer.core(keys))
    if fallback is not None:  # interpreters: the days fit; only the interpreters' coverage is not proven best
        return "feasible", fallback, False
    return "unknown", None, False


def _apart(model: cp_model.CpModel, x: dict, keys) -> None:
    """These services do not fit the opening hours together: not all of them on any one day."""
    days = {d for (_key, d) in x}
    for day in sorted(days):
        terms = [x[(k, day)] for k in keys if (k, day) in x]
        if len(terms) == len(keys):
            model.Add(sum(terms) <= len(keys) - 1)


def _misfits(timer: _Timer, keys: list[str], most: int) -> list[frozenset]:
    """The sets of two to `most` services that do not fit one day together, leaving out those that hold
    a smaller such set (its cut already covers them)."""
    found: list[frozenset] = []
    for size in range(2, most + 1):
        for combo in map(frozenset, itertools.combinations(keys, size)):
            if not any(f <= combo for f in found) and not timer.fits(combo):
                found.append(combo)
    return found


def _candidates(problem: Problem, service: Service, horizon: int, ignore_quota, timer: _Timer) -> list[int]:
    """The days the service may start: within the horizon, not a rest day, with room for it; none when
    the visit fits no day's opening hours even alone (longer than any opening, fasting after noon)."""
    if not timer.fits({service.key}):
        return []
    days = []
    for start in range(problem.arrival_buffer, horizon - service.span + 1):
        if problem.is_rest(start):
            continue
        if any(
            r not in ignore_quota and units > _remaining(problem, r, index) for r, index, units in _uses(service, start)
        ):
            continue
        days.append(start)
    return days


def _model(problem: Problem, primary: str, ignore_quota, timer: _Timer, coverage=None):
    """The CP-SAT model: (model, x by (service, day), start variable by service), or None when a service
    has no day at all."""
    services = problem.services
    horizon = problem.horizon
    model = cp_model.CpModel()
    x: dict[tuple[str, int], cp_model.IntVar] = {}
    start_var = {}
    for service in services:
        days = _candidates(problem, service, horizon, ignore_quota, timer)
        if not days:
            return None
        for start in days:
            x[(service.key, start)] = model.NewBoolVar(f"x_{service.key}_{start}")
        model.AddExactlyOne(x[(service.key, d)] for d in days)
        var = model.NewIntVarFromDomain(cp_model.Domain.FromValues(days), f"s_{service.key}")
        model.Add(var == sum(d * x[(service.key, d)] for d in days))
        start_var[service.key] = var
    by_key = {s.key: s for s in services}
    for o in problem.orders:
        if o.before in start_var and o.after in start_var:
            model.Add(start_var[o.after] - start_var[o.before] >= o.min_gap)
            if o.max_gap is not None:
                model.Add(start_var[o.after] - start_var[o.before] <= o.max_gap)
    # Quota: the units taken on each (resource, day) stay within the remaining international places.
    load: dict[tuple[str, int], list] = {}
    for (key, start), var in x.items():
        for resource, index, units in _uses(by_key[key], start):
            if resource not in ignore_quota:
                load.setdefault((resource, index), []).append(units * var)
    for (resource, index), terms in load.items():
        if len(terms) > 1:
            model.Add(sum(terms) <= _remaining(problem, resource, index))
    # At most K visits and DAY_MINUTES of visits a day.
    per_day: dict[int, list] = {}
    for (key, start), var in x.items():
        per_day.setdefault(start, []).append((var, by_key[key].duration_minutes))
    for terms in per_day.values():
        if len(terms) > problem.visits_per_day:
            model.Add(sum(v for v, _m in terms) <= problem.visits_per_day)
        if sum(m for _v, m in terms) > DAY_MINUTES:
            model.Add(sum(v * m for v, m in terms) <= DAY_MINUTES)
    # Small sets of visits that never fit one day's opening hours together are cut off before the first
    # solve: each re-solve costs about as much as the first. Larger sets are cut as solutions show them.
    for keys in _misfits(timer, [s.key for s in services], min(problem.visits_per_day, PRECUT_SIZE)):
        _apart(model, x, keys)
    departure = model.NewIntVar(0, horizon, "departure")
    first = model.NewIntVar(0, horizon, "first")
    model.AddMinEquality(first, list(start_var.values()))
    for service in services:
        model.Add(departure >= start_var[service.key] + service.span)
    # The clinical pathway: reports ready before the steps that wait for them, the flight after fit-to-fly.
    add_turnaround(model, problem, x, start_var)
    add_fit_to_fly(model, problem, start_var, departure)
    if problem.stay_limit is not None:
        model.Add(departure - first + problem.arrival_buffer <= problem.stay_limit)
    # Interpreters (second pass): the trip no worse than the first pass's, the fewest visits without one.
    added = interpreters.add_to_model(model, problem, x, timer) if coverage else None
    covered, extra = (added[0], added[1:]) if added else ({}, None)
    trip = _objective(model, problem, x, departure, first, primary, horizon, extra)
    if added:
        model.Add(trip <= coverage[0])
        for key, day in coverage[1].items():
            model.AddHint(start_var[key], day)
    return model, x, start_var, covered


def _objective(model, problem: Problem, x: dict, departure, first, primary: str, horizon: int, extra=None):
    """Minimise the departure, the days at the hospital, the stay (the stay first when `primary` says so),
    then the visits without an interpreter in person (`extra`: their count and its largest value)."""
    # Days at the hospital: busy[t] is 1 when any service keeps the patient there on day t.
    busy = []
    for t in range(problem.arrival_buffer, horizon):
        active = []
        for service in problem.services:
            terms = [x[(service.key, t - k)] for k in range(service.span) if (service.key, t - k) in x]
            if terms:
                active.append(terms)
        if not active:
            continue
        flag = model.NewBoolVar(f"busy_{t}")
        for terms in active:
            model.Add(flag >= sum(terms))
        busy.append(flag)
    weight = horizon + 2
    stay = departure - first
    if primary == "stay":
        objective = stay * weight * weight + departure * weight + sum(busy)
    else:
        objective = departure * weight * weight + sum(busy) * weight + stay
    if extra is None:
        model.Minimize(objective)
    else:  # interpreters: lexicographically after the trip's own terms
        uncovered, most = extra
        model.Minimize(objective * interpreters.objective_weight(most) + uncovered)
    return objective


def cpsat(problem: Problem, **options) -> Plan | None:
    """The CP-SAT plan, or None when there is none (or none found in the time limit)."""
    began = time.perf_counter()
    status, starts, optimal = _solve(problem, **options)
    if starts is None:
        return None
    return _make_plan(problem, starts, "cpsat", optimal=optimal, seconds=time.perf_counter() - began)
