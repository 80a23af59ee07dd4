"""JSON routes of the planning domain (mounted at /api/planning by laihua.api): thin calls to planning.services."""

import datetime
from typing import Literal

from django.http import HttpResponse, JsonResponse
from django.utils import translation
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status

from laihua.accounts.auth import AUTH
from laihua.cases.services import get_case
from laihua.errors import NotFound
from laihua.planning import pathways, rules, services
from laihua.planning.services import PlaceTaken
from laihua.planning.services.events import itinerary_events

router = Router(tags=["planning"], auth=AUTH)


class OrderIn(Schema):
    before: str = Field(..., description="catalog code of the service that comes first")
    after: str = Field(..., description="catalog code of the service that follows")
    min: int = Field(0, description="at least this many days between their start days")
    max: int | None = Field(None, description="at most this many days (none: no limit)")


class PlanIn(Schema):
    earliest_arrival: datetime.date | None = None
    latest_departure: datetime.date | None = None
    route: str | None = Field(None, description="entry route code, e.g. visa_free_30; its longest stay is the limit")
    stay_limit: int | None = Field(None, description="longest stay in days (overrides the route's)")
    visits_per_day: int | None = None
    rest_weekdays: list[int] | None = Field(None, description="0 = Monday ... 6 = Sunday")
    rest_days: list[datetime.date] | None = None
    orders: list[OrderIn] | None = Field(None, description="clinical orders; omitted: the catalog's defaults")


def _inputs(actor, case, payload: PlanIn) -> dict:
    defaults = services.plan_inputs(actor, case)
    data = {k: v for k, v in defaults.items() if k not in ("items", "routes")}
    given = payload.dict(exclude_unset=True)
    if "orders" in given and given["orders"] is not None:
        given["orders"] = [dict(o) for o in given["orders"]]
    if "route" in given and "stay_limit" not in given:
        data.pop("stay_limit", None)  # the route's own limit
    data.update(given)
    return data


def _desk(request) -> bool:
    """Whether the reader plans trips (coordinator, hospital admin): they see the offer of another day."""
    return getattr(request.auth, "role", None) in services.PLANNERS


@router.post("/cases/{reference}/plan", response={201: dict})
def plan(request, reference: str, payload: PlanIn):
    """Plan the shortest trip for an accepted case (coordinator, hospital admin); returns the itinerary."""
    case = get_case(request.auth, reference, audit=None)
    itinerary = services.plan_case(request.auth, case, _inputs(request.auth, case, payload))
    return Status(201, services.itinerary_json(itinerary, desk=_desk(request)))


class InterpreterOut(Schema):
    name: str = Field(..., description="the interpreter in person; empty for a remote interpretation")
    language: str = Field(..., description="the language interpreted, named in the reader's language")
    mode: Literal["in_person", "video", "phone"]


class ItineraryEventOut(Schema):
    kind: Literal[
        "arrival", "pickup", "appointment", "procedure", "inpatient", "interpreter", "accommodation", "departure"
    ]
    start: str = Field(..., description="ISO 8601: a moment with its offset, or a day")
    end: str = Field(..., description="ISO 8601: a moment with its offset, or a day")
    service: str | None = Field(None, description="the catalog code, where there is one")
    name: str = ""
    interpreter: InterpreterOut | None = Field(
        None, description="name, language and mode (in person, video, phone), where one is arranged"
    )
    reason: str = Field("", description="why it is there, in the reader's language")


class ItineraryOut(Schema):
    """The itinerary (as `GET /itineraries/{id}` gives it) and its events in order."""

    id: int
    case: str
    status: str
    feasible: bool
    method: str
    arrival: datetime.date | None = None
    departure: datetime.date | None = None
    stay_days: int | None = None
    hospital_days: int | None = None
    waiting_days: int | None = None
    greedy_departure: datetime.date | None = None
    greedy_stay_days: int | None = None
    bound_days: int | None = None
    route: str = ""
    stay_limit: int | None = None
    reasons: list[dict] = []
    nearest: dict = {}
    pathways: list[str] = Field([], description="the packages or services planned along their clinical pathway")
    nights: int | None = Field(None, description="inpatient nights, as the quote includes them")
    fit_to_fly: datetime.date | None = Field(None, description="the first day the patient may fly home")
    days: list[dict] = Field([], description="each day and why it is there, in the reader's language")
    items: list[dict] = Field(
        [],
        description="the entries day by day; for the coordinator and hospital admin, a visit without an "
        "interpreter in person also has `interpreter_free_days`: the nearest days of the trip on which an "
        "interpreter of its language is free for it, each {date, start, end}",
    )
    events: list[ItineraryEventOut] = []


@router.get("/cases/{reference}/itinerary", response=ItineraryOut)
def current(request, reference: str):
    """The case's current itinerary (its patient, or its hospital's staff)."""
    case = get_case(request.auth, reference, audit=None)
    itinerary = services.current_itinerary(request.auth, case)
    if itinerary is None:
        raise NotFound(_("No itinerary yet."))
    body = services.itinerary_json(itinerary, desk=_desk(request))
    body["events"] = itinerary_events(itinerary, translation.get_language() or case.language or "en")
    return body


@router.get("/itineraries/{itinerary_id}", response=dict)
def detail(request, itinerary_id: int):
    """One itinerary."""
    return services.itinerary_json(services.get_itinerary(request.auth, itinerary_id), desk=_desk(request))


@router.post("/itineraries/{itinerary_id}/confirm", response=dict)
def confirm(request, itinerary_id: int):
    """Book every service of the itinerary, all or nothing. 409 place_taken carries the re-planned itinerary."""
    itinerary = services.get_itinerary(request.auth, itinerary_id, audit=None)
    try:
        return services.itinerary_json(services.confirm_itinerary(request.auth, itinerary), desk=_desk(request))
    except PlaceTaken as exc:
        body = {
            **exc.as_dict(),
            "itinerary": services.itinerary_json(exc.itinerary, desk=_desk(request)) if exc.itinerary else None,
        }
        return JsonResponse(body, status=409)


@router.get("/itineraries/{itinerary_id}/ics")
def ics(request, itinerary_id: int):
    """The itinerary as an iCalendar file."""
    itinerary = services.get_itinerary(request.auth, itinerary_id, audit=None)
    response = HttpResponse(
        services.itinerary_ics(request.auth, itinerary, reading=request.LANGUAGE_CODE),
        content_type="text/calendar; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="trip-{itinerary.case.reference}.ics"'
    return response


@router.get("/itineraries/{itinerary_id}/pdf")
def pdf(request, itinerary_id: int):
    """The itinerary as a PDF."""
    itinerary = services.get_itinerary(request.auth, itinerary_id, audit=None)
    response = HttpResponse(
        services.itinerary_pdf(request.auth, itinerary, reading=request.LANGUAGE_CODE), content_type="application/pdf"
    )
    response["Content-Disposition"] = f'attachment; filename="trip-{itinerary.case.reference}.pdf"'
    return response


# --- planning defaults of the catalog: rules and clinical orders (planning.rules) -----------------


class RuleIn(Schema):
    morning_only: bool = Field(False, description="fasting tests and others that start before noon")
    duration_minutes: int | None = Field(None, description="1 to 540; none: the catalog's duration, else 30")
    stay_days: int | None = Field(None, description="days at the hospital, 1 to 90; none: the catalog's, else 1")
    repeat: str = Field(
        "",
        description="how a quantity above 1 is planned: separate_days, consecutive_days, one_visit; "
        "empty: by the kind of service",
    )


class CatalogOrderIn(Schema):
    before: str = Field(..., description="catalog code of the service that comes first")
    after: str = Field(..., description="catalog code of the service that follows")
    min_gap_days: int = Field(0, description="it starts at least this many days after the first one starts (0 to 90)")
    max_gap_days: int | None = Field(None, description="at most this many days (0 to 90; none: no limit)")
    note: str = Field("", description="why (at most 200 characters)")


class OrderChangeIn(Schema):
    min_gap_days: int = Field(0, description="0 to 90")
    max_gap_days: int | None = Field(None, description="0 to 90, not below min_gap_days; none: no limit")
    note: str = ""


def _own_hospital(user):
    return user.hospital if getattr(user, "hospital_id", None) else None


@router.get("/rules", response=list[dict], summary="The planning rules set on your hospital's services")
def list_rules(request):
    """Hospital admin, coordinators and clinicians of the hospital."""
    return [rules.rule_json(rule.item) for rule in rules.rules_of(request.auth, _own_hospital(request.auth))]


@router.get("/rules/{item_code}", response=dict, summary="A service's planning rule and what the planner takes")
def get_rule(request, item_code: str):
    """`effective` is what the planner takes: the rule, else the catalog's values, else the defaults."""
    return rules.rule_json(rules.get_service(request.auth, code=item_code))


@router.put("/rules/{item_code}", response=dict, summary="Set a service's planning rule (hospital admin, coordinator)")
def put_rule(request, item_code: str, payload: RuleIn):
    """Create or replace the rule: an omitted field is emptied (the catalog's value or the default applies)."""
    item = rules.get_service(request.auth, code=item_code)
    rules.set_rule(request.auth, item, payload.dict())
    return rules.rule_json(item)


@router.get("/orders", response=list[dict], summary="The clinical orders between your hospital's services")
def list_orders(request):
    """Hospital admin, coordinators and clinicians of the hospital."""
    return [rules.order_json(order) for order in rules.orders_of(request.auth, _own_hospital(request.auth))]


@router.post(
    "/orders",
    response={200: dict, 201: dict},
    summary="Add a clinical order between two services (201), or change the one they already have (200)",
)
def post_order(request, payload: CatalogOrderIn):
    """Both services of your hospital's catalog; a service after itself, max below min and a circle are 422."""
    order, created = rules.add_order(request.auth, _own_hospital(request.auth), payload.dict())
    return Status(201 if created else 200, rules.order_json(order))


@router.put("/orders/{order_id}", response=dict, summary="Change a clinical order's gaps and note")
def put_order(request, order_id: int, payload: OrderChangeIn):
    """Replace the gaps and the note (to order other services, remove this order and add another)."""
    order = rules.get_order(request.auth, order_id)
    return rules.order_json(rules.change_order(request.auth, order, payload.dict()))


@router.delete("/orders/{order_id}", response={204: None}, summary="Remove a clinical order")
def delete_order(request, order_id: int):
    rules.remove_order(request.auth, rules.get_order(request.auth, order_id))
    return Status(204, None)


# --- clinical pathways of the hospital's packages and services (planning.pathways) -----------------


class StepIn(Schema):
    kind: str = Field(..., description="workup, test, procedure, postop_check, results_review")
    service: str = Field(..., description="catalog code of a single service of your hospital")
    label: dict[str, str] = Field(..., description="{en, zh-hans}: what the step is, in both languages")
    with_previous: bool = Field(False, description="in the same stage as the step before (the same day allowed)")
    min_gap_days: int = Field(0, description="at least this many days after the steps of the stage before (0 to 90)")
    max_gap_days: int | None = Field(None, description="at most this many days (none: no limit)")
    turnaround_days: int = Field(0, description="working days until its report is ready (0 to 30)")
    theatre_minutes: int | None = Field(None, description="the procedure's theatre time (1 to 540)")


class PathwayIn(Schema):
    procedure_kind: str = Field(..., description="the kind of procedure, for the fit-to-fly default")
    fit_to_fly_days: int | None = Field(
        None, description="fewest days after the procedure before a flight; none: the kind's default"
    )
    nights: int = Field(0, description="inpatient nights as the quote includes them (0 to 90)")
    note: dict[str, str] = Field(default_factory=dict, description="{en, zh-hans}")
    source: str = Field("", description="where the figures come from")
    steps: list[StepIn]


@router.get("/pathways", response=list[dict], summary="Your hospital's clinical pathways")
def list_pathways(request):
    """Hospital admin, coordinators, clinicians and finance of the hospital."""
    return [pathways.pathway_json(p) for p in pathways.pathways_of(request.auth, _own_hospital(request.auth))]


@router.get("/pathways/kinds", response=list[dict], summary="Kinds of procedure and their fit-to-fly days")
def pathway_kinds(request):
    pathways.pathways_of(request.auth, _own_hospital(request.auth))  # the readers' check
    return pathways.kind_defaults()


@router.get("/pathways/{item_code}", response=dict, summary="The clinical pathway of a package or service")
def get_pathway(request, item_code: str):
    return pathways.pathway_json(pathways.get_pathway(request.auth, item_code))


@router.put(
    "/pathways/{item_code}",
    response={200: dict, 201: dict},
    summary="Create (201) or replace (200) the pathway of a package or service (hospital staff who edit it)",
)
def put_pathway(request, item_code: str, payload: PathwayIn):
    """Every value is checked; a 422 names its field (`steps[2].service`). The steps are replaced whole."""
    data = payload.dict()
    data["item"] = item_code
    found, created = pathways.save_pathway(request.auth, _own_hospital(request.auth), data)
    return Status(201 if created else 200, pathways.pathway_json(found))


@router.delete("/pathways/{item_code}", response={204: None}, summary="Remove a clinical pathway")
def delete_pathway(request, item_code: str):
    pathways.delete_pathway(request.auth, pathways.get_pathway(request.auth, item_code, roles=pathways.PATHWAY_EDITORS))
    return Status(204, None)


# --- interpreters ---------------------------------------------------------------------------------


class RemoteIn(Schema):
    mode: str = Field(..., description="video or phone (none takes the choice back)")


@router.post(
    "/entries/{item_id}/interpreter",
    response=dict,
    summary="Interpret a visit remotely when no interpreter is free (coordinator, hospital admin)",
)
def interpreter_remote(request, item_id: int, payload: RemoteIn):
    row = services.set_remote(request.auth, item_id, payload.mode)
    return {"id": row.pk, "day": row.day, "language": row.interpreter_language, "mode": row.interpreter_mode}


@router.get(
    "/interpreters/shortages",
    response=list[dict],
    summary="Visits that needed an interpreter and got none in person, by language and month",
)
def interpreter_shortages(request, start: datetime.date | None = None, end: datetime.date | None = None):
    return services.shortages(request.auth, start, end)


@router.get("/interpreters/shortages.csv", summary="The interpreter shortages as CSV")
def interpreter_shortages_csv(request, start: datetime.date | None = None, end: datetime.date | None = None):
    response = HttpResponse(services.shortages_csv(request.auth, start, end), content_type="text/csv")
    response["Content-Disposition"] = 'attachment; filename="interpreter-shortages.csv"'
    return response


@router.get("/interpreters/my-day", response=dict, summary="An interpreter's own visits on a day (default today)")
def interpreter_day(request, day: datetime.date | None = None):
    return services.interpreter_day(request.auth, day)
