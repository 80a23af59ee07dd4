"""Planning a trip: CP-SAT first, the greedy plan as the fallback and the comparison, and the reasons and
the nearest plan when none fits."""

from __future__ import annotations

import time

from laihua.planning.solver.baseline import greedy
from laihua.planning.solver.explanation import explain
from laihua.planning.solver.plans import _make_plan
from laihua.planning.solver.problem import Outcome, Problem, lower_bound
from laihua.planning.solver.sat import _solve


def plan_trip(problem: Problem, *, explain_failure: bool = True) -> Outcome:
    """CP-SAT first, greedy as the fallback and the comparison; reasons and the nearest plan when none fits."""
    bound = lower_bound(problem)
    began = time.perf_counter()
    status, starts, optimal = _solve(problem)
    seconds = time.perf_counter() - began
    base = greedy(problem)
    if starts is not None:
        plan = _make_plan(problem, starts, "cpsat", optimal=optimal, seconds=seconds)
        return Outcome(plan=plan, greedy=base, bound=bound, status=status)
    if base is not None:  # CP-SAT ran out of time: the greedy plan is still a plan
        return Outcome(plan=base, greedy=base, bound=bound, status="fallback")
    outcome = Outcome(plan=None, greedy=None, bound=bound, status="infeasible")
    if explain_failure:
        outcome.reasons, outcome.nearest = explain(problem)
    return outcome
