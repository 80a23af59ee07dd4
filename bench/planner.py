"""Trip planner benchmark: CP-SAT against the greedy earliest-slot plan and the lower bound (no database).

    .venv/bin/python bench/planner.py [--cases 100] [--pathway-cases 40] [--seed 7] [--time-limit 1.0] [--scale 1.0]

Generates realistic cases of 3 to 12 services (consultation, fasting blood tests, imaging, a results
consultation, sometimes a surgery with inpatient days and a check 5 to 7 days after it) with their
clinical orders and gaps, against a month of one grade-3 hospital's international quota already 70% to 95%
booked (each resource and case draws its own level; Sunday clinics are closed). Every case is planned
with CP-SAT and with the greedy baseline; the lower bound is the longest chain of orders and gaps,
ignoring capacity. Stays are days from arrival to departure. Means are over the cases that both
methods could plan; "greedy not optimal" are the cases where greedy's stay is longer than CP-SAT's.

Pathway cases follow the demo's clinical pathways (docs/pathways.md): hip replacement (work-up in stages,
reports a working day later, 5 inpatient nights, wound check 7 to 9 days after, fit to fly 10 days after
surgery), knee replacement (the same with 7 nights), a health check-up (fasting tests, results review after
the reports) and MRI with consultation (report the next working day, then the results review), for
patients of five languages (English, Russian, Arabic, French, Japanese in turn), against the same kind of
month of quota and against one hospital's interpreter pool (POOL): two English interpreters (one also
French; the other works Saturdays too, from 07:00 for the fasting tests), one Russian (Mondays, Wednesdays,
Fridays), one Arabic (Tuesday and Thursday mornings), one Japanese (weekdays). Russian, Arabic and Japanese
are short on purpose. The pathway patients are planned one after the other, each plan
confirmed, and after each the hospital's pass (`assign_all`, as `planning.services.interpreters.rebalance` runs
it after every plan) re-solves who interprets all the planned visits of the plan's days, all patients at once:
a confirmed visit with an interpreter keeps one (its interpreter may change); the assignments are then the next
plans' commitments. No interpreter is ever in two places (`double_booked`, printed, always 0).

The last line is `planner: cpsat <A> days, greedy <B> days, optimal <P>/<N>, interpreter-short <K> of <M>
needed (unavoidable <U>), p95 solve <S> s` (A and B: mean stays over the cases both methods planned; P of the
N cases with a plan proven optimal, a greedy fallback where CP-SAT found nothing in its time limit counting
as not proven; K: the pathway patients' appointments left without an in-person interpreter, of the M that
needed one; U: the fewest the pool allows at the times planned, every assignment free to move (`assign_all`
over all the visits with none kept, each day's model proven optimal). K - U are visits a confirmed patient's
kept interpreter could have freed up for two later ones (printed as "kept for confirmed patients"). The line
before also gives K as each plan assigned its own visits before the pass, and the moment-by-moment lower bound
`unavoidable_short`, which ignores that an interpreter free at each moment of a chain of overlapping visits can
still take only every other one).
Goals on a 2-core machine: at least 95% proven optimal, CP-SAT at least 15% shorter than greedy on the cases
where greedy is not already optimal, p95 solve time under 2 s.
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

from laihua.planning.solver import (  # noqa: E402
    Order,
    Problem,
    Resource,
    Service,
    Usage,
    check,
    cpsat,
    greedy,
    lower_bound,
)
from laihua.planning.solver.explanation import _unlimited  # noqa: E402
from laihua.planning.solver.interpreters import (  # noqa: E402
    Assignment,
    Interpreter,
    Need,
    assign_all,
    double_booked,
    interpreter_short,
    unavoidable_short,
)

# key, name, international places a day, opening hours. The default hospital is a grade-3 (三级)
# general hospital at about the smallest size of that grade (over 500 beds), the kind that runs an
# international medical department: these are a tenth of its daily capacity (1,500 outpatient visits,
# 2,000 blood draws, 200 MRI slots on three scanners, 300 CT, 30 PET-CT on one scanner, 250 ultrasound,
# 100 endoscopies, 300 theatre hours, 600 beds). --scale 0.2 gives a small hospital's.
RESOURCES = [
    ("clinics", "Outpatient clinics", 150, "08:00-17:00"),
    ("lab", "Laboratory", 200, "07:00-11:00"),
    ("mri", "MRI", 20, "08:00-20:00"),
    ("ct", "CT", 30, "00:00-24:00"),
    ("pet", "PET-CT", 3, "08:00-17:00"),
    ("us", "Ultrasound", 25, "08:00-17:00"),
    ("endo", "Endoscopy", 10, "08:00-12:00"),
    ("theatre", "Operating theatres", 30, "08:00-18:00"),
    ("beds", "Inpatient beds", 60, ""),
]
IMAGING = [("mri", 45), ("ct", 20), ("pet", 120), ("us", 30)]
EXTRA = [
    ("ecg", "clinics", 15, False),
    ("endo", "endo", 40, True),
    ("echo", "us", 40, False),
    ("lab2", "lab", 10, True),
    ("lung", "clinics", 20, False),
]


def month_of_capacity(
    rng: random.Random, first: datetime.date, days: int = 31, scale: float = 1.0
) -> dict[str, Resource]:
    """Each resource's remaining international places for a month already 70% to 95% booked."""
    out = {}
    for key, name, places, hours in RESOURCES:
        cap = max(1, round(places * scale))
        level = rng.uniform(0.70, 0.95)
        remaining = {}
        for n in range(days):
            day = first + datetime.timedelta(days=n)
            if key in ("clinics", "lab", "us", "endo") and day.weekday() == 6:
                remaining[day] = 0
                continue
            booked = sum(1 for _ in range(cap) if rng.random() < level)
            remaining[day] = cap - booked
        out[key] = Resource(key, name, hours, remaining)
    return out


def make_case(rng: random.Random, n: int) -> tuple[list[Service], list[Order]]:
    """A diagnosis (and often a treatment) of n services with their clinical order and gaps."""
    services = [Service("consult", "First consultation", (Usage("clinics"),), 30)]
    orders: list[Order] = []
    surgery = n >= 6 and rng.random() < 0.6
    room = n - 1 - (1 if n >= 4 else 0) - (2 if surgery else 0)  # consult, results, surgery and its check
    if room >= 1:
        services.append(Service("bloods", "Fasting blood tests", (Usage("lab"),), 15, morning_only=True))
        orders.append(Order("consult", "bloods", 0))
        room -= 1
    scans = []
    for k, (resource, minutes) in enumerate(rng.sample(IMAGING, min(room, rng.randint(1, 3)))):
        key = f"scan{k}"
        services.append(Service(key, resource.upper(), (Usage(resource),), minutes))
        orders.append(Order("consult", key, rng.choice([0, 0, 1])))
        scans.append(key)
        room -= 1
    extras = []
    for k, (code, resource, minutes, fasting) in enumerate(rng.sample(EXTRA * 2, room)):
        key = f"{code}{k}"
        services.append(Service(key, code, (Usage(resource),), minutes, morning_only=fasting))
        orders.append(Order("consult", key, rng.choice([0, 1])))
        extras.append(key)
    if n >= 4:
        services.append(Service("results", "Results consultation", (Usage("clinics"),), 30))
        for key in scans + extras + (["bloods"] if any(s.key == "bloods" for s in services) else []):
            orders.append(Order(key, "results", 1 if key.startswith("scan") else 0))
        if not scans and not extras:
            orders.append(Order("consult", "results", 1))
    if surgery:
        inpatient = rng.randint(2, 7)
        services.append(
            Service(
                "surgery",
                "Surgery",
                (Usage("theatre", units=rng.choice([2, 3])), Usage("beds", 1, 0, inpatient)),
                180,
                stay_days=inpatient,
            )
        )
        orders.append(Order("results", "surgery", rng.choice([1, 1, 2])))
        services.append(Service("check", "Post-operative check", (Usage("clinics"),), 30))
        low = rng.choice([5, 5, 6])
        orders.append(Order("surgery", "check", max(low, inpatient), max(low, inpatient) + 2))
    return services[:n], [
        o for o in orders if o.before in {s.key for s in services[:n]} and o.after in {s.key for s in services[:n]}
    ]


def problems(count: int, seed: int, time_limit: float, scale: float = 1.0):
    """The cases, each against its own month of capacity. The capacity draws from a stream of its own,
    so that every --scale plans the same cases."""
    rng = random.Random(seed)
    first = datetime.date(2027, 3, 1)
    for number in range(count):
        n = rng.randint(3, 12)
        services, orders = make_case(rng, n)
        resources = month_of_capacity(random.Random(f"{seed}-capacity-{number}"), first, scale=scale)
        yield Problem(
            services=services,
            orders=orders,
            resources=resources,
            earliest_arrival=first,
            latest_departure=first + datetime.timedelta(days=31),
            stay_limit=30,
            route="30-day visa-free",
            visits_per_day=rng.choice([3, 4]),
            time_limit=time_limit,
        )


LANGUAGES = ("en", "ru", "ar", "fr", "ja")  # the pathway cases' patients' languages
PATHWAY_KINDS = ("hip", "knee", "checkup", "mri")
# One grade-3 hospital's small interpreter pool; Russian, Arabic and Japanese short on purpose.
POOL = (
    Interpreter("en-1", frozenset({"en"}), 2, ((7 * 60, 17 * 60),), frozenset(range(6))),
    Interpreter("en-fr", frozenset({"en", "fr"}), 1, ((8 * 60, 17 * 60),), frozenset(range(5))),
    Interpreter("ru-1", frozenset({"ru"}), 1, ((8 * 60, 16 * 60),), frozenset({0, 2, 4})),
    Interpreter("ar-1", frozenset({"ar"}), 2, ((8 * 60, 12 * 60),), frozenset({1, 3})),
    Interpreter("ja-1", frozenset({"ja"}), 0, ((8 * 60, 17 * 60),), frozenset(range(5))),
)


def _minutes(moment: datetime.time) -> int:
    return moment.hour * 60 + moment.minute


class Interpreting:
    """The pool as the pathway patients are planned one after the other, as the hospital does it: each plan
    is confirmed, and then the hospital's pass (`assign_all`) re-solves who interprets every planned visit of
    the plan's days, all patients at once, the earlier confirmed visits kept interpreted in person (their
    interpreter may change, with the change recorded); the assignments then are the next plans'
    commitments. Also the plain sequential assignment (each plan's own `assign` against the commitments
    before it, never revised) for comparison; every assignment is checked for one interpreter in two places."""

    def __init__(self, pool=POOL):
        self.original = tuple(pool)
        self.pool = tuple(pool)
        self.needs: dict[str, Need] = {}
        self.sequential_short = 0
        self.optimal = True

    def confirm(self, plan, language: str, patient: str) -> None:
        self.sequential_short += interpreter_short(plan.visits)
        days = set()
        for visit in plan.visits:
            if not visit.language or not visit.start:
                continue
            begin = _minutes(visit.start)
            end = _minutes(visit.end) if visit.end else begin + 1
            ref = f"{patient}/{visit.service}"
            self.needs[ref] = Need(ref, patient, language, visit.day, begin, end, visit.interpreter)
            days.add(visit.day)
        affected = [n for n in self.needs.values() if n.day in days]
        result = assign_all(affected, self.original)
        self.optimal &= result.optimal
        for need in affected:
            key = result.chosen[need.ref]
            self.needs[need.ref] = replace(need, current=key, keep=bool(key))
        busy: dict[str, dict] = {}
        for need in self.needs.values():
            if need.current:
                busy.setdefault(need.current, {}).setdefault(need.day, []).append((need.begin, need.end))
        self.pool = tuple(
            replace(person, busy={day: tuple(spans) for day, spans in busy.get(person.key, {}).items()})
            for person in self.original
        )

    @property
    def short(self) -> int:
        return sum(1 for need in self.needs.values() if not need.current)

    def assignments(self) -> list[Assignment]:
        return [Assignment(n.ref, n.day, n.begin, n.end, n.language, n.current) for n in self.needs.values()]

    def bound(self) -> int:
        return unavoidable_short([(n.language, n.day, n.begin, n.end) for n in self.needs.values()], self.original)

    def best(self):
        """The fewest visits without an interpreter in person at the times planned, every assignment free to
        move (no visit kept): what the pool makes unavoidable, as `assign_all`'s Pass (proven when optimal)."""
        return assign_all([replace(n, keep=False) for n in self.needs.values()], self.original)

    def double_booked(self) -> int:
        return len(double_booked(self.original, self.assignments()))

    def by_language(self) -> dict[str, tuple[int, int]]:
        out: dict[str, tuple[int, int]] = {}
        for need in self.needs.values():
            total, miss = out.get(need.language, (0, 0))
            out[need.language] = (total + 1, miss + (0 if need.current else 1))
        return dict(sorted(out.items()))


def _workup(services: list, orders: list, procedure: Service, nights: int) -> None:
    """Consultation; bloods, ECG and chest X-ray together (reports a working day later); the anaesthetic
    review the day after; the procedure the day after that; the wound check 7 to 9 days after it."""
    services += [
        Service("consult", "Surgeon's consultation", (Usage("clinics"),), 20),
        Service("bloods", "Pre-operative blood tests", (Usage("lab"),), 15, morning_only=True, turnaround_days=1),
        Service("ecg", "ECG", (Usage("clinics"),), 15),
        Service("xray", "Chest X-ray", (Usage("ct"),), 15, turnaround_days=1),
        Service("anaes", "Anaesthetic review", (Usage("clinics"),), 30),
        procedure,
        Service("wound", "Wound check", (Usage("clinics"),), 20),
    ]
    orders += [Order("consult", key, 0) for key in ("bloods", "ecg", "xray")]
    orders += [Order(key, "anaes", 1) for key in ("bloods", "ecg", "xray")]
    orders += [Order("anaes", procedure.key, 1), Order(procedure.key, "wound", 7, 9)]


def pathway_case(kind: str) -> tuple[list[Service], list[Order], dict[str, int]]:
    """The services, orders and fit-to-fly days of one of the demo's clinical pathways (as apply() makes them)."""
    services: list[Service] = []
    orders: list[Order] = []
    if kind in ("hip", "knee"):
        nights = 5 if kind == "hip" else 7
        usages = (Usage("theatre", 3), Usage("beds", 1, 0, nights))
        surgery = Service("surgery", f"{kind} replacement", usages, 180, stay_days=nights + 1)
        _workup(services, orders, surgery, nights)
        return services, orders, {"surgery": 10}
    if kind == "checkup":
        services += [
            Service("bloods", "Fasting blood tests", (Usage("lab"),), 15, morning_only=True, turnaround_days=1),
            Service("ecg", "ECG", (Usage("clinics"),), 15),
            Service("ct", "Low-dose chest CT", (Usage("ct"),), 20, turnaround_days=1),
            Service("review", "Results review", (Usage("clinics"),), 30),
        ]
        orders += [Order(key, "review", 0) for key in ("bloods", "ecg", "ct")]
        return services, orders, {}
    services += [
        Service("consult", "Orthopaedic consultation", (Usage("clinics"),), 20),
        Service("mri", "MRI", (Usage("mri"),), 45, turnaround_days=1),
        Service("review", "Results review", (Usage("clinics"),), 20),
    ]
    orders += [Order("consult", "mri", 0), Order("mri", "review", 0)]
    return services, orders, {}


def pathway_problems(count: int, seed: int, time_limit: float, scale: float = 1.0):
    """(problem, language): the pathway cases, each kind in turn for patients of five languages."""
    rng = random.Random(f"{seed}-pathways")
    first = datetime.date(2027, 3, 1)
    for number in range(count):
        services, orders, fly = pathway_case(PATHWAY_KINDS[number % len(PATHWAY_KINDS)])
        resources = month_of_capacity(random.Random(f"{seed}-pathway-capacity-{number}"), first, days=45, scale=scale)
        start = first + datetime.timedelta(days=rng.randint(0, 6))
        yield (
            Problem(
                services=services,
                orders=orders,
                resources=resources,
                earliest_arrival=start,
                latest_departure=start + datetime.timedelta(days=31),
                stay_limit=30,
                route="30-day visa-free",
                visits_per_day=rng.choice([3, 4]),
                fly_after=fly,
                time_limit=time_limit,
            ),
            LANGUAGES[number % len(LANGUAGES)],
        )


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100)
    parser.add_argument("--pathway-cases", type=int, default=40)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--time-limit", type=float, default=1.0)
    parser.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="international places a day times this (default 1: a 600-bed grade-3 hospital's; 0.2: a small one's)",
    )
    args = parser.parse_args(argv)
    rows, solve_times, neither, only_cpsat, broken = [], [], 0, 0, 0
    planned, proven = 0, 0  # cases with a plan (CP-SAT's, or greedy's when CP-SAT found none in time), proven optimal
    interpreting = Interpreting()
    pathway_rows = []
    cases = [(p, None) for p in problems(args.cases, args.seed, args.time_limit, args.scale)]
    cases += list(pathway_problems(args.pathway_cases, args.seed, args.time_limit, args.scale))
    for problem, language in cases:
        if language is not None:  # against the pool as the earlier patients' plans left it
            problem = replace(problem, language=language, interpreters=interpreting.pool)
        began = time.perf_counter()
        plan = cpsat(problem)
        solve_times.append(time.perf_counter() - began)
        base = greedy(problem)
        if plan is not None or base is not None:
            planned += 1
            proven += bool(plan is not None and plan.optimal)
            if language is not None:  # the plan the patient gets is confirmed: its interpreters are taken
                interpreting.confirm(plan or base, language, f"patient-{len(solve_times)}")
        bound = lower_bound(problem)
        for candidate in (plan, base):
            if candidate is not None and check(problem, candidate):
                broken += 1
        if plan is None and base is None:
            neither += 1
            continue
        if base is None:
            only_cpsat += 1
            continue
        if plan is None:  # CP-SAT ran out of time: the greedy fallback is what the patient gets
            plan = base
        # The same case with unlimited quota (and no interpreters): how much of the gap to the bound is capacity.
        free = cpsat(
            replace(
                problem,
                resources={k: _unlimited(r) for k, r in problem.resources.items()},
                language="",
                interpreters=(),
            )
        )
        free_stay = free.stay if free is not None and free.optimal else bound
        rows.append((plan.stay, base.stay, bound, plan.optimal, free_stay))
        if language is not None:
            fly = plan.fit_to_fly
            pathway_rows.append((plan.stay, base.stay, fly is None or plan.departure >= fly))
    cp = statistics.mean(r[0] for r in rows)
    gr = statistics.mean(r[1] for r in rows)
    bd = statistics.mean(r[2] for r in rows)
    worse = [r for r in rows if r[1] > r[0]]
    p95 = sorted(solve_times)[max(0, int(round(0.95 * len(solve_times))) - 1)]
    print(
        f"cases: {args.cases} + {args.pathway_cases} pathway cases; planned by both: {len(rows)}; "
        f"only CP-SAT: {only_cpsat}; by neither: {neither}"
    )
    print(f"constraint violations in plans: {broken}")
    print(f"CP-SAT proven optimal: {sum(1 for r in rows if r[3])} of {len(rows)}")
    print(
        f"CP-SAT above the bound: {100 * (cp - bd) / bd:.1f}% on average; "
        f"at the bound on {sum(r[0] == r[2] for r in rows)} cases"
    )
    free = statistics.mean(r[4] for r in rows)
    print(
        f"with unlimited quota: {free:.1f} days, so of the gap {100 * (free - bd) / bd:.1f} points are K visits a day "
        f"and {100 * (cp - free) / bd:.1f} points the quota"
    )
    print(
        f"CP-SAT above the shortest stay with unlimited quota (orders, gaps and K visits a day): "
        f"{100 * (cp - free) / free:.1f}% on average"
    )
    if worse:
        gain = statistics.mean((r[1] - r[0]) / r[1] for r in worse)
        print(f"greedy not optimal on {len(worse)} cases; CP-SAT {100 * gain:.1f}% shorter on those")
    else:
        print("greedy optimal on every case")
    if pathway_rows:
        print(
            f"pathway cases planned by both: {len(pathway_rows)} of {args.pathway_cases}; "
            f"CP-SAT {statistics.mean(r[0] for r in pathway_rows):.1f} days, "
            f"greedy {statistics.mean(r[1] for r in pathway_rows):.1f} days; "
            f"departure on or after fit-to-fly: {sum(r[2] for r in pathway_rows)} of {len(pathway_rows)}"
        )
    for code, (need, miss) in interpreting.by_language().items():
        print(f"  interpreters, {code}: {need} appointments, {miss} without an interpreter in person")
    print(f"interpreters in two places at once: {interpreting.double_booked()}")
    best = interpreting.best()
    print(
        f"interpreter-short: {interpreting.short} with the hospital's pass "
        f"(every day proven optimal: {'yes' if interpreting.optimal else 'no'}), "
        f"{interpreting.sequential_short} as each plan assigned them before the pass; "
        f"unavoidable at the times planned (every assignment free to move): {best.short} "
        f"(proven optimal: {'yes' if best.optimal else 'no'}); "
        f"kept for confirmed patients: {interpreting.short - best.short}; "
        f"moment-by-moment lower bound: {interpreting.bound()}"
    )
    print(f"mean solve {statistics.mean(solve_times):.3f} s, max {max(solve_times):.3f} s")
    print(f"bound {bd:.1f} days on average")
    print(
        f"planner: cpsat {cp:.1f} days, greedy {gr:.1f} days, optimal {proven}/{planned}, "
        f"interpreter-short {interpreting.short} of {len(interpreting.needs)} needed "
        f"(unavoidable {best.short}), p95 solve {p95:.2f} s"
    )


if __name__ == "__main__":
    main()
