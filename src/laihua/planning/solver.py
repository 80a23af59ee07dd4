"""The trip planner, free of Django: a problem of dataclasses in, a day-by-day plan out.

Days are counted from the patient's earliest arrival (day 0). A service starts on one day and keeps
the patient at the hospital for `stay_days` days (1 for a visit, the inpatient days for a surgery);
it takes `units` of a resource on each of the days its usages say. Orders say that a service starts
at least `min_gap` (and at most `max_gap`) days after another one starts. The patient arrives
`arrival_buffer` days before the first service and leaves on the day after the last hospital day.

CP-SAT chooses a start day for every service (one boolean per service and candidate day) within
the remaining international quota of each resource and day, at most K visits a day, no visit on a
rest day, the latest departure and the limit of the entry route, each day's visits fitting one after
another in their resources' opening hours (fasting ones starting before noon; a set of visits that does
not fit is cut off and the model solved again), and minimises, in this order, the
departure day, the number of days spent at the hospital and the days of waiting. The greedy
baseline books each service in clinical order on the earliest day with room, as a coordinator does
by hand; it is also the fallback when CP-SAT finds nothing in its time limit. When no plan fits,
`explain` relaxes one constraint at a time to name the binding one and returns the nearest plan.
"""

from __future__ import annotations

import datetime
import heapq
import itertools
import time
from dataclasses import dataclass, field, replace

from ortools.sat.python import cp_model

DEFAULT_HORIZON = 60  # days searched when the patient gives no latest departure
HORIZON_MARGIN = 30  # with no latest departure, days searched beyond the shortest stay the orders allow
RELAXED_EXTRA = 60  # days added to the window when the latest departure or the stay limit is relaxed
DAY_START = 8 * 60  # minutes: the first visit of a day starts at 08:00 at the earliest
MORNING_END = 12 * 60  # fasting (morning-only) services start before noon
MOVE_MINUTES = 30  # between two visits of a day
DAY_MINUTES = 9 * 60  # most minutes of visits in one day
ALWAYS_OPEN = ((0, 24 * 60),)  # a resource with no opening hours
USUAL_HOURS = ((DAY_START, 17 * 60),)  # opening hours that cannot be read
PRECUT_SIZE = 4  # most services in a set that does not fit one day, looked for before the first solve
MAX_CUT_ROUNDS = 30  # CP-SAT re-solves after excluding days whose visits do not fit the opening hours
SEQUENCE_LIMIT = 12  # most visits of one day whose every order is searched when the usual order fails


@dataclass(frozen=True)
class Usage:
    resource: str
    units: int = 1
    day_offset: int = 0
    days: int = 1


@dataclass(frozen=True)
class Service:
    key: str
    name: str = ""
    usages: tuple[Usage, ...] = ()
    duration_minutes: int = 30
    morning_only: bool = False
    stay_days: int = 1

    @property
    def span(self) -> int:
        usage_span = max((u.day_offset + u.days for u in self.usages), default=1)
        return max(1, self.stay_days, usage_span)


@dataclass(frozen=True)
class Order:
    before: str
    after: str
    min_gap: int = 0
    max_gap: int | None = None


@dataclass
class Resource:
    key: str
    name: str = ""
    opening_hours: str = ""
    remaining: dict[datetime.date, int] = field(default_factory=dict)  # a day missing has no room


@dataclass
class Problem:
    services: list[Service]
    orders: list[Order]
    resources: dict[str, Resource]
    earliest_arrival: datetime.date
    latest_departure: datetime.date | None = None
    stay_limit: int | None = None  # most days between arrival and departure allowed by the entry route
    route: str = ""  # the entry route's name, for messages
    visits_per_day: int = 2
    rest_days: frozenset[datetime.date] = frozenset()
    rest_weekdays: frozenset[int] = frozenset()  # 0 = Monday
    arrival_buffer: int = 1
    time_limit: float = 1.0
    workers: int = 2

    def day(self, index: int) -> datetime.date:
        return self.earliest_arrival + datetime.timedelta(days=index)

    def index(self, day: datetime.date) -> int:
        return (day - self.earliest_arrival).days

    @property
    def horizon(self) -> int:
        """The last possible departure day, as an index. With no latest departure, far enough for the
        orders' longest chain and a margin for the quota: the window is a search limit, not a date."""
        if self.latest_departure is not None:
            return self.index(self.latest_departure)
        if not self.services:
            return DEFAULT_HORIZON
        return max(DEFAULT_HORIZON, lower_bound(self) + HORIZON_MARGIN)

    def is_rest(self, index: int) -> bool:
        day = self.day(index)
        return day in self.rest_days or day.weekday() in self.rest_weekdays


@dataclass
class Visit:
    service: str
    name: str
    day: datetime.date
    start: datetime.time | None = None
    end: datetime.time | None = None
    resource: str = ""
    warning: str = ""


@dataclass
class Plan:
    method: str  # cpsat or greedy
    arrival: datetime.date
    departure: datetime.date
    starts: dict[str, datetime.date]
    hospital_days: int
    visits: list[Visit] = field(default_factory=list)
    optimal: bool = False
    seconds: float = 0.0

    @property
    def stay(self) -> int:
        return (self.departure - self.arrival).days

    @property
    def waiting_days(self) -> int:
        return max(0, self.stay - 1 - self.hospital_days)


@dataclass
class Reason:
    code: str  # stay_limit, latest_departure, quota, visits_per_day, rest_days, order, no_plan
    params: dict
    text: str  # plain English; services.py translates by code and params


@dataclass
class Outcome:
    plan: Plan | None
    greedy: Plan | None
    bound: int  # the shortest stay the orders and gaps allow, ignoring capacity
    reasons: list[Reason] = field(default_factory=list)
    nearest: Plan | None = None
    status: str = ""  # optimal, feasible, fallback, infeasible


# --- helpers --------------------------------------------------------------------------------------


def _topological(problem: Problem) -> list[Service]:
    """The services in clinical order (stable: the given order among services with no order between them)."""
    position = {s.key: n for n, s in enumerate(problem.services)}
    by_key = {s.key: s for s in problem.services}
    incoming = {s.key: 0 for s in problem.services}
    for order in problem.orders:
        if order.before in by_key and order.after in by_key:
            incoming[order.after] += 1
    ready = [(position[k], k) for k, n in incoming.items() if n == 0]
    heapq.heapify(ready)
    out = []
    while ready:
        _pos, key = heapq.heappop(ready)
        out.append(by_key[key])
        for order in problem.orders:
            if order.before == key and order.after in incoming:
                incoming[order.after] -= 1
                if incoming[order.after] == 0:
                    heapq.heappush(ready, (position[order.after], order.after))
    if len(out) != len(problem.services):
        raise ValueError("The clinical order has a cycle.")
    return out


def earliest_offsets(problem: Problem) -> dict[str, int]:
    """Each service's earliest start after the first one, along the longest chain of min gaps."""
    offsets = {}
    for service in _topological(problem):
        preds = [o for o in problem.orders if o.after == service.key and o.before in offsets]
        offsets[service.key] = max((offsets[o.before] + o.min_gap for o in preds), default=0)
    return offsets


def lower_bound(problem: Problem) -> int:
    """The shortest stay (days from arrival to departure) the orders and gaps allow, ignoring capacity."""
    offsets = earliest_offsets(problem)
    return problem.arrival_buffer + max(offsets[s.key] + s.span for s in problem.services)


def _uses(service: Service, start: int):
    """(resource, day index, units) the service takes when it starts on `start`, each pair once."""
    taken: dict[tuple[str, int], int] = {}
    for usage in service.usages:
        for k in range(usage.day_offset, usage.day_offset + usage.days):
            taken[(usage.resource, start + k)] = taken.get((usage.resource, start + k), 0) + usage.units
    for (resource, index), units in taken.items():
        yield resource, index, units


def _remaining(problem: Problem, resource: str, index: int) -> int:
    found = problem.resources.get(resource)
    if found is None:
        return 0
    return found.remaining.get(problem.day(index), 0)


def _start_allowed(problem: Problem, service: Service, start: int, used: dict | None = None) -> bool:
    """Room for the service from `start` (the caller keeps it within the horizon, computed once)."""
    if start < problem.arrival_buffer:
        return False
    if problem.is_rest(start):
        return False
    for resource, index, units in _uses(service, start):
        if (used or {}).get((resource, index), 0) + units > _remaining(problem, resource, index):
            return False
    return True


def _minutes(text: str) -> int:
    hours, minutes = text.strip().split(":")
    return int(hours) * 60 + int(minutes)


def _parse_hours(text: str) -> tuple[tuple[int, int], ...]:
    """Opening hours "08:00-17:00" or "08:00-12:00,13:30-17:00" as (opens, closes) minutes, in order.
    No hours means always open; hours that cannot be read mean a usual working day."""
    parts = [p for p in (text or "").replace("–", "-").split(",") if p.strip()]
    if not parts:
        return ALWAYS_OPEN
    try:
        intervals = [tuple(_minutes(t) for t in part.split("-")[:2]) for part in parts]
    except (IndexError, ValueError):
        return USUAL_HOURS
    if any(len(i) != 2 or i[1] <= i[0] for i in intervals):
        return USUAL_HOURS
    return tuple(sorted(intervals))


def _clock(minutes: int) -> datetime.time:
    minutes = max(0, min(minutes, 24 * 60 - 1))
    return datetime.time(minutes // 60, minutes % 60)


def _make_plan(
    problem: Problem, starts: dict[str, int], method: str, *, optimal=False, seconds=0.0, timer: _Timer | None = None
) -> Plan:
    """The plan for these start days: arrival, departure, hospital days and the visits with their times."""
    by_key = {s.key: s for s in problem.services}
    first = min(starts.values())
    departure = max(starts[k] + by_key[k].span for k in starts)
    busy = set()
    for key, start in starts.items():
        busy.update(range(start, start + by_key[key].span))
    plan = Plan(
        method=method,
        arrival=problem.day(first - problem.arrival_buffer),
        departure=problem.day(departure),
        starts={k: problem.day(v) for k, v in starts.items()},
        hospital_days=len(busy),
        optimal=optimal,
        seconds=seconds,
    )
    plan.visits = _times(problem, starts, timer)
    return plan


# --- times within a day ---------------------------------------------------------------------------


def _length(service: Service) -> int:
    return max(1, service.duration_minutes)


def _where(problem: Problem, service: Service) -> tuple[str, tuple[tuple[int, int], ...]]:
    """Where a visit happens, the usage of its first day that lasts least (the theatre, not the bed), and
    that resource's opening hours."""
    main = min(service.usages, key=lambda u: (u.day_offset, u.days), default=None)
    resource = main.resource if main else ""
    found = problem.resources.get(resource)
    return resource, _parse_hours(found.opening_hours if found else "")


def _slot(hours: tuple[tuple[int, int], ...], cursor: int, service: Service) -> int | None:
    """The earliest start from `cursor` at which the visit fits inside one open interval, a fasting one
    starting before noon; None when there is none. The intervals come in order, and a later start within
    an interval never fits where the earliest does not."""
    for opens, closes in hours:
        begin = max(cursor, opens)
        if begin + _length(service) <= closes and not (service.morning_only and begin >= MORNING_END):
            return begin
    return None


def _warning(service: Service, begin: int, hours: tuple[tuple[int, int], ...]) -> str:
    if service.morning_only and begin >= MORNING_END:
        return "after_noon"
    if not any(opens <= begin and begin + _length(service) <= closes for opens, closes in hours):
        return "after_closing"
    return ""


class _Timer:
    """Times the visits of one day inside their resources' opening hours, remembered by the set of services.
    The hours are the same every day, so a set that does not fit on one day fits on none; and a set
    holding one that does not fit does not fit either (leaving out visits never makes the others later)."""

    def __init__(self, problem: Problem):
        self.by_key = {s.key: s for s in problem.services}
        self.rank = {s.key: n for n, s in enumerate(_topological(problem))}
        self.place = {s.key: _where(problem, s) for s in problem.services}
        self.before: dict[str, set[str]] = {s.key: set() for s in problem.services}
        for o in problem.orders:
            self.before.setdefault(o.after, set()).add(o.before)
        self.known: dict[frozenset, list | None] = {}

    def schedule(self, keys: frozenset) -> list[tuple[Service, int]] | None:
        """The day's visits in the order they happen, each with its start minute; None when they cannot fit.
        The usual order first (clinical order, fasting services first), so that times stay as coordinators
        expect; only when it does not fit, every order the same-day orders allow."""
        if keys not in self.known:
            self.known[keys] = self._fit(self._usual(keys)) or self._search(keys)
        return self.known[keys]

    def fits(self, keys) -> bool:
        return self.schedule(frozenset(keys)) is not None

    def core(self, keys: frozenset) -> frozenset:
        """A smaller set within one that does not fit, that still does not fit: a cut on it excludes more."""
        core = set(keys)
        for key in sorted(keys, key=self.rank.__getitem__):
            if len(core) > 1 and not self.fits(core - {key}):
                core.discard(key)
        return frozenset(core)

    def times(self, keys: frozenset) -> list[tuple[Service, int]]:
        """The schedule, or for a set that does not fit (a plan `check` rejects) the usual order with each
        visit from the first opening when it fits nowhere, so that its warning shows."""
        return self.schedule(keys) or self._fit(self._usual(keys), strict=False)

    def _after(self, keys) -> dict[str, set[str]]:
        """Each visit's predecessors on the same day."""
        return {k: self.before[k] & keys for k in keys}

    def _usual(self, keys) -> list[Service]:
        """In clinical order, fasting services first among those whose same-day predecessors are done."""
        after, done, out = self._after(keys), set(), []
        while len(out) < len(keys):
            pending = [k for k in keys if k not in done]
            ready = [k for k in pending if after[k] <= done] or pending
            key = min(ready, key=lambda k: (not self.by_key[k].morning_only, self.rank[k]))
            done.add(key)
            out.append(self.by_key[key])
        return out

    def _fit(self, sequence: list[Service], *, strict: bool = True) -> list[tuple[Service, int]] | None:
        """Each visit at the earliest time it fits, after the one before and the move between them."""
        cursor, out = DAY_START, []
        for service in sequence:
            hours = self.place[service.key][1]
            begin = _slot(hours, cursor, service)
            if begin is None:
                if strict:
                    return None
                begin = max(cursor, hours[0][0])
            out.append((service, begin))
            cursor = begin + _length(service) + MOVE_MINUTES
        return out

    def _search(self, keys: frozenset) -> list[tuple[Service, int]] | None:
        """Every order the same-day orders allow, by the set of visits done so far: of two ways to do the
        same visits, the one that ends earlier leaves the others at least as much room."""
        items = sorted(keys, key=self.rank.__getitem__)
        if len(items) > SEQUENCE_LIMIT:
            return None
        bit = {k: 1 << n for n, k in enumerate(items)}
        need = {k: sum(bit[b] for b in before) for k, before in self._after(keys).items()}
        best: dict[int, tuple[int, tuple]] = {0: (DAY_START, ())}  # done -> (cursor, visits so far)
        for done in range(1 << len(items)):  # every set comes after the sets it grows from
            if done not in best:
                continue
            cursor, visits = best[done]
            for key in items:
                if done & bit[key] or need[key] & ~done:
                    continue
                service = self.by_key[key]
                begin = _slot(self.place[key][1], cursor, service)
                if begin is None:
                    continue
                end = begin + _length(service) + MOVE_MINUTES
                grown = done | bit[key]
                if grown not in best or end < best[grown][0]:
                    best[grown] = (end, visits + ((service, begin),))
        found = best.get((1 << len(items)) - 1)
        return list(found[1]) if found else None


def _days(starts: dict[str, int]) -> dict[int, frozenset]:
    """The services starting on each day."""
    out: dict[int, set] = {}
    for key, index in starts.items():
        out.setdefault(index, set()).add(key)
    return {index: frozenset(keys) for index, keys in sorted(out.items())}


def _times(problem: Problem, starts: dict[str, int], timer: _Timer | None = None) -> list[Visit]:
    """Times within each day, inside the opening hours of each visit's resource."""
    timer = timer or _Timer(problem)
    visits = []
    for index, keys in _days(starts).items():
        for service, begin in timer.times(keys):
            resource, hours = timer.place[service.key]
            end = begin + _length(service)
            visits.append(
                Visit(
                    service.key,
                    service.name,
                    problem.day(index),
                    _clock(begin),
                    _clock(end),
                    resource,
                    _warning(service, begin, hours),
                )
            )
    return visits


def check(problem: Problem, plan: Plan) -> list[str]:
    """What the plan breaks (empty when it keeps every constraint): used by tests and the benchmark."""
    by_key = {s.key: s for s in problem.services}
    starts = {k: problem.index(v) for k, v in plan.starts.items()}
    broken = []
    for o in problem.orders:
        gap = starts[o.after] - starts[o.before]
        if gap < o.min_gap or (o.max_gap is not None and gap > o.max_gap):
            broken.append(f"order {o.before}->{o.after}")
    used: dict = {}
    for key, start in starts.items():
        for resource, index, units in _uses(by_key[key], start):
            used[(resource, index)] = used.get((resource, index), 0) + units
    for (resource, index), units in used.items():
        if units > _remaining(problem, resource, index):
            broken.append(f"quota {resource} {problem.day(index)}")
    per_day: dict = {}
    for start in starts.values():
        per_day[start] = per_day.get(start, 0) + 1
        if problem.is_rest(start):
            broken.append(f"rest {problem.day(start)}")
    broken += [f"visits {problem.day(d)}" for d, n in per_day.items() if n > problem.visits_per_day]
    if problem.stay_limit is not None and plan.stay > problem.stay_limit:
        broken.append("stay_limit")
    if problem.latest_departure is not None and plan.departure > problem.latest_departure:
        broken.append("latest_departure")
    if plan.arrival < problem.earliest_arrival:
        broken.append("earliest_arrival")
    timer = _Timer(problem)
    broken += [f"hours {problem.day(d)}" for d, keys in _days(starts).items() if not timer.fits(keys)]
    return broken


# --- greedy ---------------------------------------------------------------------------------------


def greedy(problem: Problem, *, max_restarts: int = 300) -> Plan | None:
    """Book each service in clinical order on the earliest day with room; None when that fails."""
    began = time.perf_counter()
    services = _topological(problem)
    horizon = problem.horizon
    timer = _Timer(problem)
    floor: dict[str, int] = {}
    for _attempt in range(max_restarts):
        starts: dict[str, int] = {}
        used: dict = {}
        booked: dict[int, frozenset] = {}  # the services starting on each day
        failed = None
        for service in services:
            preds = [o for o in problem.orders if o.after == service.key and o.before in starts]
            low = max(
                [problem.arrival_buffer, floor.get(service.key, 0)] + [starts[o.before] + o.min_gap for o in preds]
            )
            caps = [starts[o.before] + o.max_gap for o in preds if o.max_gap is not None]
            high = min(caps + [horizon - service.span])
            chosen = _earliest_day(problem, service, range(low, high + 1), used, booked, timer)
            if chosen is None:
                failed = (service, preds)
                break
            starts[service.key] = chosen
            booked[chosen] = booked.get(chosen, frozenset()) | {service.key}
            for resource, index, units in _uses(service, chosen):
                used[(resource, index)] = used.get((resource, index), 0) + units
        if failed is None:
            plan = _make_plan(problem, starts, "greedy", seconds=time.perf_counter() - began, timer=timer)
            if problem.stay_limit is not None and plan.stay > problem.stay_limit:
                return None
            return plan
        service, preds = failed
        bounded = [o for o in preds if o.max_gap is not None]
        if not bounded:
            return None
        # As a coordinator would: move the predecessor with a deadline one day later and start again.
        for o in bounded:
            floor[o.before] = starts[o.before] + 1
    return None


def _earliest_day(problem: Problem, service: Service, days: range, used: dict, booked: dict, timer: _Timer):
    """The first of these days with room for the service and under K visits, on which the day's visits
    still fit the opening hours with it; None when there is none."""
    for start in days:
        today = booked.get(start, frozenset())
        if len(today) >= problem.visits_per_day or not _start_allowed(problem, service, start, used):
            continue
        if timer.fits(today | {service.key}):
            return start
    return None


# --- CP-SAT ---------------------------------------------------------------------------------------


def _solve(problem: Problem, *, primary: str = "departure", ignore_quota: frozenset[str] = frozenset()):
    """CP-SAT: (status, starts by key or None, optimal). A solution with a day whose visits do not fit the
    opening hours is cut off (those services never all on one day) and the model solved again, within
    the time limit."""
    began = time.perf_counter()
    if not problem.services:
        return "infeasible", None, False
    timer = _Timer(problem)
    built = _model(problem, primary, ignore_quota, timer)
    if built is None:
        return "infeasible", None, False
    model, x, start_var = built
    for _round in range(MAX_CUT_ROUNDS):
        left = problem.time_limit - (time.perf_counter() - began)
        if left <= 0:
            break
        solver = cp_model.CpSolver()
        solver.parameters.max_time_in_seconds = left
        solver.parameters.num_search_workers = problem.workers
        status = solver.Solve(model)
        if status == cp_model.INFEASIBLE:
            return "infeasible", None, False
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            break
        starts = {key: solver.Value(var) for key, var in start_var.items()}
        misfits = [keys for keys in _days(starts).values() if not timer.fits(keys)]
        if not misfits:
            optimal = status == cp_model.OPTIMAL
            return ("optimal" if optimal else "feasible"), starts, optimal
        for keys in misfits:
            _apart(model, x, timer.core(keys))
    return "unknown", None, False


def _apart(model: cp_model.CpModel, x: dict, keys) -> None:
    """These services do not fit the opening hours together: not all of them on any one day."""
    days = {d for (_key, d) in x}
    for day in sorted(days):
        terms = [x[(k, day)] for k in keys if (k, day) in x]
        if len(terms) == len(keys):
            model.Add(sum(terms) <= len(keys) - 1)


def _misfits(timer: _Timer, keys: list[str], most: int) -> list[frozenset]:
    """The sets of two to `most` services that do not fit one day together, leaving out those that hold
    a smaller such set (its cut already covers them)."""
    found: list[frozenset] = []
    for size in range(2, most + 1):
        for combo in map(frozenset, itertools.combinations(keys, size)):
            if not any(f <= combo for f in found) and not timer.fits(combo):
                found.append(combo)
    return found


def _candidates(problem: Problem, service: Service, horizon: int, ignore_quota, timer: _Timer) -> list[int]:
    """The days the service may start: within the horizon, not a rest day, with room for it; none when
    the visit fits no day's opening hours even alone (longer than any opening, fasting after noon)."""
    if not timer.fits({service.key}):
        return []
    days = []
    for start in range(problem.arrival_buffer, horizon - service.span + 1):
        if problem.is_rest(start):
            continue
        if any(
            r not in ignore_quota and units > _remaining(problem, r, index) for r, index, units in _uses(service, start)
        ):
            continue
        days.append(start)
    return days


def _model(problem: Problem, primary: str, ignore_quota, timer: _Timer):
    """The CP-SAT model: (model, x by (service, day), start variable by service), or None when a service
    has no day at all."""
    services = problem.services
    horizon = problem.horizon
    model = cp_model.CpModel()
    x: dict[tuple[str, int], cp_model.IntVar] = {}
    start_var = {}
    for service in services:
        days = _candidates(problem, service, horizon, ignore_quota, timer)
        if not days:
            return None
        for start in days:
            x[(service.key, start)] = model.NewBoolVar(f"x_{service.key}_{start}")
        model.AddExactlyOne(x[(service.key, d)] for d in days)
        var = model.NewIntVarFromDomain(cp_model.Domain.FromValues(days), f"s_{service.key}")
        model.Add(var == sum(d * x[(service.key, d)] for d in days))
        start_var[service.key] = var
    by_key = {s.key: s for s in services}
    for o in problem.orders:
        if o.before in start_var and o.after in start_var:
            model.Add(start_var[o.after] - start_var[o.before] >= o.min_gap)
            if o.max_gap is not None:
                model.Add(start_var[o.after] - start_var[o.before] <= o.max_gap)
    # Quota: the units taken on each (resource, day) stay within the remaining international places.
    load: dict[tuple[str, int], list] = {}
    for (key, start), var in x.items():
        for resource, index, units in _uses(by_key[key], start):
            if resource not in ignore_quota:
                load.setdefault((resource, index), []).append(units * var)
    for (resource, index), terms in load.items():
        if len(terms) > 1:
            model.Add(sum(terms) <= _remaining(problem, resource, index))
    # At most K visits and DAY_MINUTES of visits a day.
    per_day: dict[int, list] = {}
    for (key, start), var in x.items():
        per_day.setdefault(start, []).append((var, by_key[key].duration_minutes))
    for terms in per_day.values():
        if len(terms) > problem.visits_per_day:
            model.Add(sum(v for v, _m in terms) <= problem.visits_per_day)
        if sum(m for _v, m in terms) > DAY_MINUTES:
            model.Add(sum(v * m for v, m in terms) <= DAY_MINUTES)
    # Small sets of visits that never fit one day's opening hours together are cut off before the first
    # solve: each re-solve costs about as much as the first. Larger sets are cut as solutions show them.
    for keys in _misfits(timer, [s.key for s in services], min(problem.visits_per_day, PRECUT_SIZE)):
        _apart(model, x, keys)
    departure = model.NewIntVar(0, horizon, "departure")
    first = model.NewIntVar(0, horizon, "first")
    model.AddMinEquality(first, list(start_var.values()))
    for service in services:
        model.Add(departure >= start_var[service.key] + service.span)
    if problem.stay_limit is not None:
        model.Add(departure - first + problem.arrival_buffer <= problem.stay_limit)
    _objective(model, problem, x, departure, first, primary, horizon)
    return model, x, start_var


def _objective(model, problem: Problem, x: dict, departure, first, primary: str, horizon: int) -> None:
    """Minimise the departure, the days at the hospital, the stay (the stay first when `primary` says so)."""
    # Days at the hospital: busy[t] is 1 when any service keeps the patient there on day t.
    busy = []
    for t in range(problem.arrival_buffer, horizon):
        active = []
        for service in problem.services:
            terms = [x[(service.key, t - k)] for k in range(service.span) if (service.key, t - k) in x]
            if terms:
                active.append(terms)
        if not active:
            continue
        flag = model.NewBoolVar(f"busy_{t}")
        for terms in active:
            model.Add(flag >= sum(terms))
        busy.append(flag)
    weight = horizon + 2
    stay = departure - first
    if primary == "stay":
        model.Minimize(stay * weight * weight + departure * weight + sum(busy))
    else:
        model.Minimize(departure * weight * weight + sum(busy) * weight + stay)


def cpsat(problem: Problem, **options) -> Plan | None:
    """The CP-SAT plan, or None when there is none (or none found in the time limit)."""
    began = time.perf_counter()
    status, starts, optimal = _solve(problem, **options)
    if starts is None:
        return None
    return _make_plan(problem, starts, "cpsat", optimal=optimal, seconds=time.perf_counter() - began)


def plan_trip(problem: Problem, *, explain_failure: bool = True) -> Outcome:
    """CP-SAT first, greedy as the fallback and the comparison; reasons and the nearest plan when none fits."""
    bound = lower_bound(problem)
    began = time.perf_counter()
    status, starts, optimal = _solve(problem)
    seconds = time.perf_counter() - began
    base = greedy(problem)
    if starts is not None:
        plan = _make_plan(problem, starts, "cpsat", optimal=optimal, seconds=seconds)
        return Outcome(plan=plan, greedy=base, bound=bound, status=status)
    if base is not None:  # CP-SAT ran out of time: the greedy plan is still a plan
        return Outcome(plan=base, greedy=base, bound=bound, status="fallback")
    outcome = Outcome(plan=None, greedy=None, bound=bound, status="infeasible")
    if explain_failure:
        outcome.reasons, outcome.nearest = explain(problem)
    return outcome


# --- explaining infeasibility ---------------------------------------------------------------------


def _fmt(day: datetime.date) -> str:
    return f"{day.day} {day:%B %Y}"


def _quick(problem: Problem) -> Problem:
    return replace(problem, time_limit=min(problem.time_limit, 0.5))


def _full_until(problem: Problem, key: str, nearest: Plan | None = None) -> datetime.date | None:
    """The first day the resource has room again for a service it holds up: for each service using it,
    the first day from the service's earliest start (the arrival buffer and the orders' gaps), not a rest
    day, with room for what it takes of the resource; the earliest of those later than that start. When
    it holds none up on its own (it binds with others), the first day the nearest plan uses it later
    than a service's earliest start. Never later than the nearest plan's day for a service it held up."""
    lows = {k: problem.arrival_buffer + v for k, v in earliest_offsets(problem).items()}
    users = [s for s in problem.services if any(u.resource == key for u in s.usages)]
    held = [d for s in users if (d := _first_room(problem, s, key, lows[s.key])) is not None and d > lows[s.key]]
    if not held and nearest is not None:
        held = [i for s in users if (i := problem.index(nearest.starts[s.key])) > lows[s.key]]
    return problem.day(min(held)) if held else None


def _first_room(problem: Problem, service: Service, key: str, low: int) -> int | None:
    """The first day from `low`, not a rest day, on which the resource has room for the service."""
    for start in range(low, problem.horizon + RELAXED_EXTRA):
        if not problem.is_rest(start) and all(
            units <= _remaining(problem, r, index) for r, index, units in _uses(service, start) if r == key
        ):
            return start
    return None


def explain(problem: Problem) -> tuple[list[Reason], Plan | None]:
    """Relax one constraint at a time: the reasons (binding constraint first) and the nearest plan."""
    quick = _quick(problem)
    reasons: list[Reason] = []
    nearest: Plan | None = None
    # 1. Dates: a later departure and a longer stay. When that helps, capacity or the window binds.
    # With no latest departure the date below only widens the search of this relaxed copy: no reason
    # names it (step 3 needs the patient's own latest departure).
    wider = replace(
        quick,
        latest_departure=problem.day(problem.horizon + RELAXED_EXTRA),
        stay_limit=None,
    )
    later = cpsat(wider)
    if later is not None:
        free = cpsat(replace(quick, resources={k: _unlimited(r) for k, r in problem.resources.items()}))
        if free is not None:
            # Capacity binds: name the resources that, given room, would make the window work.
            for key, resource in problem.resources.items():
                alone = cpsat(replace(quick, resources={**problem.resources, key: _unlimited(resource)}))
                if alone is None:
                    continue
                until = _full_until(problem, key, later) or later.departure
                reasons.append(
                    Reason(
                        "quota",
                        {"resource": resource.name or key, "key": key, "until": until.isoformat()},
                        f"{resource.name or key} quota full until {_fmt(until)}",
                    )
                )
            if not reasons:
                reasons.append(Reason("quota_many", {}, "several resources are fully booked in these dates"))
        nearest = later
    # 2. The entry route's limit (the clinical order alone may need longer than the route allows).
    if problem.stay_limit is not None:
        longer = cpsat(replace(quick, stay_limit=None), primary="stay")
        if longer is None and later is not None:
            longer = cpsat(replace(wider, stay_limit=None), primary="stay")
        if longer is not None and longer.stay > problem.stay_limit:
            excess = longer.stay - problem.stay_limit
            route = problem.route or f"{problem.stay_limit}-day"
            reasons.insert(
                0 if lower_bound(problem) > problem.stay_limit else len(reasons),
                Reason(
                    "stay_limit",
                    {"route": route, "limit": problem.stay_limit, "excess": excess},
                    f"the stay would exceed the {route} limit by {excess} day{'s' if excess != 1 else ''}",
                ),
            )
            if nearest is None or lower_bound(problem) > problem.stay_limit:
                nearest = longer
    # 3. The latest departure.
    if problem.latest_departure is not None and later is not None and later.departure > problem.latest_departure:
        over = (later.departure - problem.latest_departure).days
        if not any(r.code == "quota" for r in reasons):
            reasons.append(
                Reason(
                    "latest_departure",
                    {"latest": problem.latest_departure.isoformat(), "excess": over},
                    f"the earliest departure is {_fmt(later.departure)}, {over} day{'s' if over != 1 else ''} "
                    f"after the latest departure of {_fmt(problem.latest_departure)}",
                )
            )
    # 4. The patient's preferences.
    if problem.visits_per_day < len(problem.services):
        more = cpsat(replace(quick, visits_per_day=len(problem.services)))
        if more is not None:
            reasons.append(
                Reason(
                    "visits_per_day",
                    {"limit": problem.visits_per_day},
                    f"at most {problem.visits_per_day} hospital visits a day leaves no plan in these dates",
                )
            )
            nearest = nearest or more
    if problem.rest_days or problem.rest_weekdays:
        rested = cpsat(replace(quick, rest_days=frozenset(), rest_weekdays=frozenset()))
        if rested is not None:
            reasons.append(Reason("rest_days", {}, "the rest days leave no plan in these dates"))
            nearest = nearest or rested
    if not reasons:
        reasons.append(Reason("no_plan", {}, "no plan fits even with a later departure and a longer stay"))
    return reasons, nearest


def _unlimited(resource: Resource) -> Resource:
    return Resource(resource.key, resource.name, resource.opening_hours, _Plenty())


class _Plenty(dict):
    def get(self, key, default=None):
        return 10**6
