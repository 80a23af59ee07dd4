"""The hospital's pass (planning/solver/interpreters.py `assign_all`): who interprets every planned visit,
all patients at once. It never puts one interpreter in two places, keeps a confirmed visit interpreted, and
reaches the fewest visits without an interpreter that the pool allows where planning patients in turn does
not."""

import datetime
from dataclasses import replace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from laihua.planning.solver import Problem, Resource, Service, Usage, plan_trip
from laihua.planning.solver.interpreters import (
    GAP_MINUTES,
    Assignment,
    Interpreter,
    Need,
    assign_all,
    demand_of,
    double_booked,
    interpreter_short,
    unavoidable_short,
)

FIRST = datetime.date(2027, 5, 3)  # a Monday


def _minutes(moment):
    return moment.hour * 60 + moment.minute


def _one_visit(language, pool):
    days = {FIRST + datetime.timedelta(days=d): 4 for d in range(10)}
    resources = {"clinic": Resource("clinic", "Clinic", "09:00-17:00", days)}
    services = [Service("consult", "Consultation", (Usage("clinic"),), 60)]
    return Problem(services, [], resources, FIRST, language=language, interpreters=tuple(pool))


def _committed(pool, plan):
    busy = {}
    for visit in plan.visits:
        if visit.interpreter:
            busy.setdefault(visit.interpreter, {}).setdefault(visit.day, []).append(
                (_minutes(visit.start), _minutes(visit.end))
            )
    return tuple(replace(i, busy={d: tuple(s) for d, s in busy.get(i.key, {}).items()} | dict(i.busy)) for i in pool)


def test_the_pass_reaches_the_minimum_where_planning_in_turn_does_not():
    """An English patient is planned first and, in turn, takes the certified interpreter who speaks English
    and French; a French patient at the same time is then left without one. The hospital's pass gives the
    English patient the other English interpreter and the French patient the French-speaking one: none short,
    the number the pool makes unavoidable."""
    pool = (
        Interpreter("en-fr", frozenset({"en", "fr"}), 2),
        Interpreter("en", frozenset({"en"}), 0),
    )
    english = plan_trip(_one_visit("en", pool)).plan
    french = plan_trip(_one_visit("fr", _committed(pool, english))).plan
    assert [v.interpreter for v in english.visits] == ["en-fr"]
    assert (english.visits[0].day, english.visits[0].start) == (french.visits[0].day, french.visits[0].start)
    in_turn = interpreter_short(english.visits) + interpreter_short(french.visits)
    assert in_turn == 1  # planning in turn leaves the French patient without an interpreter
    needs = [
        Need(f"{who}/{v.service}", who, v.language, v.day, _minutes(v.start), _minutes(v.end), v.interpreter, True)
        for who, plan in (("english", english), ("french", french))
        for v in plan.visits
        if v.interpreter or who == "french"
    ]
    done = assign_all(needs, pool)
    assert done.optimal and done.short == 0
    assert done.short == unavoidable_short(demand_of(english.visits) + demand_of(french.visits), pool)
    assert done.chosen == {"english/consult": "en", "french/consult": "en-fr"}


def test_a_confirmed_visit_keeps_an_interpreter_and_the_others_change_least():
    day = FIRST
    pool = (Interpreter("a", frozenset({"en"}), 0), Interpreter("b", frozenset({"en"}), 2))
    kept = Need("kept", "p1", "en", day, 9 * 60, 10 * 60, current="a", keep=True)
    other = Need("other", "p2", "en", day, 9 * 60, 10 * 60, current="a")
    done = assign_all([kept, other], pool)
    # Both covered; the confirmed visit keeps its interpreter rather than take the higher level.
    assert done.chosen == {"kept": "a", "other": "b"} and done.short == 0
    # With one interpreter, the confirmed visit keeps them and the draft goes without.
    done = assign_all([other, kept], pool[:1])
    assert done.chosen == {"kept": "a", "other": ""} and done.short == 1


def test_one_patients_visits_need_no_gap_but_two_patients_do():
    day = FIRST
    pool = (Interpreter("a", frozenset({"en"})),)
    mine = [Need("1", "p", "en", day, 9 * 60, 10 * 60), Need("2", "p", "en", day, 10 * 60, 11 * 60)]
    assert assign_all(mine, pool).short == 0
    theirs = [Need("1", "p", "en", day, 9 * 60, 10 * 60), Need("2", "q", "en", day, 10 * 60, 11 * 60)]
    assert assign_all(theirs, pool).short == 1
    later = [theirs[0], replace(theirs[1], begin=10 * 60 + GAP_MINUTES, end=11 * 60 + GAP_MINUTES)]
    assert assign_all(later, pool).short == 0
    # A re-plan of a patient's trip and the confirmed trip it would replace: only one takes place, so one
    # interpreter may be named on both at the same time.
    again = [
        Need("old", "p", "en", day, 9 * 60, 10 * 60, "a", True, "1"),
        Need("new", "p", "en", day, 9 * 60, 10 * 60, trip="2"),
    ]
    assert assign_all(again, pool).chosen == {"old": "a", "new": "a"}
    assert assign_all([replace(n, trip="1") for n in again], pool).short == 1


@st.composite
def cases(draw):
    languages = ["en", "ru", "fr"]
    pool = []
    for n in range(draw(st.integers(0, 4))):
        start = draw(st.sampled_from([7 * 60, 8 * 60, 12 * 60]))
        pool.append(
            Interpreter(
                f"i{n}",
                frozenset(draw(st.sets(st.sampled_from(languages), min_size=1))),
                draw(st.integers(0, 2)),
                ((start, start + draw(st.sampled_from([240, 480, 600]))),),
                frozenset(draw(st.sets(st.integers(0, 6), min_size=1))),
            )
        )
    needs = []
    for n in range(draw(st.integers(1, 14))):
        begin = draw(st.integers(7 * 4, 17 * 4)) * 15
        needs.append(
            Need(
                f"v{n}",
                f"p{draw(st.integers(0, 4))}",
                draw(st.sampled_from(languages)),
                FIRST + datetime.timedelta(days=draw(st.integers(0, 2))),
                begin,
                begin + draw(st.sampled_from([15, 30, 60, 120])),
            )
        )
    return pool, needs


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=cases())
def test_the_pass_never_puts_one_interpreter_in_two_places(case):
    pool, needs = case
    done = assign_all(needs, pool)
    assignments = [Assignment(n.ref, n.day, n.begin, n.end, n.language, done.chosen[n.ref]) for n in needs]
    assert double_booked(pool, assignments) == []
    by_key = {i.key: i for i in pool}
    for need, a in zip(needs, assignments, strict=True):
        if a.interpreter:
            person = by_key[a.interpreter]
            assert person.speaks(need.language) and person.free(need.day, need.begin, need.end)
    # Two patients' visits of one interpreter are GAP_MINUTES apart.
    for x in needs:
        for y in needs:
            same = done.chosen[x.ref] and done.chosen[x.ref] == done.chosen[y.ref]
            if same and x.ref < y.ref and x.patient != y.patient and x.day == y.day:
                assert x.end + GAP_MINUTES <= y.begin or y.end + GAP_MINUTES <= x.begin
    demand = [(n.language, n.day, n.begin, n.end) for n in needs]
    assert done.optimal and unavoidable_short(demand, pool) <= done.short
