"""Trip planning for a case: gather the inputs, call the solver, keep the itinerary, book it all or nothing.

The inputs come from the database: the case's accepted services (the accepted quote's catalog lines),
their clinical orders (the catalog's defaults, or the coordinator's adjustments kept on the last
itinerary), each resource's remaining international places by day (the day cap minus what is booked,
never above what is left of the month cap; closed days have none) and opening hours, the entry route
the patient's nationality allows (travel), the patient's window and preferences. The case's own
bookings count as free: a re-plan may move them.

Confirming books every service through capacity.book_service inside one transaction: when any place
was taken meanwhile, nothing is booked, the planner plans again from the same inputs and the
coordinator is told (PlaceTaken, carrying the new itinerary).
"""

import datetime
from collections.abc import Mapping
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from laihua.accounts.models import Role
from laihua.audit.services import record_event
from laihua.capacity.models import Booking, BookingStatus, IntlUsage, Resource, ServiceUsage
from laihua.capacity.services import (
    Capacities,
    QuotaFull,
    book_service,
    cancel_booking,
    last_bookable_day,
    month_start,
    offer_places,
)
from laihua.cases.models import Case
from laihua.cases.notices import notify_patient
from laihua.cases.services import add_event, get_case, move, require_case_party, require_case_staff, timeline_note
from laihua.cases.states import State
from laihua.catalog.models import CatalogItem
from laihua.errors import Conflict, InvalidInput, NotFound
from laihua.kit import clock
from laihua.kit.i18n import pick
from laihua.planning import solver
from laihua.planning.models import (
    ItemKind,
    Itinerary,
    ItineraryItem,
    ItineraryStatus,
    Repeat,
    ServiceOrder,
    ServiceRule,
)
from laihua.quotes.models import Quote
from laihua.quotes.models import Status as QuoteStatus

PLANNERS = (Role.COORDINATOR, Role.HOSPITAL_ADMIN)
PLANNABLE_STATES = (State.ACCEPTED, State.SCHEDULED)
DEFAULT_VISITS_PER_DAY = 2
MAX_WINDOW_DAYS = 120


class PlaceTaken(Conflict):
    code = "place_taken"
    default_message = gettext_lazy("A place was taken meanwhile: nothing was booked and the trip was planned again.")

    def __init__(self, message=None, *, itinerary=None, **kwargs):
        super().__init__(message, **kwargs)
        self.itinerary = itinerary


class NothingToPlan(Conflict):
    code = "nothing_to_plan"
    default_message = gettext_lazy("The case has no accepted quote with catalog services to plan.")


# --- scoping --------------------------------------------------------------------------------------


def visible_itineraries(actor) -> QuerySet[Itinerary]:
    """The one path to itineraries: staff see their hospital's, a patient the plans shown on their cases."""
    rows = Itinerary.objects.select_related("case", "case__hospital", "case__patient")
    if actor is None or not actor.is_authenticated:
        return rows.none()
    if actor.role == Role.PATIENT:
        # A re-plan waiting for the coordinator's confirmation stays with the desk while a trip is booked.
        booked = Itinerary.objects.filter(case=OuterRef("case"), status=ItineraryStatus.ACTIVE)
        return (
            rows.filter(case__patient__user=actor, feasible=True)
            .exclude(status=ItineraryStatus.REVOKED)
            .exclude(Q(status=ItineraryStatus.DRAFT) & Exists(booked))
        )
    if actor.role in PLANNERS + (Role.CLINICIAN, Role.FINANCE) and actor.hospital_id:
        return rows.filter(case__hospital_id=actor.hospital_id)
    return rows.none()


def get_itinerary(actor, pk: int, *, audit: str | None = "planning.itinerary.view") -> Itinerary:
    """An itinerary the actor may see (NotFound for anyone else, never a hint it exists)."""
    itinerary = visible_itineraries(actor).filter(pk=pk).first()
    if itinerary is None:
        raise NotFound(_("No such itinerary."))
    if audit:
        record_event(actor, audit, itinerary.case, hospital=itinerary.case.hospital, detail={"itinerary": pk})
    return itinerary


def booked_itinerary(actor, case: Case) -> Itinerary | None:
    """The case's confirmed (booked) trip, if any; the read is audited."""
    require_case_party(actor, case)
    itinerary = visible_itineraries(actor).filter(case=case, status=ItineraryStatus.ACTIVE).first()
    if itinerary is not None:
        record_event(actor, "planning.itinerary.view", case, hospital=case.hospital, detail={"itinerary": itinerary.pk})
    return itinerary


def current_itinerary(actor, case: Case, *, audit: bool = True) -> Itinerary | None:
    """The plan to show for the case: the latest one not replaced (for a patient, only one that fits, and
    the confirmed trip while a new plan waits for the coordinator's confirmation)."""
    require_case_party(actor, case)
    shown = visible_itineraries(actor).filter(case=case).exclude(status=ItineraryStatus.REVOKED)
    confirmed = shown.filter(status=ItineraryStatus.ACTIVE).first() if actor.role == Role.PATIENT else None
    itinerary = confirmed or shown.first()
    if itinerary is not None and audit:
        record_event(actor, "planning.itinerary.view", case, hospital=case.hospital, detail={"itinerary": itinerary.pk})
    return itinerary


# --- inputs ---------------------------------------------------------------------------------------


def accepted_services(case: Case) -> list[CatalogItem]:
    """The catalog services of the case's accepted quote, in the quote's order, each once."""
    quote = Quote.objects.filter(case=case, status=QuoteStatus.ACCEPTED).order_by("-revision").first()
    if quote is None:
        return []
    items, seen = [], set()
    for line in quote.lines.select_related("item").order_by("position", "pk"):
        if line.item_id and line.item_id not in seen and line.item.hospital_id == case.hospital_id:
            seen.add(line.item_id)
            items.append(line.item)
    return items


def accepted_quantities(case: Case) -> dict[int, int]:
    """How many of each catalog service the case's accepted quote asks for (its lines' quantities)."""
    quote = Quote.objects.filter(case=case, status=QuoteStatus.ACCEPTED).order_by("-revision").first()
    totals: dict[int, int] = {}
    if quote is not None:
        for item_id, quantity in quote.lines.filter(item__isnull=False).values_list("item_id", "quantity"):
            totals[item_id] = totals.get(item_id, 0) + quantity
    return totals


DEFAULT_DURATION_MINUTES = 30  # a visit's length when neither its rule nor the catalog gives one
MAX_DAYS_AHEAD = 730  # the earliest arrival; capacity is not known further ahead

REPEAT_BY_KIND = {"inpatient_day": Repeat.CONSECUTIVE, "laboratory": Repeat.TOGETHER, "package": Repeat.TOGETHER}
MAX_REPEATS = 30  # times one service is planned; more is a course of treatment for another plan


@dataclass
class Planned:
    """A catalog service as the planner sees it: its times, each with its solver key (the code, then
    "code (2)", "code (3)", ...), and how the times follow each other."""

    item: CatalogItem
    keys: list[str]
    repeat: str
    duration: int
    morning_only: bool
    stay: int


def planned_services(items: list[CatalogItem], quantities: Mapping[int, int]) -> list[Planned]:
    """Each service once, or as many times as the quote asks when its rule plans the times apart."""
    rules = {rule.item_id: rule for rule in ServiceRule.objects.filter(item__in=items)}
    taken = {item.code for item in items}
    out = []
    for item in items:
        rule = rules.get(item.pk)
        repeat = defaults_of(item, rule)["repeat"]
        count = 1 if repeat == Repeat.TOGETHER else max(1, quantities.get(item.pk, 1))
        if count > MAX_REPEATS:
            raise InvalidInput(
                _("%(service)s is asked for %(n)s times; a trip plans each service at most %(max)s times.")
                % {"service": item.code, "n": count, "max": MAX_REPEATS},
                field="items",
            )
        keys = [item.code]
        for n in range(2, count + 1):
            key = f"{item.code} ({n})"
            while key in taken:  # another service's code: keep the keys apart
                key += "'"
            taken.add(key)
            keys.append(key)
        taken_as = defaults_of(item, rule)
        out.append(
            Planned(item, keys, repeat, taken_as["duration_minutes"], taken_as["morning_only"], taken_as["stay_days"])
        )
    return out


def defaults_of(item: CatalogItem, rule: ServiceRule | None) -> dict:
    """What the planner takes for the service: its rule, else the catalog's values, else the defaults."""
    return {
        "morning_only": bool(rule and rule.morning_only),
        "duration_minutes": (rule and rule.duration_minutes) or item.duration_minutes or DEFAULT_DURATION_MINUTES,
        "stay_days": (rule and rule.stay_days) or item.stay_days or 1,
        "repeat": (rule and rule.repeat) or REPEAT_BY_KIND.get(item.kind, Repeat.SEPARATE),
    }


def default_orders(items: list[CatalogItem]) -> list[dict]:
    """The catalog's clinical orders between these services."""
    ids = [item.pk for item in items]
    return [
        {"before": row.before.code, "after": row.after.code, "min": row.min_gap_days, "max": row.max_gap_days}
        for row in ServiceOrder.objects.filter(before_id__in=ids, after_id__in=ids).select_related("before", "after")
    ]


def routes_for(case: Case) -> list[dict]:
    """The entry routes open to the patient for this hospital, best first, with their longest stay."""
    from laihua.travel.services import entry_guidance

    try:
        guidance = entry_guidance(case)
    except Exception:  # no nationality on file: no route is known
        return []
    return [
        {
            "code": route.code,
            "name": pick(route.scheme.name),
            "names": route.scheme.name,  # every language's, for texts shown later in another language
            "max_stay_days": route.max_stay_days,
            "onward_ticket": route.scheme.onward_ticket_required,
        }
        for route in guidance.routes
        if route.place_fits is not False
    ]


def _default_route(routes: list[dict]) -> dict | None:
    """The first route a patient going home afterwards can use (a transit route needs an onward ticket)."""
    usable = [r for r in routes if not r["onward_ticket"]]
    return next((r for r in usable if r["max_stay_days"]), usable[0] if usable else None)


def plan_inputs(actor, case: Case) -> dict:
    """The inputs to prefill: window, entry route and its limit, visits a day, rest days, services, orders."""
    require_case_staff(actor, case, PLANNERS)
    items = accepted_services(case)
    last = Itinerary.objects.filter(case=case).first()
    today = clock.today()
    earliest = max(case.desired_arrival or today, today + datetime.timedelta(days=1))
    latest = case.desired_departure if case.desired_departure and case.desired_departure > earliest else None
    routes = routes_for(case)
    route = _default_route(routes)
    inputs = {
        "earliest_arrival": earliest,
        "latest_departure": latest,
        "route": route["code"] if route else "",
        "stay_limit": route["max_stay_days"] if route else None,
        "visits_per_day": DEFAULT_VISITS_PER_DAY,
        "rest_weekdays": [],
        "rest_days": [],
        "orders": default_orders(items),
    }
    if last is not None:  # the coordinator's last choices are kept
        inputs.update(
            earliest_arrival=max(last.earliest_arrival, today + datetime.timedelta(days=1)),
            latest_departure=last.latest_departure,
            route=last.route,
            stay_limit=last.stay_limit,
            visits_per_day=last.visits_per_day,
            rest_weekdays=list(last.rest_weekdays),
            rest_days=list(last.rest_days),
            orders=list(last.orders),
        )
    return {**inputs, "items": items, "routes": routes}


def _date(value, field: str, *, required: bool = False) -> datetime.date | None:
    if isinstance(value, datetime.date):
        return value
    text = str(value or "").strip()
    if not text:
        if required:
            raise InvalidInput(_("Give a date as YYYY-MM-DD."), field=field)
        return None
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(_("Give a date as YYYY-MM-DD."), field=field) from None


def _whole(value, field: str, *, minimum: int, maximum: int, optional: bool = False) -> int | None:
    if value in (None, "") and optional:
        return None
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        number = None
    if number is None or number < minimum or number > maximum:
        raise InvalidInput(
            _("Give a whole number from %(min)s to %(max)s.") % {"min": minimum, "max": maximum}, field=field
        )
    return number


def _clean_orders(raw, codes: set[str]) -> list[dict]:
    orders = []
    for n, row in enumerate(raw or []):
        if not isinstance(row, Mapping):
            raise InvalidInput(_("Each clinical order needs before, after, min and max."), field="orders")
        before, after = str(row.get("before", "")).strip(), str(row.get("after", "")).strip()
        if before not in codes or after not in codes or before == after:
            raise InvalidInput(
                _("Clinical order %(n)s names a service that is not in the case.") % {"n": n + 1}, field="orders"
            )
        low = _whole(row.get("min", 0) or 0, "orders", minimum=0, maximum=90)
        high = _whole(row.get("max"), "orders", minimum=0, maximum=90, optional=True)
        if high is not None and high < low:
            raise InvalidInput(
                _("Clinical order %(n)s: the most days is below the fewest.") % {"n": n + 1}, field="orders"
            )
        orders.append({"before": before, "after": after, "min": low, "max": high})
    return orders


def clean_inputs(case: Case, data: Mapping, items: list[CatalogItem]) -> dict:
    """Check the coordinator's inputs (each error names its field); missing ones take the defaults."""
    today = clock.today()
    earliest = _date(data.get("earliest_arrival"), "earliest_arrival", required=True)
    if earliest <= today:
        raise InvalidInput(_("The earliest arrival must be after today."), field="earliest_arrival")
    if (earliest - today).days > MAX_DAYS_AHEAD:
        raise InvalidInput(
            _("Plan a trip within %(days)s days from today.") % {"days": MAX_DAYS_AHEAD}, field="earliest_arrival"
        )
    latest = _date(data.get("latest_departure"), "latest_departure")
    if latest is not None and latest <= earliest:
        raise InvalidInput(_("The latest departure must come after the earliest arrival."), field="latest_departure")
    if latest is not None and (latest - earliest).days > MAX_WINDOW_DAYS:
        raise InvalidInput(
            _("Plan within %(days)s days of the arrival.") % {"days": MAX_WINDOW_DAYS}, field="latest_departure"
        )
    routes = {r["code"]: r for r in routes_for(case)}
    route = str(data.get("route") or "").strip()
    if route and route not in routes:
        raise InvalidInput(_("This entry route is not open to the patient."), field="route")
    if "stay_limit" in data:
        limit = _whole(data.get("stay_limit"), "stay_limit", minimum=1, maximum=365, optional=True)
    else:
        limit = routes[route]["max_stay_days"] if route else None
    visits = _whole(data.get("visits_per_day", DEFAULT_VISITS_PER_DAY), "visits_per_day", minimum=1, maximum=8)
    weekdays = data.get("rest_weekdays") or []
    if isinstance(weekdays, str):
        weekdays = [w for w in weekdays.replace(",", " ").split() if w]
    weekdays = sorted({_whole(w, "rest_weekdays", minimum=0, maximum=6) for w in weekdays})
    rest = data.get("rest_days") or []
    if isinstance(rest, str):
        rest = [w for w in rest.replace(",", " ").split() if w]
    rest = sorted({_date(d, "rest_days").isoformat() for d in rest})
    codes = {item.code for item in items}
    orders = data.get("orders")
    orders = default_orders(items) if orders is None else _clean_orders(orders, codes)
    return {
        "earliest_arrival": earliest,
        "latest_departure": latest,
        "route": route,
        "route_name": routes[route]["name"] if route else "",
        # The limit's name in messages: the route's when it is the route's own limit.
        "limit_name": (
            routes[route]["name"]
            if route and limit == routes[route]["max_stay_days"]
            else (_("%(days)s-day") % {"days": limit} if limit else "")
        ),
        "stay_limit": limit,
        "visits_per_day": visits,
        "rest_weekdays": weekdays,
        "rest_days": rest,
        "orders": orders,
    }


def _trip_requests(case: Case) -> QuerySet:
    """The booking requests of the case's confirmed trip."""
    return ItineraryItem.objects.filter(
        itinerary__case=case, itinerary__status=ItineraryStatus.ACTIVE, booking_request__isnull=False
    ).values("booking_request_id")


def build_problem(case: Case, planned: list[Planned], inputs: dict, *, time_limit: float = 1.0) -> solver.Problem:
    """The solver's problem: services with their usages, orders and each resource's remaining places by day.

    A service planned several times becomes that many solver services in a chain: each time starts
    when the last one's days are over, the next day for consecutive inpatient days. A clinical order
    that names the service holds from its last time (when it comes first) or to its first time."""
    items = [p.item for p in planned]
    earliest = inputs["earliest_arrival"]
    last = inputs["latest_departure"] or earliest + datetime.timedelta(days=MAX_WINDOW_DAYS)
    # Look further than the window so that the explanation can name when a quota frees up; never past
    # the last day the capacity booking takes, so that no plan is made that could not be confirmed.
    end = min(last + datetime.timedelta(days=solver.RELAXED_EXTRA), last_bookable_day())
    usages = list(ServiceUsage.objects.filter(item__in=items).select_related("resource"))
    resources = {u.resource_id: u.resource for u in usages if u.resource.active}
    services, chains = [], []
    for p in planned:
        mine = tuple(
            solver.Usage(str(u.resource_id), u.units, u.day_offset, u.days)
            for u in usages
            if u.item_id == p.item.pk and u.resource_id in resources
        )
        name = pick(p.item.name)
        for n, key in enumerate(p.keys, start=1):
            label = name if len(p.keys) == 1 else f"{name} ({n}/{len(p.keys)})"
            services.append(solver.Service(key, label, mine, p.duration, p.morning_only, p.stay))
        span = services[-1].span
        close = span if p.repeat == Repeat.CONSECUTIVE else None
        chains += [solver.Order(a, b, span, close) for a, b in zip(p.keys, p.keys[1:], strict=False)]
    first_time = {p.item.code: p.keys[0] for p in planned}
    last_time = {p.item.code: p.keys[-1] for p in planned}
    caps = Capacities(list(resources.values()), earliest, end) if resources else None
    used = {}
    for rid, period, day, units in IntlUsage.objects.filter(
        resource_id__in=resources, day__range=(month_start(earliest), end)
    ).values_list("resource_id", "period", "day", "booked_units"):
        used[(rid, period, day)] = units
    own: dict = {}  # the confirmed trip's bookings: confirming a re-plan gives them back first
    for rid, day, units in Booking.objects.filter(
        case=case,
        status=BookingStatus.BOOKED,
        request_id__in=_trip_requests(case),
        resource_id__in=resources,
        day__range=(month_start(earliest), end),
    ).values_list("resource_id", "day", "units"):
        own[(rid, IntlUsage.DAY, day)] = own.get((rid, IntlUsage.DAY, day), 0) + units
        key = (rid, IntlUsage.MONTH, month_start(day))
        own[key] = own.get(key, 0) + units
    out = {}
    for rid, resource in resources.items():
        remaining = {}
        day = earliest
        while day <= end:
            first = month_start(day)
            day_left = caps.day_cap(rid, day) - used.get((rid, IntlUsage.DAY, day), 0) + own.get((rid, "day", day), 0)
            month_left = (
                caps.month_cap(rid, first)
                - used.get((rid, IntlUsage.MONTH, first), 0)
                + own.get((rid, IntlUsage.MONTH, first), 0)
            )
            remaining[day] = max(0, min(day_left, month_left))
            day += datetime.timedelta(days=1)
        out[str(rid)] = solver.Resource(str(rid), pick(resource.name), resource.opening_hours, remaining)
    return solver.Problem(
        services=services,
        orders=[
            solver.Order(last_time[o["before"]], first_time[o["after"]], o["min"], o["max"]) for o in inputs["orders"]
        ]
        + chains,
        resources=out,
        earliest_arrival=earliest,
        latest_departure=inputs["latest_departure"],
        stay_limit=inputs["stay_limit"],
        route=inputs.get("limit_name") or inputs.get("route_name") or "",
        visits_per_day=inputs["visits_per_day"],
        rest_days=frozenset(datetime.date.fromisoformat(d) for d in inputs["rest_days"]),
        rest_weekdays=frozenset(inputs["rest_weekdays"]),
        time_limit=time_limit,
    )


# --- reasons in words -----------------------------------------------------------------------------


def _day_words(iso: str) -> str:
    """The day as a sentence says it in the active language ("12 December 2026", "2026年12月12日")."""
    from django.utils.formats import date_format
    from django.utils.translation import pgettext

    # Translators: a date format (Django's date filter letters) for a day within a sentence.
    return date_format(datetime.date.fromisoformat(iso), pgettext("day in a sentence", "j F Y"))


def _stored_params(reason: solver.Reason, case: Case, inputs: dict) -> dict:
    """The reason's parameters with the names it needs in every language (the resource's, the entry
    route's), so that it reads right in whatever language it is shown later."""
    params = dict(reason.params)
    if reason.code == "quota" and str(params.get("key", "")).isdigit():
        resource = Resource.objects.filter(pk=int(params["key"])).only("name").first()
        if resource is not None:
            params["resource_names"] = resource.name
    if reason.code == "stay_limit" and inputs.get("route"):
        route = next((r for r in routes_for(case) if r["code"] == inputs["route"]), None)
        if route is not None and route["max_stay_days"] == params.get("limit"):
            params["route_names"] = route["names"]
    return params


def reason_text(reason: Mapping) -> str:
    """One reason in plain words, in the active language."""
    code, p = reason.get("code"), reason.get("params") or {}
    if code == "quota":
        resource = pick(p["resource_names"]) if p.get("resource_names") else p["resource"]
        return _("%(resource)s quota full until %(day)s") % {"resource": resource, "day": _day_words(p["until"])}
    if code == "stay_limit":
        if p.get("route_names"):
            route = pick(p["route_names"])
        elif p.get("limit"):
            route = _("%(days)s-day") % {"days": p["limit"]}
        else:
            route = p["route"]
        return _("the stay would exceed the %(route)s limit by %(days)s day(s)") % {
            "route": route,
            "days": p["excess"],
        }
    if code == "latest_departure":
        return _("the earliest possible departure is %(days)s day(s) after the latest departure of %(day)s") % {
            "days": p["excess"],
            "day": _day_words(p["latest"]),
        }
    if code == "visits_per_day":
        return _("at most %(n)s hospital visits a day leaves no plan in these dates") % {"n": p["limit"]}
    if code == "rest_days":
        return _("the rest days leave no plan in these dates")
    if code == "quota_many":
        return _("several resources are fully booked in these dates")
    return _("no plan fits even with a later departure and a longer stay")


# --- planning -------------------------------------------------------------------------------------


def _require_plannable(actor, case: Case) -> list[CatalogItem]:
    require_case_staff(actor, case, PLANNERS)
    if case.state not in PLANNABLE_STATES:
        raise Conflict(_("Only an accepted or scheduled case can be planned."), field="case")
    items = accepted_services(case)
    if not items:
        raise NothingToPlan()
    return items


def _plan_json(plan: solver.Plan | None) -> dict:
    if plan is None:
        return {}
    return {
        "arrival": plan.arrival.isoformat(),
        "departure": plan.departure.isoformat(),
        "stay_days": plan.stay,
        "starts": {k: v.isoformat() for k, v in plan.starts.items()},
    }


def _store_items(itinerary: Itinerary, plan: solver.Plan, planned: list[Planned], problem: solver.Problem) -> None:
    by_code = {key: p.item for p in planned for key in p.keys}
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
    items = _require_plannable(actor, case)
    if data is None:
        defaults = plan_inputs(actor, case)
        data = {k: v for k, v in defaults.items() if k not in ("items", "routes")}
    inputs = clean_inputs(case, data, items)
    planned = planned_services(items, accepted_quantities(case))
    problem = build_problem(case, planned, inputs)
    try:
        outcome = solver.plan_trip(problem)
    except ValueError:
        raise InvalidInput(_("The clinical orders go round in a circle."), field="orders") from None
    plan = outcome.plan
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
            note=note[:300],
            created_by=actor,
        )
        if plan is not None:
            _store_items(itinerary, plan, planned, problem)
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


def _inputs_of(itinerary: Itinerary) -> dict:
    return {
        "earliest_arrival": itinerary.earliest_arrival.isoformat(),
        "latest_departure": itinerary.latest_departure.isoformat() if itinerary.latest_departure else "",
        "route": itinerary.route,
        "stay_limit": itinerary.stay_limit,
        "visits_per_day": itinerary.visits_per_day,
        "rest_weekdays": list(itinerary.rest_weekdays),
        "rest_days": list(itinerary.rest_days),
        "orders": list(itinerary.orders),
    }


def confirm_itinerary(actor, itinerary: Itinerary) -> Itinerary:
    """Book every service of the itinerary, all or nothing; a place taken meanwhile re-plans (PlaceTaken)."""
    case = itinerary.case
    require_case_staff(actor, case, PLANNERS)
    if itinerary.status != ItineraryStatus.DRAFT or not itinerary.feasible:
        raise Conflict(_("Only a planned itinerary that fits can be confirmed."), field="itinerary")
    if case.state not in PLANNABLE_STATES:
        raise Conflict(_("Only an accepted or scheduled case can be planned."), field="case")
    if itinerary.arrival is None or itinerary.arrival < clock.today():
        raise Conflict(_("This itinerary starts in the past; plan again."), field="itinerary")
    visits = list(itinerary.items.filter(kind=ItemKind.VISIT).select_related("item").order_by("day", "starts_at"))
    try:
        with transaction.atomic():
            # The case as it is now, locked: its state decides the move below.
            case.state = Case.objects.select_for_update().values_list("state", flat=True).get(pk=case.pk)
            itinerary.refresh_from_db()
            if itinerary.status != ItineraryStatus.DRAFT:
                raise Conflict(_("Only a planned itinerary that fits can be confirmed."), field="itinerary")
            if case.state not in PLANNABLE_STATES:
                raise Conflict(_("Only an accepted or scheduled case can be planned."), field="case")
            # A service booked for the case outside the trip (by hand, from the waitlist) would be booked twice.
            outside = (
                Booking.objects.filter(
                    case=case, status=BookingStatus.BOOKED, item_id__in={row.item_id for row in visits}
                )
                .exclude(request_id__in=_trip_requests(case))
                .select_related("item")
                .order_by("day")
                .first()
            )
            if outside is not None:
                raise Conflict(
                    _(
                        "%(service)s is already booked for this case outside the trip (from %(day)s): cancel "
                        "that booking first, or it would be booked twice."
                    )
                    % {"service": outside.item.code, "day": outside.day.isoformat()},
                    field="itinerary",
                )
            # The confirmed plan this one replaces gives its places back first: to this trip, which the
            # planner let use them, and only what it leaves to the waitlist, once it is booked.
            replaced = list(Itinerary.objects.filter(case=case, status=ItineraryStatus.ACTIVE))
            freed = set()
            for old in replaced:
                for row in old.items.filter(booking_request__isnull=False).select_related("booking_request"):
                    booking = Booking.objects.filter(request=row.booking_request, status=BookingStatus.BOOKED).first()
                    if booking is not None:
                        cancelled = cancel_booking(actor, booking, serve_waitlist=False)
                        freed |= {(b.resource_id, b.day) for b in cancelled}
                old.status = ItineraryStatus.REVOKED
                old.save(update_fields=["status", "updated_at"])
            for row in visits:
                if not row.item.usages.exists():
                    continue  # nothing to book (no resource is counted for it)
                bookings = book_service(
                    actor, case, row.item, row.day, idempotency_key=f"itinerary-{itinerary.pk}-{row.pk}", internal=True
                )
                row.booking_request_id = bookings[0].request_id if bookings else None
                row.save(update_fields=["booking_request"])
            offer_places(actor, case.hospital_id, freed)
            itinerary.status = ItineraryStatus.ACTIVE
            itinerary.confirmed_at = clock.now()
            itinerary.save(update_fields=["status", "confirmed_at", "updated_at"])
            if case.state == State.ACCEPTED:
                move(actor, case, State.SCHEDULED, note=_("Trip confirmed and booked."))
            record_event(actor, "planning.confirm", case, hospital=case.hospital, detail={"itinerary": itinerary.pk})
            add_event(
                case,
                actor,
                "trip_confirmed",
                note=timeline_note(
                    gettext_noop("Your trip is booked: arrival %(arrival)s, departure %(departure)s."),
                    arrival=itinerary.arrival.isoformat(),
                    departure=itinerary.departure.isoformat(),
                ),
            )
            site = settings.SITE_URL.rstrip("/")
            transaction.on_commit(
                lambda: notify_patient(case, "trip_booked", itinerary=itinerary, changed=bool(replaced), site=site)
            )
    except QuotaFull as exc:
        record_event(
            actor,
            "planning.confirm_failed",
            case,
            hospital=case.hospital,
            detail={"itinerary": itinerary.pk, "detail": str(exc.message)},
        )
        inputs = _inputs_of(itinerary)
        tomorrow = clock.today() + datetime.timedelta(days=1)
        inputs["earliest_arrival"] = max(itinerary.earliest_arrival, tomorrow).isoformat()
        if itinerary.latest_departure is not None and itinerary.latest_departure <= tomorrow:
            inputs["latest_departure"] = ""  # the window has passed: plan with no latest departure
        replanned = plan_case(actor, case, inputs, note=_("Planned again: a place was taken."))
        raise PlaceTaken(
            _("%(why)s Nothing was booked; the trip was planned again.") % {"why": exc.message},
            itinerary=replanned,
        ) from None
    return itinerary


def plan_by_reference(actor, reference: str, data: Mapping | None = None) -> Itinerary:
    """Plan the case with this reference (the API's and the command line's entry)."""
    return plan_case(actor, get_case(actor, reference, audit=None), data)


# --- what the patient and the pages see -----------------------------------------------------------


def days_of(itinerary: Itinerary) -> list[dict]:
    """The itinerary day by day, from arrival to departure (free days included)."""
    rows = list(
        itinerary.items.select_related("item", "resource", "resource__department").order_by("day", "starts_at", "pk")
    )
    if not rows or itinerary.arrival is None:
        return []
    by_day: dict = {}
    for row in rows:
        by_day.setdefault(row.day, []).append(row)
    out, day = [], itinerary.arrival
    while day <= itinerary.departure:
        out.append({"day": day, "entries": by_day.get(day, [])})
        day += datetime.timedelta(days=1)
    return out


def itinerary_json(itinerary: Itinerary, language: str | None = None) -> dict:
    """The itinerary as plain data (API)."""
    return {
        "id": itinerary.pk,
        "case": itinerary.case.reference,
        "status": itinerary.status,
        "feasible": itinerary.feasible,
        "method": itinerary.method,
        "arrival": itinerary.arrival,
        "departure": itinerary.departure,
        "stay_days": itinerary.stay_days,
        "hospital_days": itinerary.hospital_days,
        "waiting_days": itinerary.waiting_days,
        "greedy_departure": itinerary.greedy_departure,
        "greedy_stay_days": itinerary.greedy_stay_days,
        "bound_days": itinerary.bound_days,
        "route": itinerary.route,
        "stay_limit": itinerary.stay_limit,
        "reasons": [{**r, "text": reason_text(r)} for r in itinerary.reasons],
        "nearest": itinerary.nearest,
        "items": [
            {
                "day": row.day,
                "kind": row.kind,
                "service": row.item.code if row.item else None,
                "name": pick(row.item.name, language) if row.item else "",
                "starts_at": row.starts_at,
                "ends_at": row.ends_at,
                "booked": bool(row.booking_request_id),
            }
            for row in itinerary.items.select_related("item").order_by("day", "starts_at", "pk")
        ],
    }


def _entry_summary(row: ItineraryItem, language: str) -> str:
    if row.kind == ItemKind.ARRIVAL:
        return _("Arrival in China")
    if row.kind == ItemKind.DEPARTURE:
        return _("Departure")
    name = pick(row.item.name, language) if row.item else ""
    if row.kind == ItemKind.STAY:
        return _("In hospital: %(service)s") % {"service": name}
    return name


def _document_language(actor, case: Case, reading: str | None) -> str:
    """The patient reads their documents in the language they read the site in (`reading`, the request's);
    staff, and anyone without a request, get the case's language (the patient's)."""
    if reading and actor.role == Role.PATIENT:
        return reading
    return case.language or "en"


def itinerary_ics(actor, itinerary: Itinerary, *, reading: str | None = None) -> bytes:
    """The itinerary as an iCalendar file, in the reader's language (_document_language), the hospital's
    address on each event."""
    from django.utils import translation

    from laihua.planning import ics

    case = itinerary.case
    require_case_party(actor, case)
    language = _document_language(actor, case, reading)
    with translation.override(language):
        address = ", ".join(
            part for part in [pick(case.hospital.name, language), pick(case.hospital.address, language)] if part
        )
        # UIDs stay the same from one plan of the case to the next (with a higher SEQUENCE), so that a
        # calendar importing the new file moves the events instead of adding them again.
        sequence = Itinerary.objects.filter(case=case, pk__lte=itinerary.pk).count() - 1
        events = _ics_events(itinerary, language, address, sequence)
        # An event of a trip booked before that this plan no longer has (a shorter stay, a service
        # dropped) is sent as cancelled, so that it leaves the patient's calendar.
        current = {event["uid"] for event in events}
        earlier = Itinerary.objects.filter(case=case, pk__lt=itinerary.pk, confirmed_at__isnull=False).order_by("pk")
        gone = {}
        for old in earlier:
            for event in _ics_events(old, language, address, sequence):
                if event["uid"] not in current:
                    gone[event["uid"]] = {**event, "status": "CANCELLED"}
        name = _("Trip %(reference)s") % {"reference": case.reference}
    record_event(actor, "planning.itinerary.ics", case, hospital=case.hospital, detail={"itinerary": itinerary.pk})
    return ics.calendar(name, events + list(gone.values()), stamp=itinerary.updated_at or clock.now())


def _ics_events(itinerary: Itinerary, language: str, address: str, sequence: int) -> list[dict]:
    """The itinerary's events, each with its UID (the case, the kind of entry, the service, its count)."""
    case = itinerary.case
    events, seen = [], {}
    for row in itinerary.items.select_related("item", "resource").order_by("day", "starts_at", "pk"):
        key = f"case-{case.pk}-{row.kind}-{row.item_id or 0}"
        seen[key] = seen.get(key, 0) + 1
        events.append(
            {
                "uid": f"{key}-{seen[key]}",
                "sequence": sequence,
                "day": row.day,
                "start": row.starts_at,
                "end": row.ends_at,
                "summary": _entry_summary(row, language),
                "location": address,  # the arrival and departure days too: where the trip is bound
                "description": _("Case %(reference)s") % {"reference": case.reference},
            }
        )
    return events


def itinerary_pdf(actor, itinerary: Itinerary, *, reading: str | None = None) -> bytes:
    """The itinerary as a PDF in the reader's language (_document_language) and Chinese."""
    from laihua.kit.pdf import render_pdf

    case = itinerary.case
    require_case_party(actor, case)
    language = _document_language(actor, case, reading)
    record_event(actor, "planning.itinerary.pdf", case, hospital=case.hospital, detail={"itinerary": itinerary.pk})
    return render_pdf(
        "planning/itinerary_pdf.html",
        {"itinerary": itinerary, "case": case, "days": days_of(itinerary), "language": language},
        language=language,
    )
