"""The clinical pathway's own constraints, beside the capacity and the clinical order: a test's report is
ready some working days after it (the steps that wait for it start on that day at the earliest), and the
patient flies home no earlier than the fit-to-fly day of each procedure (its start plus the days the
pathway's fit-to-fly rule asks). One function per concern for CP-SAT (add_turnaround, add_fit_to_fly),
the same rules for the greedy plan (ready_floor, departure_floor) and for `check` (broken)."""

from __future__ import annotations

from laihua.planning.solver.problem import Problem, Service

WORKING_WEEKDAYS = frozenset(range(5))  # Monday to Friday: reports are written on working days


def report_day(problem: Problem, service: Service, start: int) -> int:
    """The day (index) the service's report is ready when it starts on `start`: `turnaround_days` working
    days later (the day itself when it has none)."""
    day, left = start, service.turnaround_days
    while left > 0:
        day += 1
        if problem.day(day).weekday() in WORKING_WEEKDAYS:
            left -= 1
    return day


def _waits_for_report(problem: Problem):
    """(order, the service it waits for) for each order whose first service has a report turnaround."""
    by_key = {s.key: s for s in problem.services}
    for order in problem.orders:
        before = by_key.get(order.before)
        if before is not None and before.turnaround_days and order.after in by_key:
            yield order, before


def add_turnaround(model, problem: Problem, x: dict, start_var: dict) -> None:
    """CP-SAT: a step waiting for a report starts on the day the report is ready, at the earliest."""
    for order, before in _waits_for_report(problem):
        for (key, start), chosen in x.items():
            if key == before.key:
                ready = report_day(problem, before, start)
                if ready > start + order.min_gap:
                    model.Add(start_var[order.after] >= ready).OnlyEnforceIf(chosen)


def add_fit_to_fly(model, problem: Problem, start_var: dict, departure) -> None:
    """CP-SAT: the departure is on or after each procedure's fit-to-fly day."""
    for key, days in problem.fly_after.items():
        if key in start_var:
            model.Add(departure >= start_var[key] + days)


def ready_floor(problem: Problem, service: Service, starts: dict[str, int]) -> int:
    """Greedy: the first day the service may start once the reports it waits for are ready."""
    by_key = {s.key: s for s in problem.services}
    return max(
        (
            report_day(problem, by_key[o.before], starts[o.before])
            for o in problem.orders
            if o.after == service.key and o.before in starts and by_key[o.before].turnaround_days
        ),
        default=0,
    )


def departure_floor(problem: Problem, starts: dict[str, int]) -> int:
    """The first day the patient may fly home: after every procedure's fit-to-fly days."""
    return max((starts[k] + d for k, d in problem.fly_after.items() if k in starts), default=0)


def fit_to_fly_day(problem: Problem, starts: dict[str, int]) -> int | None:
    """The fit-to-fly day (index) of the plan, or None when it has no fit-to-fly rule."""
    days = [starts[k] + d for k, d in problem.fly_after.items() if k in starts]
    return max(days) if days else None


def broken(problem: Problem, starts: dict[str, int], departure: int) -> list[str]:
    """What these start days break of the pathway's rules (for `check`)."""
    by_key = {s.key: s for s in problem.services}
    out = []
    for order, before in _waits_for_report(problem):
        if starts[order.after] < report_day(problem, before, starts[before.key]):
            out.append(f"report {before.key}->{order.after}")
    if departure < departure_floor(problem, starts):
        out.append("fit_to_fly")
    for key, start in starts.items():
        if departure < start + by_key[key].span:
            out.append(f"departure before {key} is over")
    return out
