"""A case's accepted services planned along their clinical pathways: a package or service of the quote
that has a pathway is planned as the pathway's steps (each a catalog service of the hospital), in its
stages, with its report turnarounds, its inpatient nights exactly as the quote includes them (the
pathway's nights plus the quote's priced inpatient-day lines) and its fit-to-fly rule. Services of the
quote outside every pathway are planned as before.

`expand` is the case's services as the planner sees them; `apply` puts the pathway's rules into the
solver's problem; `day_reasons` says why each day of the plan is there, for the page, PDF and API."""

import datetime
from dataclasses import dataclass, field, replace

from laihua.capacity.models import Resource, ResourceKind
from laihua.catalog.models import CatalogItem, Kind
from laihua.planning import solver
from laihua.planning.models import Pathway, PathwayStep, StepKind


@dataclass
class PathwayPlan:
    """What the pathways of a case add to its plan."""

    pathways: list[Pathway] = field(default_factory=list)
    items: list[CatalogItem] = field(default_factory=list)  # to plan: services outside pathways, then the steps
    orders: list[dict] = field(default_factory=list)  # between the steps: {before, after, min, max}
    steps: dict[str, PathwayStep] = field(default_factory=dict)  # by service code
    nights: dict[str, int] = field(default_factory=dict)  # procedure code -> inpatient nights
    fly_after: dict[str, int] = field(default_factory=dict)  # procedure code -> fit-to-fly days
    extra_nights: int = 0  # the quote's priced inpatient-day lines, booked as nights after the pathway's

    @property
    def covered(self) -> set[str]:
        """The codes the pathways plan (their catalog orders give way to the pathways' own)."""
        return set(self.steps)


def stages(pathway: Pathway) -> list[list[PathwayStep]]:
    """The pathway's steps in stages: a step with the one before it shares its stage."""
    out: list[list[PathwayStep]] = []
    for step in sorted(pathway.steps.all(), key=lambda s: s.position):
        if step.with_previous and out:
            out[-1].append(step)
        else:
            out.append([step])
    return out


def stage_orders(pathway: Pathway) -> list[dict]:
    """Each step after every step of the stage before it, by its gaps."""
    orders = []
    found = stages(pathway)
    for earlier, later in zip(found, found[1:], strict=False):
        for step in later:
            for before in earlier:
                orders.append(
                    {
                        "before": before.service.code,
                        "after": step.service.code,
                        "min": step.min_gap_days,
                        "max": step.max_gap_days,
                    }
                )
    return orders


def expand(items: list[CatalogItem], quantities: dict[int, int]) -> PathwayPlan:
    """The case's services as the planner sees them, with what their pathways add."""
    pathways = list(Pathway.objects.filter(item__in=items).select_related("item").prefetch_related("steps__service"))
    if not pathways:
        return PathwayPlan(items=list(items))
    plan = PathwayPlan(pathways=pathways)
    with_nights = any(p.nights for p in pathways)
    if with_nights:  # more nights only as a priced inpatient-day line on the quote
        plan.extra_nights = sum(quantities.get(i.pk, 1) for i in items if i.kind == Kind.INPATIENT_DAY)
    step_items: list[CatalogItem] = []
    for pathway in pathways:
        for step in sorted(pathway.steps.all(), key=lambda s: s.position):
            if step.service.code not in plan.steps:
                plan.steps[step.service.code] = step
                step_items.append(step.service)
            if step.kind == StepKind.PROCEDURE:
                plan.fly_after[step.service.code] = max(
                    plan.fly_after.get(step.service.code, 0), pathway.fly_after_days
                )
                if pathway.nights:
                    plan.nights[step.service.code] = pathway.nights
        plan.orders += stage_orders(pathway)
    if plan.extra_nights and plan.nights:
        longest = max(plan.nights, key=plan.nights.get)
        plan.nights[longest] += plan.extra_nights
    skip = {p.item_id for p in pathways} | {i.pk for i in step_items}
    if with_nights:
        skip |= {i.pk for i in items if i.kind == Kind.INPATIENT_DAY}
    plan.items = [i for i in items if i.pk not in skip] + step_items
    return plan


def apply(problem: solver.Problem, plan: PathwayPlan, resources: dict[str, Resource]) -> solver.Problem:
    """The solver's problem with the pathways' rules: each step's report turnaround and theatre time, a
    procedure's nights (its bed usages take exactly those nights, it keeps the patient at the hospital
    until the morning after the last), the stage orders and the fit-to-fly days."""
    if not plan.steps:
        return problem
    services = []
    for service in problem.services:
        step = plan.steps.get(service.key)
        if step is None:
            services.append(service)
            continue
        changes = {"turnaround_days": step.turnaround_days}
        if step.theatre_minutes:
            changes["duration_minutes"] = step.theatre_minutes
        if step.kind == StepKind.PROCEDURE:
            nights = plan.nights.get(service.key, 0)
            usages = []
            for usage in service.usages:
                found = resources.get(usage.resource)
                if found is not None and found.kind == ResourceKind.BED:
                    if nights:
                        usages.append(replace(usage, days=nights))
                else:
                    usages.append(usage)
            changes.update(usages=tuple(usages), stay_days=nights + 1)
        services.append(replace(service, **changes))
    own = [solver.Order(o["before"], o["after"], o["min"], o["max"]) for o in plan.orders]
    kept = [o for o in problem.orders if not (o.before in plan.steps and o.after in plan.steps)]
    return replace(problem, services=services, orders=kept + own, fly_after=dict(plan.fly_after))


def _reason(code: str, **params) -> dict:
    return {"code": code, "params": params}


def day_reasons(problem: solver.Problem, plan: solver.Plan, pathways: PathwayPlan, names: dict[str, dict]) -> dict:
    """Why each day of the plan is there: {ISO day: [{code, params}]}, read in any language by
    reasons.day_reason_text. `names` are the services' names in every language, by key."""
    by_key = {s.key: s for s in problem.services}
    starts = plan.starts
    out: dict[str, list] = {}

    def add(day: datetime.date, reason: dict):
        out.setdefault(day.isoformat(), []).append(reason)

    def label(key: str) -> dict:
        step = pathways.steps.get(key)
        return step.label if step is not None and step.label else names.get(key, {"en": key})

    add(plan.arrival, _reason("arrival"))
    busy: set[datetime.date] = set()
    for key, day in starts.items():
        busy.add(day)
        step = pathways.steps.get(key)
        nights = pathways.nights.get(key, 0)
        if step is not None and step.kind == StepKind.PROCEDURE and nights:
            add(day, _reason("procedure", label=label(key), night=1, nights=nights))
            for k in range(1, nights + 1):
                today = day + datetime.timedelta(days=k)
                busy.add(today)
                if k < nights:
                    add(today, _reason("inpatient", label=label(key), night=k + 1, nights=nights))
                else:
                    add(today, _reason("discharge", label=label(key)))
        else:
            add(day, _reason("step", label=label(key), kind=step.kind if step else "visit"))
            for k in range(1, by_key[key].span):
                today = day + datetime.timedelta(days=k)
                busy.add(today)
                add(today, _reason("inpatient_day", label=label(key)))
    fly = plan.fit_to_fly
    day = plan.arrival + datetime.timedelta(days=1)
    while day < plan.departure:
        if day not in busy:
            add(day, _waiting(problem, plan, pathways, day, label))
        day += datetime.timedelta(days=1)
    if fly is not None:
        add(plan.departure, _reason("fit_to_fly", day=fly.isoformat()))
    add(plan.departure, _reason("departure"))
    return out


def _waiting(problem, plan, pathways, day: datetime.date, label) -> dict:
    """A day with no visit: waiting for a report, for the next step, or to be fit to fly."""
    by_key = {s.key: s for s in problem.services}
    index = problem.index(day)
    for key, start in plan.starts.items():
        service = by_key[key]
        if service.turnaround_days:
            ready = solver.report_day(problem, service, problem.index(start))
            if problem.index(start) < index < ready:
                return _reason("report", label=label(key), day=problem.day(ready).isoformat())
    later = sorted((start, key) for key, start in plan.starts.items() if start > day)
    if later:
        start, key = later[0]
        return _reason("next_step", label=label(key), day=start.isoformat())
    if plan.fit_to_fly is not None and day < plan.fit_to_fly:
        return _reason("recovery", day=plan.fit_to_fly.isoformat())
    return _reason("free")
