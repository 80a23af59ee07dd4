"""Random small problems: every plan keeps every constraint, CP-SAT never leaves later than greedy,
and no plan is shorter than the bound."""

import datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from laihua.planning.solver import Order, Problem, Resource, Service, Usage, check, cpsat, greedy, lower_bound

FIRST = datetime.date(2027, 5, 3)
RESOURCES = ("a", "b", "c")


@st.composite
def problems(draw):
    count = draw(st.integers(min_value=1, max_value=6))
    services = []
    for n in range(count):
        resource = draw(st.sampled_from(RESOURCES))
        stay = draw(st.integers(min_value=1, max_value=3))
        usages = (Usage(resource, draw(st.integers(min_value=1, max_value=2))),)
        if stay > 1:
            usages += (Usage("c", 1, 0, stay),)
        services.append(Service(f"s{n}", f"S{n}", usages, 30, draw(st.booleans()), stay))
    orders = []
    for n in range(1, count):
        if draw(st.booleans()):
            before = draw(st.integers(min_value=0, max_value=n - 1))
            low = draw(st.integers(min_value=0, max_value=3))
            high = draw(st.one_of(st.none(), st.integers(min_value=low, max_value=low + 3)))
            orders.append(Order(f"s{before}", f"s{n}", low, high))
    resources = {
        key: Resource(
            key,
            key.upper(),
            "08:00-17:00",
            {FIRST + datetime.timedelta(days=d): draw(st.integers(min_value=0, max_value=2)) for d in range(25)},
        )
        for key in RESOURCES
    }
    return Problem(
        services,
        orders,
        resources,
        FIRST,
        FIRST + datetime.timedelta(days=24),
        stay_limit=draw(st.one_of(st.none(), st.integers(min_value=3, max_value=20))),
        visits_per_day=draw(st.integers(min_value=1, max_value=3)),
        rest_weekdays=frozenset(draw(st.sets(st.integers(min_value=0, max_value=6), max_size=2))),
        time_limit=2.0,
    )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems())
def test_plans_keep_every_constraint_and_cpsat_is_never_later_than_greedy(problem):
    plan, base = cpsat(problem), greedy(problem)
    bound = lower_bound(problem)
    if base is not None:
        assert check(problem, base) == []
        assert base.stay >= bound
        assert plan is not None  # greedy's plan proves one exists
        assert plan.departure <= base.departure
    if plan is not None:
        assert check(problem, plan) == []
        assert plan.stay >= bound
