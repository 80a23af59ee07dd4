"""The planner's problem and its answers as dataclasses, and what the clinical orders alone allow.

Days are counted from the patient's earliest arrival (day 0). A service starts on one day and keeps
the patient at the hospital for `stay_days` days (1 for a visit, the inpatient days for a surgery);
it takes `units` of a resource on each of the days its usages say. Orders say that a service starts
at least `min_gap` (and at most `max_gap`) days after another one starts. The patient arrives
`arrival_buffer` days before the first service and leaves on the day after the last hospital day.
The bound (lower_bound) is the shortest stay the orders and gaps allow, ignoring capacity.
"""

from __future__ import annotations

import datetime
import heapq
from dataclasses import dataclass, field

DEFAULT_HORIZON = 60  # days searched when the patient gives no latest departure
HORIZON_MARGIN = 30  # with no latest departure, days searched beyond the shortest stay the orders allow


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
    turnaround_days: int = 0  # working days until its report is ready (the steps after it wait for it)

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
    fly_after: dict[str, int] = field(default_factory=dict)  # service key -> fewest days after it before a flight
    time_limit: float = 1.0
    workers: int = 2
    # Interpreters (interpreters.py): the patient's language and the hospital's pool.
    language: str = ""
    interpreters: tuple = ()

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
    # Interpreters (interpreters.py): the language needed and who interprets ("" with language: none free).
    language: str = ""
    interpreter: str = ""


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
    fit_to_fly: datetime.date | None = None  # the first day the patient may fly home after the procedures

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
    text: str  # plain English; planning.services.reason_text translates by code and params


@dataclass
class Outcome:
    plan: Plan | None
    greedy: Plan | None
    bound: int  # the shortest stay the orders and gaps allow, ignoring capacity
    reasons: list[Reason] = field(default_factory=list)
    nearest: Plan | None = None
    status: str = ""  # optimal, feasible, fallback, infeasible


# --- the clinical order and the bound --------------------------------------------------------------


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
        turnaround = {s.key: s.turnaround_days for s in problem.services}
        offsets[service.key] = max((offsets[o.before] + max(o.min_gap, turnaround[o.before]) for o in preds), default=0)
    return offsets


def lower_bound(problem: Problem) -> int:
    """The shortest stay (days from arrival to departure) the orders and gaps allow, ignoring capacity."""
    offsets = earliest_offsets(problem)
    last = max(offsets[s.key] + s.span for s in problem.services)
    fly = max((offsets[k] + d for k, d in problem.fly_after.items() if k in offsets), default=0)
    return problem.arrival_buffer + max(last, fly)


# --- room for a service ---------------------------------------------------------------------------


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
