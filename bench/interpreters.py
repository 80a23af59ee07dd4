"""Interpreter benchmark: patients of five languages planned in turn against one hospital's interpreter pool.

    .venv/bin/python bench/interpreters.py [--patients 60] [--seed 7] [--time-limit 1.0]

Each patient is a case of bench/planner.py (3 to 12 services with their clinical orders, against its own month
of a grade-3 hospital's international quota), arriving on one of the month's first 20 days, speaking English
(40%), Russian (20%), Arabic (15%), French (15%) or Japanese (10%). They are planned one after the other, each
plan confirmed: its interpreters' visits become the next plans' commitments, as in the hospital. The pool is a
grade-3 hospital's small one: two English interpreters (one also French), one Russian (Mondays, Wednesdays,
Fridays), one Arabic (Tuesday and Thursday mornings), one Japanese. Reported: the visits left without an
interpreter in person (interpreter-short K), the number that the pool makes unavoidable for the times planned
(`unavoidable_short`: visits no interpreter of the language is free for at all, plus, per language and day,
the most visits under way at one moment beyond the interpreters free then), any interpreter in two places
(always 0), and the solve times. The last line is
`interpreters: interpreter-short <K> of <N> visits, unavoidable <U>, double-booked <D>, p95 solve <S> s`.
"""

import argparse
import datetime
import random
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from planner import make_case, month_of_capacity  # noqa: E402

from laihua.planning.solver import Problem, check, plan_trip  # noqa: E402
from laihua.planning.solver.interpreters import (  # noqa: E402
    Assignment,
    Interpreter,
    demand_of,
    double_booked,
    interpreter_short,
    unavoidable_short,
)

FIRST = datetime.date(2027, 3, 1)
LANGUAGES = [("en", 40), ("ru", 20), ("ar", 15), ("fr", 15), ("ja", 10)]
POOL = (
    Interpreter("en-1", frozenset({"en"}), 2, ((8 * 60, 17 * 60),), frozenset(range(5))),
    Interpreter("en-fr", frozenset({"en", "fr"}), 1, ((9 * 60, 17 * 60),), frozenset(range(5))),
    Interpreter("ru-1", frozenset({"ru"}), 1, ((8 * 60, 16 * 60),), frozenset({0, 2, 4})),
    Interpreter("ar-1", frozenset({"ar"}), 2, ((8 * 60, 12 * 60),), frozenset({1, 3})),
    Interpreter("ja-1", frozenset({"ja"}), 0, ((8 * 60, 17 * 60),), frozenset(range(5))),
)


def _minutes(moment: datetime.time) -> int:
    return moment.hour * 60 + moment.minute


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=60)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--time-limit", type=float, default=1.0)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    pool = list(POOL)
    assignments: list[Assignment] = []
    demand = []
    seconds, broken, unplanned, short = [], 0, 0, 0
    for number in range(args.patients):
        services, orders = make_case(rng, rng.randint(3, 12))
        language = rng.choices([code for code, _w in LANGUAGES], [w for _c, w in LANGUAGES])[0]
        first = FIRST + datetime.timedelta(days=rng.randint(0, 19))
        problem = Problem(
            services=services,
            orders=orders,
            resources=month_of_capacity(random.Random(f"{args.seed}-capacity-{number}"), FIRST, days=60),
            earliest_arrival=first,
            latest_departure=first + datetime.timedelta(days=31),
            stay_limit=30,
            visits_per_day=rng.choice([3, 4]),
            time_limit=args.time_limit,
            language=language,
            interpreters=tuple(pool),
        )
        began = time.perf_counter()
        outcome = plan_trip(problem, explain_failure=False)
        seconds.append(time.perf_counter() - began)
        plan = outcome.plan
        if plan is None:
            unplanned += 1
            continue
        broken += len(check(problem, plan))
        short += interpreter_short(plan.visits)
        demand += demand_of(plan.visits)
        busy: dict[str, dict] = {}
        for visit in plan.visits:
            begin, end = _minutes(visit.start), _minutes(visit.end)
            assignments.append(Assignment(visit.service, visit.day, begin, end, language, visit.interpreter))
            if visit.interpreter:
                busy.setdefault(visit.interpreter, {}).setdefault(visit.day, []).append((begin, end))
        pool = [
            replace(
                person,
                busy={
                    day: tuple(person.busy.get(day, ())) + tuple(busy.get(person.key, {}).get(day, ()))
                    for day in set(person.busy) | set(busy.get(person.key, {}))
                },
            )
            for person in pool
        ]
    unavoidable = unavoidable_short(demand, POOL)
    twice = len(double_booked(POOL, assignments))
    p95 = statistics.quantiles(seconds, n=20)[-1] if len(seconds) >= 2 else (seconds[0] if seconds else 0.0)
    by_language = {}
    for a in assignments:
        need, miss = by_language.get(a.language, (0, 0))
        by_language[a.language] = (need + 1, miss + (0 if a.interpreter else 1))
    print(f"patients: {args.patients}; planned: {args.patients - unplanned}; constraint violations: {broken}")
    for code, (need, miss) in sorted(by_language.items()):
        print(f"  {code}: {need} visits, {miss} without an interpreter in person")
    print(f"mean solve {statistics.mean(seconds):.3f} s, max {max(seconds):.3f} s")
    print(
        f"interpreters: interpreter-short {short} of {len(assignments)} visits, unavoidable {unavoidable}, "
        f"double-booked {twice}, p95 solve {p95:.2f} s"
    )


if __name__ == "__main__":
    main()
