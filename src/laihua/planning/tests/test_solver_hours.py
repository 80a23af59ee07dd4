"""Opening hours, lunch breaks and morning-only fasting tests are kept, not only flagged; the quota reason
names the first day with room; with no latest departure the search reaches as far as the orders need."""

import datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from laihua.planning.solver import (
    Order,
    Plan,
    Problem,
    Resource,
    Service,
    Usage,
    check,
    cpsat,
    greedy,
    lower_bound,
    plan_trip,
)
from laihua.planning.solver.hours import _parse_hours
from laihua.planning.tests.test_solver import MONDAY, _at, _days, problem
from laihua.planning.tests.test_solver_properties import problems

HOURS = ["08:00-12:00,13:30-17:00", "08:00-09:30", "13:00-17:00", ""]


def _time(text: str) -> datetime.time:
    return datetime.time.fromisoformat(text)


def _inside(visit, hours: str) -> bool:
    """The visit starts and ends within one open interval of these hours."""
    intervals = [tuple(_time(t) for t in part.split("-")) for part in hours.split(",")]
    return any(opens <= visit.start and visit.end <= closes for opens, closes in intervals)


def _visit(plan: Plan, key: str):
    return next(v for v in plan.visits if v.service == key)


def test_opening_hours_are_read_interval_by_interval():
    assert _parse_hours("08:00-12:00,13:30-17:00") == ((480, 720), (810, 1020))
    assert _parse_hours(" 13:30 - 17:00 , 8:00-12:00 ") == ((480, 720), (810, 1020))  # spaces, any order
    assert _parse_hours("08:00–17:00") == ((480, 1020),)  # an en dash
    assert _parse_hours("00:00-24:00") == ((0, 1440),)
    assert _parse_hours("") == ((0, 1440),)  # no hours: always open
    assert _parse_hours("mornings") == ((480, 1020),)  # unreadable: a usual working day, as before


def _split_day() -> Problem:
    """The reviewer's case: an MRI open 08:00-09:00, a 4-hour consultation first, fasting bloods."""
    services = [
        Service("consult", "Consultation", (Usage("clinic"),), 240),
        Service("bloods", "Fasting bloods", (Usage("lab"),), 15, morning_only=True),
        Service("mri", "MRI", (Usage("mri"),), 30),
    ]
    orders = [Order("consult", "bloods", 0), Order("consult", "mri", 0)]
    hours = {"clinic": "08:00-17:00", "lab": "07:00-11:00", "mri": "08:00-09:00"}
    resources = {k: Resource(k, k.upper(), h, _days(room=5)) for k, h in hours.items()}
    return Problem(services, orders, resources, MONDAY, _at(20), visits_per_day=3)


def test_a_long_consultation_sends_the_mri_and_the_fasting_bloods_to_the_next_morning():
    p = _split_day()
    for plan in (cpsat(p), greedy(p)):
        assert check(p, plan) == []
        assert plan.starts["bloods"] > plan.starts["consult"] and plan.starts["mri"] > plan.starts["consult"]
        assert _inside(_visit(plan, "mri"), "08:00-09:00")
        assert _visit(plan, "bloods").start < _time("12:00")
        assert all(v.warning == "" for v in plan.visits)
    # The next morning, the MRI comes before the fasting bloods: the other way round it would end at 09:15.
    plan = cpsat(p)
    assert plan.starts["bloods"] == plan.starts["mri"] == plan.starts["consult"] + datetime.timedelta(days=1)
    assert (_visit(plan, "mri").start, _visit(plan, "bloods").start) == (_time("08:00"), _time("09:00"))


def test_check_reports_a_day_whose_visits_do_not_fit_the_opening_hours():
    p = _split_day()
    starts = {"consult": _at(1), "bloods": _at(1), "mri": _at(1)}
    plan = Plan("cpsat", _at(0), _at(2), starts, 1)
    assert check(p, plan) == [f"hours {_at(1)}"]


def test_no_visit_straddles_the_lunch_break():
    services = [
        Service("consult", "Consultation", (Usage("clinic"),), 150),
        Service("exam", "Examination", (Usage("clinic"),), 120),
    ]
    hours = "08:00-12:00,13:30-17:00"
    resources = {"clinic": Resource("clinic", "Clinic", hours, _days(room=5))}
    p = Problem(services, [Order("consult", "exam", 0)], resources, MONDAY, _at(20))
    for plan in (cpsat(p), greedy(p)):
        assert check(p, plan) == []
        assert plan.starts["exam"] == plan.starts["consult"]  # both fit one day, around the break
        assert all(_inside(v, hours) for v in plan.visits)
        assert _visit(plan, "exam").start == _time("13:30")


def test_three_visits_that_fit_two_by_two_but_not_together_are_spread_over_two_days():
    # Each pair fits the MRI's two hours; all three do not: only the re-solve loop can see that.
    services = [Service(f"mri{n}", f"MRI {n}", (Usage("mri"),), 45) for n in range(3)]
    resources = {"mri": Resource("mri", "MRI", "08:00-10:00", _days(room=5))}
    p = Problem(services, [], resources, MONDAY, _at(20), visits_per_day=3)
    for plan in (cpsat(p), greedy(p)):
        assert check(p, plan) == []
        assert len(set(plan.starts.values())) == 2
        assert all(_inside(v, "08:00-10:00") for v in plan.visits)
    assert cpsat(p).stay == 3  # arrive, two days of scans, leave


def test_a_visit_that_fits_no_day_is_never_planned():
    too_long = problem()
    too_long.services[0] = Service("consult", "Consultation", (Usage("clinic"),), 10 * 60)
    afternoon = problem()
    afternoon.resources["lab"].opening_hours = "13:00-17:00"  # the fasting bloods need a morning
    for p in (too_long, afternoon):
        assert cpsat(p) is None and greedy(p) is None
        assert plan_trip(p).plan is None


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems(), st.lists(st.sampled_from(HOURS), min_size=3, max_size=3))
def test_plans_keep_the_opening_hours(p, hours):
    for resource, text in zip(p.resources.values(), hours, strict=True):
        resource.opening_hours = text
    plan, base = cpsat(p), greedy(p)
    if base is not None:
        assert plan is not None and plan.departure <= base.departure
    for found in (plan, base):
        if found is not None:
            assert check(p, found) == []
            assert all(v.warning == "" for v in found.visits)


def test_the_quota_reason_names_the_first_day_with_room_from_the_services_earliest_start():
    # The MRI comes 10 days after the consultation at the earliest. It has room on days 1-2 and 4-9 (day 3
    # it is closed), none on days 10-24: the reason must name day 25, not day 4 after the closed day.
    p = problem(latest_departure=_at(20))
    p.orders[0] = Order("consult", "mri", 10)
    p.resources["mri"].remaining = _days(n=90, room=2, closed=[3, *range(10, 25)])
    outcome = plan_trip(p)
    assert outcome.plan is None
    quota = next(r for r in outcome.reasons if r.code == "quota")
    assert quota.params == {"resource": "MRI", "key": "mri", "until": _at(25).isoformat()}
    assert outcome.nearest.starts["mri"] == _at(25)


def test_with_no_latest_departure_a_long_chain_of_orders_is_still_planned():
    # Surgery 60 days after the MRI: longer than the 60 days searched by default.
    p = problem(latest_departure=None, stay_limit=None)
    p.orders[2] = Order("mri", "surgery", 60)
    for resource in p.resources.values():
        resource.remaining = _days(n=150, room=resource.remaining[MONDAY])
    assert p.horizon >= lower_bound(p) + 30
    outcome = plan_trip(p)
    assert outcome.status == "optimal" and outcome.reasons == []
    assert check(p, outcome.plan) == []
    assert outcome.plan.starts["surgery"] - outcome.plan.starts["mri"] >= datetime.timedelta(days=60)
    assert outcome.plan.stay <= lower_bound(p) + 1  # K = 2 visits a day costs a day, as in test_solver
