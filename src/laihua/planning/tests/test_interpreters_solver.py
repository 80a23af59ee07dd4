"""Interpreters planned with the visits (planning/solver/interpreters.py): no interpreter in two places,
their hours, weekdays and days away respected, the trip never longer for them, and what the pool makes
unavoidable."""

import datetime
from dataclasses import replace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from laihua.planning.solver import Problem, Resource, Service, Usage, check, plan_trip
from laihua.planning.solver.interpreters import (
    Assignment,
    Interpreter,
    assign,
    double_booked,
    needs_interpreter,
    unavoidable_short,
)

FIRST = datetime.date(2027, 5, 3)  # a Monday
OPEN = "08:00-17:00"


def _resources(rooms=4):
    days = {FIRST + datetime.timedelta(days=d): rooms for d in range(40)}
    return {"clinic": Resource("clinic", "Clinic", OPEN, dict(days)), "lab": Resource("lab", "Lab", OPEN, dict(days))}


def _problem(count=3, language="en", pool=(), first=FIRST, **extra):
    services = [
        Service(f"s{n}", f"S{n}", (Usage("clinic" if n % 2 else "lab"),), 30 + 15 * (n % 3)) for n in range(count)
    ]
    return Problem(services, [], _resources(), first, language=language, interpreters=tuple(pool), **extra)


def _busy(plan):
    """An interpreter's commitments from a confirmed plan, as the next plan's problem takes them."""
    out = {}
    for visit in plan.visits:
        if visit.interpreter:
            minutes = (visit.start.hour * 60 + visit.start.minute, visit.end.hour * 60 + visit.end.minute)
            out.setdefault(visit.interpreter, {}).setdefault(visit.day, []).append(minutes)
    return out


def _assignments(plan):
    return [
        Assignment(
            v.service,
            v.day,
            v.start.hour * 60 + v.start.minute,
            v.end.hour * 60 + v.end.minute,
            v.language,
            v.interpreter,
        )
        for v in plan.visits
    ]


def test_who_needs_one():
    assert needs_interpreter("en") and needs_interpreter("ru") and needs_interpreter("en-GB")
    assert not needs_interpreter("zh-hans") and not needs_interpreter("zh") and not needs_interpreter("")


def test_every_visit_of_a_foreign_patient_gets_an_interpreter_of_the_language():
    pool = [Interpreter("ru1", frozenset({"ru"}), 2), Interpreter("en1", frozenset({"en", "fr"}), 1)]
    outcome = plan_trip(_problem(3, "en", pool))
    assert outcome.plan is not None
    assert {v.interpreter for v in outcome.plan.visits} == {"en1"}
    assert {v.language for v in outcome.plan.visits} == {"en"}


def test_chinese_patient_needs_none():
    pool = [Interpreter("en1", frozenset({"en"}))]
    plan = plan_trip(_problem(3, "zh-hans", pool)).plan
    assert all(v.interpreter == "" and v.language == "" for v in plan.visits)


def test_empty_pool_for_the_language_leaves_every_visit_short():
    pool = [Interpreter("ru1", frozenset({"ru"}))]
    plan = plan_trip(_problem(3, "ar", pool)).plan
    assert [v.interpreter for v in plan.visits] == ["", "", ""]
    assert {v.language for v in plan.visits} == {"ar"}
    demand = [(v.language, v.day, a.begin, a.end) for v, a in zip(plan.visits, _assignments(plan), strict=True)]
    assert unavoidable_short(demand, pool) == 3


def test_weekdays_absences_and_hours_are_respected():
    # Works only Wednesdays, away on the first one, only in the afternoon.
    away = FIRST + datetime.timedelta(days=2)
    person = Interpreter(
        "en1", frozenset({"en"}), hours=((13 * 60, 17 * 60),), weekdays=frozenset({2}), absences=frozenset({away})
    )
    plan = plan_trip(_problem(1, "en", [person])).plan
    # The shortest trip is on day 1 (a Tuesday): the interpreter does not work then; the trip is not made
    # longer for the interpreter.
    assert plan.visits[0].day == FIRST + datetime.timedelta(days=1)
    assert plan.visits[0].interpreter == ""
    assert not person.free(away, 14 * 60, 14 * 60 + 30)
    assert not person.free(away + datetime.timedelta(days=7), 9 * 60, 9 * 60 + 30)
    assert person.free(away + datetime.timedelta(days=7), 14 * 60, 14 * 60 + 30)


def test_the_interpreter_decides_between_equally_short_trips():
    # Two visits that must be on separate days... here, one visit whose day is free to choose within the
    # shortest trip is not possible (the trip is as short as can be); but with a rest day between, the
    # interpreter who works Tuesdays pulls the visit there rather than Wednesday when both are shortest.
    person = Interpreter("en1", frozenset({"en"}), weekdays=frozenset({2}))  # Wednesday only
    problem = _problem(2, "en", [person], visits_per_day=1)
    plan = plan_trip(problem).plan
    # Two visits, one a day: days 1 and 2 (Tuesday, Wednesday) in some order; the trip is 3 days either way.
    assert plan.stay == 3
    assert sum(1 for v in plan.visits if v.interpreter) == 1
    assert check(problem, plan) == []


def test_a_busy_interpreter_is_not_booked_twice():
    day = FIRST + datetime.timedelta(days=1)
    # Busy all morning and afternoon on the first day, except nothing: the patient's visits go unassigned
    # that day rather than overlapping.
    person = Interpreter("en1", frozenset({"en"}), busy={day: ((8 * 60, 17 * 60),)})
    plan = plan_trip(_problem(2, "en", [person])).plan
    assert double_booked([person], _assignments(plan)) == []
    assert all(v.interpreter == "" for v in plan.visits if v.day == day)


@st.composite
def pools(draw):
    count = draw(st.integers(min_value=0, max_value=3))
    pool = []
    for n in range(count):
        start = draw(st.sampled_from([8 * 60, 9 * 60, 13 * 60]))
        length = draw(st.sampled_from([60, 120, 240, 480]))
        weekdays = frozenset(draw(st.sets(st.integers(min_value=0, max_value=6), min_size=1)))
        away = frozenset(FIRST + datetime.timedelta(days=d) for d in draw(st.sets(st.integers(0, 10), max_size=3)))
        languages = frozenset(draw(st.sets(st.sampled_from(["en", "ru", "ar"]), min_size=1)))
        pool.append(
            Interpreter(f"i{n}", languages, draw(st.integers(0, 2)), ((start, start + length),), weekdays, away)
        )
    return pool


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    pool=pools(),
    patients=st.lists(
        st.tuples(st.sampled_from(["en", "ru", "ar"]), st.integers(min_value=1, max_value=4), st.integers(0, 3)),
        min_size=1,
        max_size=4,
    ),
)
def test_patients_planned_in_turn_never_double_book_an_interpreter(pool, patients):
    """Each patient's plan is confirmed in turn and its assignments become the next plan's commitments: no
    interpreter is ever in two places, off hours, on a day off or away, and the trip is never longer than
    without interpreters."""
    everything = []
    for language, count, later in patients:
        problem = _problem(count, language, pool, first=FIRST + datetime.timedelta(days=later))
        outcome = plan_trip(problem)
        alone = plan_trip(replace(problem, language="", interpreters=()))
        assert outcome.plan is not None and alone.plan is not None
        assert check(problem, outcome.plan) == []
        if outcome.status == "optimal" and alone.status == "optimal":
            assert outcome.plan.departure == alone.plan.departure
        mine = _assignments(outcome.plan)
        assert double_booked(pool, mine) == []
        for a in mine:
            if a.interpreter:
                person = next(i for i in pool if i.key == a.interpreter)
                assert person.speaks(language) and person.works(a.day)
        everything += mine
        busy = _busy(outcome.plan)
        pool = [
            replace(
                i,
                busy={
                    d: tuple(i.busy.get(d, ())) + tuple(busy.get(i.key, {}).get(d, ()))
                    for d in set(i.busy) | set(busy.get(i.key, {}))
                },
            )
            for i in pool
        ]
    # Across every patient: one person is never in two places.
    seen = {}
    for a in everything:
        if a.interpreter:
            for begin, end in seen.get((a.interpreter, a.day), []):
                assert a.end <= begin or end <= a.begin
            seen.setdefault((a.interpreter, a.day), []).append((a.begin, a.end))


def test_assign_prefers_the_same_interpreter_and_the_higher_level():
    pool = (Interpreter("low", frozenset({"en"}), 0), Interpreter("high", frozenset({"en"}), 2))
    plan = plan_trip(_problem(2, "en", pool)).plan
    assert {v.interpreter for v in plan.visits} == {"high"}
    again = assign(replace(_problem(2, "en", pool)), plan.visits)
    assert {a.interpreter for a in again.values()} == {"high"}


def test_unavoidable_counts_what_no_one_can_cover():
    day = FIRST
    pool = [Interpreter("en1", frozenset({"en"}))]
    demand = [("en", day, 9 * 60, 10 * 60), ("en", day, 9 * 60 + 30, 10 * 60 + 30), ("en", day, 11 * 60, 12 * 60)]
    assert unavoidable_short(demand, pool) == 1
    assert unavoidable_short(demand, []) == 3
    assert unavoidable_short([("ru", day, 9 * 60, 10 * 60)], pool) == 1
    # Sunday: the interpreter does not work.
    sunday = FIRST - datetime.timedelta(days=1)
    assert unavoidable_short([("en", sunday, 9 * 60, 10 * 60)], pool) == 1
