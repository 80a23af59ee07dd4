"""Random clinical pathways against random quota: every plan books exactly the pathway's nights on the
beds, starts no step before its predecessors plus their gap (and before their reports are ready), and
leaves no earlier than the fit-to-fly day nor before the last step is over."""

import datetime
from types import SimpleNamespace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from laihua.planning import solver
from laihua.planning.services.pathway_plan import PathwayPlan, apply
from laihua.planning.solver.problem import _uses

RESOURCES = {
    "clinic": SimpleNamespace(kind="clinic_session"),
    "theatre": SimpleNamespace(kind="theatre"),
    "beds": SimpleNamespace(kind="bed"),
}


@st.composite
def pathway_problems(draw):
    first = datetime.date(2027, 3, 1) + datetime.timedelta(days=draw(st.integers(0, 6)))
    stages, services, steps = [], [], {}
    for n in range(draw(st.integers(1, 3))):  # the work-up, in stages of one to three steps
        stage = []
        for k in range(draw(st.integers(1, 3))):
            key = f"w{n}{k}"
            stage.append((key, draw(st.integers(0, 2))))
            services.append(solver.Service(key, key, (solver.Usage("clinic"),), 30))
            steps[key] = SimpleNamespace(kind="test", turnaround_days=draw(st.integers(0, 2)), theatre_minutes=None)
        stages.append(stage)
    nights = draw(st.integers(0, 6))
    usages = (solver.Usage("theatre", 2), solver.Usage("beds", 1, 0, draw(st.integers(1, 9))))
    services.append(solver.Service("op", "op", usages, 120, stay_days=draw(st.integers(1, 9))))
    steps["op"] = SimpleNamespace(kind="procedure", turnaround_days=0, theatre_minutes=draw(st.integers(60, 240)))
    stages.append([("op", draw(st.integers(0, 2)))])
    services.append(solver.Service("check", "check", (solver.Usage("clinic"),), 20))
    steps["check"] = SimpleNamespace(kind="postop_check", turnaround_days=0, theatre_minutes=None)
    stages.append([("check", draw(st.integers(1, 8)))])
    orders = [
        {"before": before, "after": after, "min": gap, "max": None}
        for earlier, later in zip(stages, stages[1:], strict=False)
        for after, gap in later
        for before, _gap in earlier
    ]
    horizon = 45
    remaining = {
        key: {first + datetime.timedelta(days=d): draw(st.integers(0, 3)) for d in range(horizon + 10)}
        for key in RESOURCES
    }
    problem = solver.Problem(
        services=services,
        orders=[],
        resources={k: solver.Resource(k, k, "08:00-18:00" if k != "beds" else "", remaining[k]) for k in RESOURCES},
        earliest_arrival=first,
        latest_departure=first + datetime.timedelta(days=horizon),
        visits_per_day=draw(st.integers(2, 4)),
        time_limit=2.0,
    )
    plan = PathwayPlan(
        orders=orders, steps=steps, nights={"op": nights} if nights else {}, fly_after={"op": draw(st.integers(0, 12))}
    )
    return apply(problem, plan, RESOURCES), nights


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pathway_problems())
def test_pathway_plans_keep_nights_order_and_fit_to_fly(case):
    problem, nights = case
    outcome = solver.plan_trip(problem, explain_failure=False)
    for plan in (outcome.plan, outcome.greedy):
        if plan is None:
            continue
        assert solver.check(problem, plan) == []
        starts = {k: problem.index(v) for k, v in plan.starts.items()}
        by_key = {s.key: s for s in problem.services}
        bed_days = sum(units for r, _i, units in _uses(by_key["op"], starts["op"]) if r == "beds")
        assert bed_days == nights  # the quote's nights, never the catalog usage's days
        for order in problem.orders:
            before = by_key[order.before]
            assert starts[order.after] >= starts[order.before] + order.min_gap
            assert starts[order.after] >= solver.report_day(problem, before, starts[order.before])
        departure = problem.index(plan.departure)
        assert departure >= starts["op"] + problem.fly_after["op"]
        assert plan.fit_to_fly == problem.day(starts["op"] + problem.fly_after["op"])
        assert all(departure >= starts[k] + by_key[k].span for k in starts)
        assert plan.departure <= problem.latest_departure
