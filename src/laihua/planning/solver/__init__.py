"""The trip planner, free of Django: a problem of dataclasses in, a day-by-day plan out.

Days are counted from the patient's earliest arrival (day 0). CP-SAT chooses a start day for every
service within the remaining international quota of each resource and day, at most K visits a day, no
visit on a rest day, the latest departure and the limit of the entry route, each day's visits fitting
their resources' opening hours, and minimises the departure day, the days at the hospital and the days
of waiting. The greedy baseline books each service in clinical order on the earliest day with room, as
a coordinator does by hand; it is also the fallback when CP-SAT finds nothing in its time limit. When
no plan fits, `explain` relaxes one constraint at a time to name the binding one and returns the
nearest plan.

- problem: the dataclasses (Problem, Service, Usage, Order, Resource; Plan, Visit, Reason, Outcome)
  and the bound the clinical orders alone allow (lower_bound)
- hours: the times of each day's visits within opening hours
- plans: a plan from its start days, and check (what a plan breaks)
- sat: the CP-SAT model (cpsat); baseline: the greedy plan (greedy)
- explanation: explain, when nothing fits
- pathway: the clinical pathway's report turnarounds and fit-to-fly day (one function per concern)
- trip: plan_trip, the planner's entry
"""

from laihua.planning.solver.baseline import greedy
from laihua.planning.solver.explanation import RELAXED_EXTRA, explain
from laihua.planning.solver.hours import ALWAYS_OPEN, DAY_START, MORNING_END, MOVE_MINUTES, SEQUENCE_LIMIT, USUAL_HOURS
from laihua.planning.solver.pathway import fit_to_fly_day, report_day
from laihua.planning.solver.plans import check
from laihua.planning.solver.problem import (
    DEFAULT_HORIZON,
    HORIZON_MARGIN,
    Order,
    Outcome,
    Plan,
    Problem,
    Reason,
    Resource,
    Service,
    Usage,
    Visit,
    earliest_offsets,
    lower_bound,
)
from laihua.planning.solver.sat import DAY_MINUTES, MAX_CUT_ROUNDS, PRECUT_SIZE, cpsat
from laihua.planning.solver.trip import plan_trip

__all__ = [
    # the numbers the planner works with
    "ALWAYS_OPEN",
    "DAY_MINUTES",
    "DAY_START",
    "DEFAULT_HORIZON",
    "HORIZON_MARGIN",
    "MAX_CUT_ROUNDS",
    "MORNING_END",
    "MOVE_MINUTES",
    "PRECUT_SIZE",
    "RELAXED_EXTRA",
    "SEQUENCE_LIMIT",
    "USUAL_HOURS",
    # the problem and its answers
    "Order",
    "Outcome",
    "Plan",
    "Problem",
    "Reason",
    "Resource",
    "Service",
    "Usage",
    "Visit",
    # planning
    "check",
    "cpsat",
    "earliest_offsets",
    "explain",
    "greedy",
    "lower_bound",
    "plan_trip",
    # the clinical pathway
    "fit_to_fly_day",
    "report_day",
]
