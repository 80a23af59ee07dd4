"""Planning a case's trip: the inputs checked, the solver called, and the plan kept as a draft itinerary."""

import datetime
from collections.abc import Mapping

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from laihua.audit.services import record_event
from laihua.cases.models import Case
from laihua.cases.services import add_event, get_case, require_case_staff, timeline_note
from laihua.errors import Conflict, InvalidInput
from laihua.planning import solver
from laihua.planning.models import ItemKind, Itinerary, ItineraryItem, ItineraryStatus, StepKind
from laihua.planning.services.inputs import (
    Planned,
    accepted_quantities,
    clean_inputs,
    plan_inputs,
    plannable,
    planned_services,
)
from laihua.planning.services.interpreters import assignment_fields, gather_pool, rebalance
from laihua.planning.services.pathway_plan import PathwayPlan, day_reasons
from laihua.planning.services.problem import build_problem
from laihua.planning.services.reasons import _stored_params, reason_text
from laihua.planning.services.scope import PLANNABLE_STATES, PLANNERS
from laihua.planning.services.stay import check_stay_limit


class NothingToPlan(Conflict):
    code = "nothing_to_plan"
    default_message = gettext_lazy("The case has no accepted quote with catalog services to plan.")


def _require_plannable(actor, case: Case) -> PathwayPlan:
    require_case_staff(actor, case, PLANNERS)
    if case.state not in PLANNABLE_STATES:
        raise Conflict(_("Only an accepted or scheduled case can be planned."), field="case")
    pathways = plannable(case)
    if not pathways.items:
        raise NothingToPlan()
    return pathways


def _plan_json(plan: solver.Plan | None) -> dict:
    if plan is None:
        return {}
    return {
        "arrival": plan.arrival.isoformat(),
        "departure": plan.departure.isoformat(),
        "stay_days": plan.stay,
        "starts": {k: v.isoformat() for k, v in plan.starts.items()},
    }


def _store_items(
    itinerary: Itinerary, plan: solver.Plan, planned: list[Planned], problem: solver.Problem, pathways: PathwayPlan
) -> None:
    by_code = {key: p.item for p in planned for key in p.keys}
    steps = {code: step.kind for code, step in pathways.steps.items()}
    rows = [ItineraryItem(itinerary=itinerary, day=plan.arrival, kind=ItemKind.ARRIVAL)]
    for visit in plan.visits:
        rows.append(
            ItineraryItem(
                itinerary=itinerary,
                day=visit.day,
                kind=ItemKind.VISIT,
                item=by_code[visit.service],
                starts_at=visit.start,
                ends_at=visit.end,
                resource_id=int(visit.resource) if visit.resource else None,
                warning=visit.warning,
                step=steps.get(visit.service, ""),
                # A pathway's procedure books exactly its nights (none for a day case), never the usage's days.
                nights=pathways.nights.get(visit.service, 0)
                if steps.get(visit.service) == StepKind.PROCEDURE
                else None,
                **assignment_fields(visit),  # interpreters: who interprets the visit, or none free
            )
        )
    spans = {s.key: s.span for s in problem.services}
    for code, start in plan.starts.items():
        for k in range(1, spans[code]):
            rows.append(
                ItineraryItem(
                    itinerary=itinerary, day=start + datetime.timedelta(days=k), kind=ItemKind.STAY, item=by_code[code]
                )
            )
    rows.append(ItineraryItem(itinerary=itinerary, day=plan.departure, kind=ItemKind.DEPARTURE))
    ItineraryItem.objects.bulk_create(rows)


def plan_case(actor, case: Case, data: Mapping | None = None, *, note: str = "") -> Itinerary:
    """Plan the shortest trip for the case and keep it as a draft itinerary (earlier drafts are replaced)."""
    pathways = _require_plannable(actor, case)
    items = pathways.items
    if data is None:
        defaults = plan_inputs(actor, case)
        data = {k: v for k, v in defaults.items() if k not in ("items", "routes")}
    inputs = clean_inputs(case, data, items, pathways.covered)
    steps = {step.service_id for step in pathways.steps.values()}  # each step once
    quantities = {pk: n for pk, n in accepted_quantities(case).items() if pk not in steps}
    planned = planned_services(items, quantities)
    problem = build_problem(case, planned, inputs, pathways=pathways)
    # Interpreters: the patient's language and the hospital's pool, planned with the visits.
    last = problem.day(problem.horizon + solver.RELAXED_EXTRA)
    problem.language, problem.interpreters = gather_pool(case, problem.earliest_arrival, last)
    try:
        outcome = solver.plan_trip(problem)
    except ValueError:
        raise InvalidInput(_("The clinical orders go round in a circle."), field="orders") from None
    plan = outcome.plan
    if plan is not None:  # a plan that leaves after the patient's permitted stay is refused
        check_stay_limit(case, plan.arrival, plan.departure, route=inputs["route"])
    with transaction.atomic():
        Case.objects.select_for_update().filter(pk=case.pk).first()
        Itinerary.objects.filter(case=case, status=ItineraryStatus.DRAFT).update(status=ItineraryStatus.REVOKED)
        itinerary = Itinerary.objects.create(
            case=case,
            feasible=plan is not None,
            method=plan.method if plan else "",
            earliest_arrival=inputs["earliest_arrival"],
            latest_departure=inputs["latest_departure"],
            route=inputs["route"],
            route_name=inputs["route_name"],
            stay_limit=inputs["stay_limit"],
            visits_per_day=inputs["visits_per_day"],
            rest_weekdays=inputs["rest_weekdays"],
            rest_days=inputs["rest_days"],
            orders=inputs["orders"],
            arrival=plan.arrival if plan else None,
            departure=plan.departure if plan else None,
            stay_days=plan.stay if plan else None,
            hospital_days=plan.hospital_days if plan else None,
            waiting_days=plan.waiting_days if plan else None,
            greedy_departure=outcome.greedy.departure if outcome.greedy else None,
            greedy_stay_days=outcome.greedy.stay if outcome.greedy else None,
            bound_days=outcome.bound,
            reasons=[{"code": r.code, "params": _stored_params(r, case, inputs)} for r in outcome.reasons],
            nearest=_plan_json(outcome.nearest),
            pathways=[p.item.code for p in pathways.pathways],
            nights=sum(pathways.nights.values()) if pathways.nights else None,
            fit_to_fly=plan.fit_to_fly if plan else None,
            day_reasons=day_reasons(problem, plan, pathways, {k: p.item.name for p in planned for k in p.keys})
            if plan
            else {},
            note=note[:300],
            created_by=actor,
        )
        if plan is not None:
            _store_items(itinerary, plan, planned, problem, pathways)
            if problem.language:  # who interprets the days' visits, re-solved for all the hospital's patients
                rebalance(actor, case.hospital_id, {visit.day for visit in plan.visits})
        record_event(
            actor,
            "planning.plan",
            case,
            hospital=case.hospital,
            detail={"itinerary": itinerary.pk, "feasible": itinerary.feasible, "status": outcome.status},
        )
        add_event(
            case,
            actor,
            "trip_planned",
            staff_only=True,
            note=(
                timeline_note(
                    gettext_noop("Trip planned: %(arrival)s to %(departure)s."),
                    arrival=plan.arrival.isoformat(),
                    departure=plan.departure.isoformat(),
                )
                if plan
                else _("No trip fits: %(why)s.") % {"why": "; ".join(reason_text(r) for r in itinerary.reasons)}
            ),
        )
    return itinerary


def plan_by_reference(actor, reference: str, data: Mapping | None = None) -> Itinerary:
    """Plan the case with this reference (the API's and the command line's entry)."""
    return plan_case(actor, get_case(actor, reference, audit=None), data)
