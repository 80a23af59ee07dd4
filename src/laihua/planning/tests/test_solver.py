"""The pure solver: orders and gaps, quota, visa limit, K visits a day, rest days, greedy and the bound."""

import datetime
from dataclasses import replace

from laihua.planning.solver import (
    Order,
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

MONDAY = datetime.date(2027, 3, 1)  # a Monday


def _days(n=40, room=5, closed=()):
    return {MONDAY + datetime.timedelta(days=k): (0 if k in closed else room) for k in range(n)}


def _at(k: int) -> datetime.date:
    return MONDAY + datetime.timedelta(days=k)


def problem(**extra) -> Problem:
    services = [
        Service("consult", "Consultation", (Usage("clinic"),), 30),
        Service("bloods", "Fasting bloods", (Usage("lab"),), 15, morning_only=True),
        Service("mri", "MRI", (Usage("mri"),), 45),
        Service("surgery", "Surgery", (Usage("theatre", 3), Usage("beds", 1, 0, 5)), 180, stay_days=5),
        Service("check", "Post-operative check", (Usage("clinic"),), 30),
    ]
    orders = [
        Order("consult", "mri", 0),
        Order("consult", "bloods", 0),
        Order("mri", "surgery", 1),
        Order("bloods", "surgery", 1),
        Order("surgery", "check", 5, 7),
    ]
    resources = {
        key: Resource(key, key.upper(), "08:00-17:00", _days(room=room))
        for key, room in [("clinic", 5), ("lab", 5), ("mri", 2), ("theatre", 6), ("beds", 4)]
    }
    base = Problem(services, orders, resources, MONDAY, _at(35), stay_limit=30, route="30-day visa-free")
    return replace(base, **extra)


def test_order_and_gaps_are_honoured_and_the_bound_is_reached_when_capacity_is_free():
    p = problem()
    plan = cpsat(p)
    assert plan is not None and check(p, plan) == []
    s = plan.starts
    assert s["mri"] >= s["consult"] and s["surgery"] >= s["mri"] + datetime.timedelta(days=1)
    assert datetime.timedelta(days=5) <= s["check"] - s["surgery"] <= datetime.timedelta(days=7)
    # arrive the day before, consult+bloods+MRI day 1 (K=2 pushes one to day 2), surgery, check 5 days later
    assert lower_bound(p) == 1 + 1 + 5 + 1
    assert plan.stay == lower_bound(p) + 1  # K = 2 visits a day costs one day
    assert cpsat(replace(p, visits_per_day=3)).stay == lower_bound(p)


def test_fasting_tests_are_put_in_the_morning_before_other_visits():
    plan = cpsat(problem(visits_per_day=3))
    day_visits = [v.service for v in plan.visits if v.day == plan.starts["bloods"]]
    # consult comes first (the order says so); the fasting bloods come before the MRI of the same day
    assert day_visits == ["consult", "bloods", "mri"]
    bloods = next(v for v in plan.visits if v.service == "bloods")
    assert bloods.start < datetime.time(12)
    assert all(v.warning == "" for v in plan.visits)


def test_quota_is_respected_and_cpsat_shifts_the_whole_trip_where_greedy_waits():
    # The MRI has no room until day 10: greedy consults on day 1 and waits; CP-SAT comes later and stays less.
    p = problem()
    p.resources["mri"].remaining = _days(room=2, closed=range(10))
    plan, base = cpsat(p), greedy(p)
    assert check(p, plan) == [] and check(p, base) == []
    assert plan.starts["mri"] >= _at(10) and base.starts["mri"] >= _at(10)
    assert base.starts["consult"] == _at(1)
    assert plan.stay < base.stay
    assert plan.departure <= base.departure


def test_two_services_on_one_resource_share_its_remaining_places():
    p = problem()
    p.services.append(Service("mri2", "Second MRI", (Usage("mri"),), 45))
    p.orders.append(Order("consult", "mri2", 0))
    p.resources["mri"].remaining = _days(room=1)
    plan = cpsat(p)
    assert plan.starts["mri"] != plan.starts["mri2"]
    assert check(p, plan) == []


def test_k_visits_a_day():
    p = problem(visits_per_day=1)
    plan = cpsat(p)
    days = [v.day for v in plan.visits]
    assert len(days) == len(set(days))
    assert check(p, plan) == []


def test_rest_days_and_rest_weekdays_get_no_visit():
    p = problem(rest_weekdays=frozenset({1}), rest_days=frozenset({_at(2)}))  # Tuesdays and 3 March
    plan = cpsat(p)
    assert all(v.day.weekday() != 1 and v.day != _at(2) for v in plan.visits)
    assert check(p, plan) == []


def test_visa_limit_infeasibility_names_the_route_and_the_excess():
    p = problem(stay_limit=5, route="240-hour transit")
    outcome = plan_trip(p)
    assert outcome.plan is None
    first = outcome.reasons[0]
    assert first.code == "stay_limit"
    # shortest stay is 9 days (K=2): over the 5-day limit by 4
    assert first.params["excess"] == 4
    assert first.text == "the stay would exceed the 240-hour transit limit by 4 days"
    assert outcome.nearest is not None and outcome.nearest.stay == 9


def test_quota_infeasibility_names_the_resource_and_the_day_it_frees():
    p = problem(latest_departure=_at(20))
    p.resources["mri"].remaining = _days(n=60, room=2, closed=range(25))
    outcome = plan_trip(p)
    assert outcome.plan is None
    assert outcome.reasons[0].code == "quota"
    assert outcome.reasons[0].params == {"resource": "MRI", "key": "mri", "until": _at(25).isoformat()}
    assert outcome.reasons[0].text == "MRI quota full until 26 March 2027"
    assert outcome.nearest.starts["mri"] == _at(25)


def test_greedy_moves_the_surgery_when_the_check_window_is_full():
    p = problem()
    # No clinic from day 7 to day 9: a surgery on day 2 cannot have its check 5-7 days later.
    p.resources["clinic"].remaining = _days(room=5, closed=(7, 8, 9))
    base = greedy(p)
    assert base is not None and check(p, base) == []
    assert base.starts["check"] - base.starts["surgery"] <= datetime.timedelta(days=7)


def test_fallback_to_greedy_when_cpsat_finds_nothing_in_time(monkeypatch):
    from laihua.planning.solver import trip

    monkeypatch.setattr(trip, "_solve", lambda problem, **kw: ("unknown", None, False))
    outcome = plan_trip(problem())
    assert outcome.status == "fallback" and outcome.plan.method == "greedy"
    assert check(problem(), outcome.plan) == []


def test_a_cycle_in_the_orders_is_refused():
    p = problem()
    p.orders.append(Order("check", "consult", 0))
    try:
        lower_bound(p)
    except ValueError:
        return
    raise AssertionError("a cycle must be refused")


def test_a_quota_reason_names_the_first_day_with_room_not_the_day_the_nearest_plan_uses():
    p = problem(latest_departure=_at(20))
    p.orders[0] = Order("consult", "mri", 0, 1)
    # The MRI is full for 25 days and has room again from day 25; the clinic is closed from day 20 to 27,
    # so the nearest plan (the MRI a day at most after a consultation) scans on day 28 at the earliest.
    p.resources["mri"].remaining = _days(n=90, room=2, closed=range(25))
    p.resources["clinic"].remaining = _days(n=90, room=5, closed=range(20, 28))
    outcome = plan_trip(p)
    assert outcome.nearest.starts["mri"] >= _at(28)
    assert outcome.reasons[0].code == "quota"
    assert outcome.reasons[0].params["until"] == _at(25).isoformat()
