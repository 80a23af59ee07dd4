"""Interpreters, planned with the visits, free of Django.

Every visit of a patient whose language is not Chinese needs an interpreter of that language. The
hospital's pool is a resource of the CP-SAT model: a visit gets an interpreter in person only when one of
the patient's language works that weekday, is not away that day, works the visit's hours and has no other
assignment (a confirmed plan's) within `GAP_MINUTES` of it. So one person is never in two places.

How it is modelled. The model chooses days; the times of a day's visits follow from which visits share
the day (hours.py). The first pass plans the trip without interpreters; when the patient needs one and the
pool has one of the language, a second pass (sat.py, in what is left of the time limit, hinted with the first
plan) keeps the trip's objective at most the first pass's value and counts the visits left uncovered after the
trip's own terms (`objective_weight`): so the trip is as short as without interpreters and, among such trips,
the one with most visits interpreted in person is chosen. It has, per visit and candidate day, a boolean
`covered[s, d]` (at most `x[s, d]`) that may be true only when some interpreter of the language could take a
visit of that length on that day (a necessary condition; for a visit alone on its day, whose time is then
known, exactly). Each solution's exact times are then checked (`cuts`): a visit claimed covered that no
interpreter is free for at its exact time is cut off for exactly that set of visits on that day (the times of a
set are fixed), and the model is solved again, as the opening-hours cuts are. The cuts are exact.

Which interpreter (`assign`): after the times are known, each visit in time order takes a free
interpreter of the language as optional intervals on each interpreter's line with no overlap: the one who
already interprets for the patient that day first, then the highest medical interpreting level, then the
one with fewest assignments that day. `unavoidable_short` is the number of visits that the pool cannot
cover whatever anyone does (for the benchmark and the shortage report).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field

GAP_MINUTES = 15  # between two assignments of one interpreter for different patients
CHINESE = "zh"


def needs_interpreter(language: str) -> bool:
    """A patient whose language is set and is not Chinese (zh, zh-hans, zh-Hant...) needs an interpreter."""
    code = (language or "").strip().lower()
    return bool(code) and code.split("-")[0] != CHINESE


def base_language(language: str) -> str:
    """The ISO 639 code an interpreter is matched on: "en" for "en-GB"."""
    return (language or "").strip().lower().split("-")[0]


@dataclass(frozen=True)
class Interpreter:
    """One interpreter of the pool: languages (ISO 639 codes), working minutes of a day, working weekdays
    (0 = Monday), days away, and what they already do (minutes of a day, by day; from confirmed plans)."""

    key: str
    languages: frozenset[str]
    level: int = 0  # higher is preferred: 2 certified medical, 1 experienced, 0 general
    hours: tuple[tuple[int, int], ...] = ((8 * 60, 17 * 60),)
    weekdays: frozenset[int] = frozenset(range(5))
    absences: frozenset[datetime.date] = frozenset()
    busy: dict[datetime.date, tuple[tuple[int, int], ...]] = field(default_factory=dict, hash=False, compare=False)

    def speaks(self, language: str) -> bool:
        return base_language(language) in self.languages

    def works(self, day: datetime.date) -> bool:
        return day.weekday() in self.weekdays and day not in self.absences

    def free(self, day: datetime.date, begin: int, end: int, *, extra: Iterable[tuple[int, int]] = ()) -> bool:
        """Free for [begin, end) on the day: working then, and no assignment within GAP_MINUTES of it."""
        if not self.works(day):
            return False
        if not any(opens <= begin and end <= closes for opens, closes in self.hours):
            return False
        for taken_begin, taken_end in (*self.busy.get(day, ()), *extra):
            if begin < taken_end + GAP_MINUTES and taken_begin < end + GAP_MINUTES:
                return False
        return True

    def could_take(self, day: datetime.date, minutes: int) -> bool:
        """Some stretch of `minutes` free on the day (whatever the time): the model's necessary condition."""
        if not self.works(day):
            return False
        for opens, closes in self.hours:
            cursor = opens
            for taken_begin, taken_end in sorted(self.busy.get(day, ())):
                if taken_end + GAP_MINUTES <= cursor:
                    continue
                if min(taken_begin - GAP_MINUTES, closes) - cursor >= minutes:
                    return True
                cursor = max(cursor, taken_end + GAP_MINUTES)
            if closes - cursor >= minutes:
                return True
        return False


@dataclass(frozen=True)
class Assignment:
    """A visit's interpreter: `interpreter` is the key, "" when none of the pool is free (remote then)."""

    service: str
    day: datetime.date
    begin: int
    end: int
    language: str
    interpreter: str = ""


def speakers(pool: Iterable[Interpreter], language: str) -> list[Interpreter]:
    return [i for i in pool if i.speaks(language)]


def wanted(problem) -> bool:
    """Whether the planner's second pass is worth it: the patient needs an interpreter and the pool has one."""
    return needs_interpreter(problem.language) and bool(speakers(problem.interpreters, problem.language))


# --- the CP-SAT part --------------------------------------------------------------------------------


def add_to_model(model, problem, x: dict, timer=None):
    """Add interpreter coverage to the model: (covered booleans by (service, day), the count of visits
    left without an interpreter in person as a linear expression, its largest value), or None when the
    patient needs no interpreter. `x` holds the model's booleans by (service key, day index). With the
    day's timer, a visit alone on its day (whose time is then known) is claimed covered only when an
    interpreter is free at that time: the cut `cuts` would add first, added before the first solve."""
    if not needs_interpreter(problem.language):
        return None
    pool = speakers(problem.interpreters, problem.language)
    lengths = {s.key: max(1, s.duration_minutes) for s in problem.services}
    by_day: dict[int, list[str]] = {}
    for key, index in x:
        by_day.setdefault(index, []).append(key)
    covered = {}
    for (key, index), chosen in x.items():
        day = problem.day(index)
        if not any(i.could_take(day, lengths[key]) for i in pool):
            continue
        alone = timer.schedule(frozenset({key})) if timer is not None else None
        others = [x[(k, index)] for k in by_day[index] if k != key]
        if alone and not any(i.free(day, alone[0][1], alone[0][1] + lengths[key]) for i in pool):
            if not others:
                continue  # alone on any day it may have: never covered that day
            flag = model.NewBoolVar(f"interp_{key}_{index}")
            model.Add(flag <= sum(others))  # covered only with another visit before it that day
        else:
            flag = model.NewBoolVar(f"interp_{key}_{index}")
        model.AddImplication(flag, chosen)
        covered[(key, index)] = flag
    count = len(problem.services)
    uncovered = count - sum(covered.values()) if covered else count
    return covered, uncovered, count


def objective_weight(most_uncovered: int) -> int:
    """What the trip's own objective is multiplied by so that it stays first: one more than the most
    visits that can be left uncovered."""
    return most_uncovered + 1


def cuts(model, problem, x: dict, covered: dict, starts: dict[str, int], value, timer) -> int:
    """Check each visit the solution claims covered against its exact time; cut off each claim no
    interpreter can keep (for exactly that day's set of visits). The number of cuts added."""
    if not covered:
        return 0
    pool = speakers(problem.interpreters, problem.language)
    by_day: dict[int, set[str]] = {}
    for key, index in starts.items():
        by_day.setdefault(index, set()).add(key)
    added = 0
    for index, keys in by_day.items():
        day = problem.day(index)
        for service, begin in timer.times(frozenset(keys)):
            flag = covered.get((service.key, index))
            if flag is None or not value(flag):
                continue
            end = begin + max(1, service.duration_minutes)
            if any(i.free(day, begin, end) for i in pool):
                continue
            inside = [x[(k, index)] for k in keys]
            outside = [var for (k, d), var in x.items() if d == index and k not in keys]
            model.Add(sum(inside) - sum(outside) + flag <= len(inside))
            added += 1
    return added


# --- who interprets each visit ----------------------------------------------------------------------


def _minutes(moment: datetime.time) -> int:
    return moment.hour * 60 + moment.minute


def assign(problem, visits) -> dict[str, Assignment]:
    """Each visit's interpreter (by service key), in time order, with no interpreter in two places: the
    one already with the patient that day first, then the highest level, then the least busy that day.
    Empty when the patient needs none."""
    if not needs_interpreter(problem.language):
        return {}
    pool = speakers(problem.interpreters, problem.language)
    mine: dict[str, dict[datetime.date, list[tuple[int, int]]]] = {i.key: {} for i in pool}
    out = {}
    for visit in sorted(visits, key=lambda v: (v.day, v.start or datetime.time(0))):
        begin = _minutes(visit.start) if visit.start else 0
        end = _minutes(visit.end) if visit.end else begin + 1
        free = [i for i in pool if i.free(visit.day, begin, end, extra=mine[i.key].get(visit.day, ()))]
        free.sort(key=lambda i: (not mine[i.key].get(visit.day), -i.level, len(i.busy.get(visit.day, ())), i.key))
        chosen = free[0].key if free else ""
        if chosen:
            mine[chosen].setdefault(visit.day, []).append((begin, end))
        out[visit.service] = Assignment(visit.service, visit.day, begin, end, base_language(problem.language), chosen)
    return out


def interpreter_short(visits) -> int:
    """How many of a plan's visits needed an interpreter and got none in person (the benchmark's K)."""
    return sum(1 for visit in visits if visit.language and not visit.interpreter)


def demand_of(visits) -> list[tuple[str, datetime.date, int, int]]:
    """A plan's visits that need an interpreter as (language, day, begin, end): what unavoidable_short takes."""
    return [
        (v.language, v.day, _minutes(v.start), _minutes(v.end) if v.end else _minutes(v.start) + 1)
        for v in visits
        if v.language and v.start
    ]


def double_booked(pool: Iterable[Interpreter], assignments: Iterable[Assignment]) -> list[tuple[str, str, str]]:
    """Pairs of assignments (or an assignment and an earlier commitment) that put one interpreter in two
    places at once, as (interpreter, day, what): empty when none. For tests and the benchmark."""
    by_key = {i.key: i for i in pool}
    seen: dict[tuple[str, datetime.date], list[tuple[int, int]]] = {}
    broken = []
    for a in sorted(assignments, key=lambda a: (a.day, a.begin)):
        if not a.interpreter:
            continue
        person = by_key[a.interpreter]
        if not person.free(a.day, a.begin, a.end):
            broken.append((a.interpreter, a.day.isoformat(), "busy or off"))
        for begin, end in seen.get((a.interpreter, a.day), ()):
            if a.begin < end and begin < a.end:
                broken.append((a.interpreter, a.day.isoformat(), f"{a.service} overlaps"))
        seen.setdefault((a.interpreter, a.day), []).append((a.begin, a.end))
    return broken


def unavoidable_short(demand: Iterable[tuple[str, datetime.date, int, int]], pool: Iterable[Interpreter]) -> int:
    """How many of these visits (language, day, begin, end) the pool cannot give an interpreter in person
    whatever anyone does: the visits no interpreter of the language is free for at all (none speaks it, none
    works then), plus, per language and day, the most of the other visits under way at one moment minus the
    interpreters of the language free at that moment. (An interpreter is with one patient at a time, and
    different days and languages never share a visit, so the sum is a lower bound on the visits left
    without one; a patient's own visits never overlap.)"""
    pool = list(pool)
    groups: dict[tuple[str, datetime.date], list[tuple[int, int]]] = {}
    total = 0
    for language, day, begin, end in demand:
        if any(i.free(day, begin, end) for i in speakers(pool, language)):
            groups.setdefault((base_language(language), day), []).append((begin, end))
        else:
            total += 1
    for (language, day), spans in groups.items():
        people = speakers(pool, language)
        worst = 0
        for moment in sorted({b for b, _e in spans}):
            under_way = sum(1 for b, e in spans if b <= moment < e)
            available = sum(1 for i in people if i.free(day, moment, moment + 1))
            worst = max(worst, under_way - available)
        total += worst
    return total


# --- the hospital's pass: who interprets every planned visit, all patients at once --------------------


@dataclass(frozen=True)
class Need:
    """A planned visit that needs an interpreter, in the hospital's pass: `ref` names it, `patient` groups
    one patient's visits (no gap is needed between them), `current` is its interpreter now ("" for none) and
    `keep` says it must stay interpreted in person (a confirmed trip's visit that has an interpreter: the
    interpreter may change, with the change recorded, but the patient never loses one)."""

    ref: str
    patient: str
    language: str
    day: datetime.date
    begin: int
    end: int
    current: str = ""
    keep: bool = False
    trip: str = ""  # a patient's visits of two different trips are alternatives (a re-plan and the trip it replaces)


@dataclass(frozen=True)
class Pass:
    """The hospital's pass: each need's interpreter by ref ("" for none), the needs left without one, and
    whether every day's assignment is proven optimal."""

    chosen: dict[str, str]
    short: int
    optimal: bool


def _apart(a: Need, b: Need) -> bool:
    """Whether one interpreter can take both: a patient's own visits need only not overlap (and of two trips
    of theirs, a re-plan and the trip it replaces, only one takes place); two patients' visits need
    GAP_MINUTES between them."""
    if a.patient == b.patient and a.trip != b.trip:
        return True
    gap = 0 if a.patient == b.patient else GAP_MINUTES
    return a.end + gap <= b.begin or b.end + gap <= a.begin


def assign_all(needs: Iterable[Need], pool: Iterable[Interpreter], time_limit: float = 5.0) -> Pass:
    """Who interprets each of the hospital's planned visits, all patients at once, as one CP-SAT model a
    day (the days share nobody's time): an interpreter takes a visit only in a language they speak, on a
    day they work and are not away, within their hours and clear of their commitments outside the pass
    (`busy`); never two visits that are not apart. Objective, lexicographically: the most visits interpreted
    in person; then the most visits keeping their current interpreter (fewest changes to tell anyone); then
    the highest medical interpreting level. A `keep` need whose current interpreter could still take it is
    never left without one. Solved from the current assignment as a hint."""
    from ortools.sat.python import cp_model

    pool = list(pool)
    by_day: dict[datetime.date, list[Need]] = {}
    for need in needs:
        by_day.setdefault(need.day, []).append(need)
    chosen: dict[str, str] = {}
    optimal = True
    for day, found in sorted(by_day.items()):
        found.sort(key=lambda n: (n.begin, n.end, n.ref))
        model = cp_model.CpModel()
        a: dict[tuple[int, str], cp_model.IntVar] = {}
        for v, need in enumerate(found):
            for person in speakers(pool, need.language):
                if person.free(day, need.begin, need.end):
                    a[(v, person.key)] = model.NewBoolVar(f"a_{v}_{person.key}")
        by_person: dict[str, list[int]] = {}
        for v, key in a:
            by_person.setdefault(key, []).append(v)
        for v, need in enumerate(found):
            options = [var for (w, _key), var in a.items() if w == v]
            if options:
                model.AddAtMostOne(options)
            if need.keep and (v, need.current) in a:
                model.Add(sum(options) == 1)
        for key, taken in by_person.items():
            for i, v in enumerate(taken):
                for w in taken[i + 1 :]:
                    if not _apart(found[v], found[w]):
                        model.AddBoolOr([a[(v, key)].Not(), a[(w, key)].Not()])
        levels = {p.key: p.level for p in pool}
        top = max(levels.values(), default=0) + 1
        count = len(found)
        keep_weight = top * count + 1
        cover_weight = keep_weight * (count + 1)
        model.Maximize(
            sum(
                var * (cover_weight + (keep_weight if found[v].current == key else 0) + levels[key])
                for (v, key), var in a.items()
            )
        )
        for (v, key), var in a.items():
            model.AddHint(var, found[v].current == key)
        solver = cp_model.CpSolver()
        solver.parameters.max_time_in_seconds = time_limit
        solver.parameters.num_search_workers = 1
        status = solver.Solve(model)
        if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            optimal &= status == cp_model.OPTIMAL
            for v, need in enumerate(found):
                chosen[need.ref] = next((key for (w, key), var in a.items() if w == v and solver.Value(var)), "")
        else:  # nothing found in time: the current assignment stands
            optimal = False
            for need in found:
                chosen[need.ref] = need.current
    return Pass(chosen, sum(1 for key in chosen.values() if not key), optimal)
