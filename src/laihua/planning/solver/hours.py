"""Times within a day: each day's visits one after another inside their resources' opening hours,
fasting (morning-only) services starting before noon, a set of visits that cannot fit found once and
remembered."""

from __future__ import annotations

import datetime

from laihua.planning.solver.problem import Problem, Service, Visit, _topological

DAY_START = 8 * 60  # minutes: the first visit of a day starts at 08:00 at the earliest
MORNING_END = 12 * 60  # fasting (morning-only) services start before noon
MOVE_MINUTES = 30  # between two visits of a day
ALWAYS_OPEN = ((0, 24 * 60),)  # a resource with no opening hours
USUAL_HOURS = ((DAY_START, 17 * 60),)  # opening hours that cannot be read
SEQUENCE_LIMIT = 12  # most visits of one day whose every order is searched when the usual order fails


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
