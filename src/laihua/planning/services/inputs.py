"""The planner's inputs for a case: the accepted services and how many times each, the planning rules
and clinical orders, the entry routes open to the patient, and the coordinator's window and preferences,
prefilled and checked."""

import datetime
from collections.abc import Mapping
from dataclasses import dataclass

from django.utils.translation import gettext as _

from laihua.cases.models import Case
from laihua.cases.services import require_case_staff
from laihua.catalog.models import CatalogItem
from laihua.errors import InvalidInput
from laihua.kit import clock
from laihua.kit.i18n import pick
from laihua.planning.models import Itinerary, Repeat, ServiceOrder, ServiceRule
from laihua.planning.services.pathway_plan import PathwayPlan, expand
from laihua.planning.services.scope import PLANNERS
from laihua.quotes.models import Quote
from laihua.quotes.models import Status as QuoteStatus
from laihua.travel.services import entry_guidance

DEFAULT_VISITS_PER_DAY = 2
MAX_WINDOW_DAYS = 120


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


def default_orders(items: list[CatalogItem], covered: set[str] = frozenset()) -> list[dict]:
    """The catalog's clinical orders between these services (leaving out those between two services a
    clinical pathway plans: its own stages order them)."""
    ids = [item.pk for item in items]
    return [
        {"before": row.before.code, "after": row.after.code, "min": row.min_gap_days, "max": row.max_gap_days}
        for row in ServiceOrder.objects.filter(before_id__in=ids, after_id__in=ids).select_related("before", "after")
        if not (row.before.code in covered and row.after.code in covered)
    ]


def plannable(case: Case) -> PathwayPlan:
    """The case's accepted services as the planner plans them: along their clinical pathways, if any."""
    return expand(accepted_services(case), accepted_quantities(case))


def routes_for(case: Case) -> list[dict]:
    """The entry routes open to the patient for this hospital, best first, with their longest stay."""
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
    pathways = plannable(case)
    items = pathways.items
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
        "orders": default_orders(items, pathways.covered),
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


def clean_inputs(case: Case, data: Mapping, items: list[CatalogItem], covered: set[str] = frozenset()) -> dict:
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
    orders = default_orders(items, covered) if orders is None else _clean_orders(orders, codes)
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
