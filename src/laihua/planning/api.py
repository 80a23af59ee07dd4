"""JSON routes of the planning domain (mounted at /api/planning by laihua.api): thin calls to planning.services."""

import datetime

from django.http import HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status

from laihua.api import AUTH
from laihua.cases.services import get_case
from laihua.errors import NotFound
from laihua.planning import services
from laihua.planning.services import PlaceTaken

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


@router.post("/cases/{reference}/plan", response={201: dict})
def plan(request, reference: str, payload: PlanIn):
    """Plan the shortest trip for an accepted case (coordinator, hospital admin); returns the itinerary."""
    case = get_case(request.auth, reference, audit=None)
    itinerary = services.plan_case(request.auth, case, _inputs(request.auth, case, payload))
    return Status(201, services.itinerary_json(itinerary))


@router.get("/cases/{reference}/itinerary", response=dict)
def current(request, reference: str):
    """The case's current itinerary (its patient, or its hospital's staff)."""
    case = get_case(request.auth, reference, audit=None)
    itinerary = services.current_itinerary(request.auth, case)
    if itinerary is None:
        raise NotFound(_("No itinerary yet."))
    return services.itinerary_json(itinerary)


@router.get("/itineraries/{itinerary_id}", response=dict)
def detail(request, itinerary_id: int):
    """One itinerary."""
    return services.itinerary_json(services.get_itinerary(request.auth, itinerary_id))


@router.post("/itineraries/{itinerary_id}/confirm", response=dict)
def confirm(request, itinerary_id: int):
    """Book every service of the itinerary, all or nothing. 409 place_taken carries the re-planned itinerary."""
    itinerary = services.get_itinerary(request.auth, itinerary_id, audit=None)
    try:
        return services.itinerary_json(services.confirm_itinerary(request.auth, itinerary))
    except PlaceTaken as exc:
        body = {**exc.as_dict(), "itinerary": services.itinerary_json(exc.itinerary) if exc.itinerary else None}
        return JsonResponse(body, status=409)


@router.get("/itineraries/{itinerary_id}/ics")
def ics(request, itinerary_id: int):
    """The itinerary as an iCalendar file."""
    itinerary = services.get_itinerary(request.auth, itinerary_id, audit=None)
    response = HttpResponse(
        services.itinerary_ics(request.auth, itinerary), content_type="text/calendar; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="trip-{itinerary.case.reference}.ics"'
    return response


@router.get("/itineraries/{itinerary_id}/pdf")
def pdf(request, itinerary_id: int):
    """The itinerary as a PDF."""
    itinerary = services.get_itinerary(request.auth, itinerary_id, audit=None)
    response = HttpResponse(services.itinerary_pdf(request.auth, itinerary), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="trip-{itinerary.case.reference}.pdf"'
    return response
