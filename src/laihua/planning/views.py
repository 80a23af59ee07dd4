"""Pages: the trip of a case. The desk plans it (inputs prefilled), compares it with the earliest-slot
plan, reads why nothing fits, re-plans and confirms; the patient reads it in their language and
downloads it as PDF and iCalendar. Each calls planning.services; refusals render as error pages."""

import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from laihua.accounts.models import Role
from laihua.cases.services import get_case
from laihua.errors import InvalidInput
from laihua.planning import services
from laihua.planning.services import PlaceTaken

WEEKDAYS = range(7)


def _form_data(post, items) -> dict:
    """The plan form as service inputs (an empty stay limit means the route's own)."""
    data = {
        "earliest_arrival": post.get("earliest_arrival", ""),
        "latest_departure": post.get("latest_departure", ""),
        "route": post.get("route", ""),
        "visits_per_day": post.get("visits_per_day", ""),
        "rest_weekdays": post.getlist("rest_weekdays"),
        "rest_days": post.get("rest_days", ""),
    }
    if post.get("stay_limit", "").strip():
        data["stay_limit"] = post["stay_limit"]
    orders = []
    for n in range(int(post.get("order_count", 0) or 0) + 1):
        before, after = post.get(f"order-{n}-before", ""), post.get(f"order-{n}-after", "")
        if not before or not after or post.get(f"order-{n}-drop"):
            continue
        orders.append(
            {
                "before": before,
                "after": after,
                "min": post.get(f"order-{n}-min", "0"),
                "max": post.get(f"order-{n}-max"),
            }
        )
    data["orders"] = orders
    return data


def _weekday_names():
    from django.utils.dates import WEEKDAYS as NAMES

    return [(n, NAMES[n]) for n in WEEKDAYS]


def _labels() -> dict:
    return {
        "earliest_arrival": _("Earliest arrival"),
        "latest_departure": _("Latest departure"),
        "route": _("Entry route"),
        "stay_limit": _("Longest stay (days)"),
        "visits_per_day": _("Hospital visits a day, at most"),
        "rest_weekdays": _("Rest weekdays (no visits)"),
        "rest_days": _("Rest dates (no visits)"),
        "orders": _("Clinical order (days between start days)"),
    }


def _typed(value):
    """A date typed on the form, back as a date when it is one (so that the field shows it again)."""
    try:
        return datetime.date.fromisoformat(str(value).strip())
    except ValueError:
        return None


def _render(request, case, *, posted=None, error=None, status=200):
    desk = request.user.role in services.PLANNERS
    itinerary = services.current_itinerary(request.user, case)
    context = {
        "case": case,
        "itinerary": itinerary,
        "days": services.days_of(itinerary) if itinerary else [],
        "reasons": [services.reason_text(r) for r in itinerary.reasons] if itinerary else [],
        "desk": desk,
        "is_patient": request.user.role == Role.PATIENT,
    }
    if desk:
        inputs = services.plan_inputs(request.user, case)
        route_limits = {r["code"]: r["max_stay_days"] for r in inputs["routes"]}
        own_limit = route_limits.get(inputs["route"])
        stay_limit_value = "" if inputs["stay_limit"] == own_limit else (inputs["stay_limit"] or "")
        if posted is not None:  # show what was typed again, next to the error
            inputs.update(
                earliest_arrival=_typed(posted.get("earliest_arrival")),
                latest_departure=_typed(posted.get("latest_departure")),
                route=posted.get("route", ""),
                visits_per_day=posted.get("visits_per_day", ""),
                rest_weekdays=[int(w) for w in posted.getlist("rest_weekdays") if w.isdigit()],
                rest_days=[d.strip() for d in posted.get("rest_days", "").split(",") if d.strip()],
            )
            stay_limit_value = posted.get("stay_limit", "")
        context.update(
            inputs=inputs,
            stay_limit_value=stay_limit_value,
            weekdays=_weekday_names(),
            plannable=case.state in services.PLANNABLE_STATES,
            error=error,
        )
    return render(request, "planning/case.html", context, status=status)


@login_required
def case_trip(request, reference: str):
    """The trip of a case: the desk's planner, or the patient's itinerary."""
    return _render(request, get_case(request.user, reference, audit="planning.view"))


@login_required
@require_POST
def plan(request, reference: str):
    """Plan (or re-plan) the case's trip from the form; an input error is shown with what was typed."""
    case = get_case(request.user, reference, audit=None)
    items = services.accepted_services(case)
    try:
        itinerary = services.plan_case(request.user, case, _form_data(request.POST, items))
    except InvalidInput as exc:
        label = _labels().get(exc.field or "", "")
        message = f"{label}: {exc.message}" if label else str(exc.message)
        return _render(request, case, posted=request.POST, error={"field": exc.field, "message": message}, status=422)
    if itinerary.feasible:
        messages.success(request, _("Trip planned: %(days)s days in China.") % {"days": itinerary.stay_days})
    else:
        messages.warning(request, _("No trip fits these inputs; see why below."))
    return redirect("planning:case", reference=case.reference)


@login_required
@require_POST
def confirm(request, itinerary_id: int):
    """Book every service of the itinerary, all or nothing."""
    itinerary = services.get_itinerary(request.user, itinerary_id, audit=None)
    try:
        services.confirm_itinerary(request.user, itinerary)
        messages.success(request, _("Every service is booked; the patient sees the confirmed itinerary."))
    except PlaceTaken as exc:
        messages.error(request, str(exc.message))
    return redirect("planning:case", reference=itinerary.case.reference)


@login_required
def ics(request, itinerary_id: int):
    itinerary = services.get_itinerary(request.user, itinerary_id, audit=None)
    response = HttpResponse(
        services.itinerary_ics(request.user, itinerary), content_type="text/calendar; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="trip-{itinerary.case.reference}.ics"'
    return response


@login_required
def pdf(request, itinerary_id: int):
    itinerary = services.get_itinerary(request.user, itinerary_id, audit=None)
    response = HttpResponse(services.itinerary_pdf(request.user, itinerary), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="trip-{itinerary.case.reference}.pdf"'
    return response
