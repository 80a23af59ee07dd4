"""Pages: the trip of a case. The desk plans it (inputs prefilled), compares it with the earliest-slot
plan, reads why nothing fits, re-plans and confirms; the patient reads it in their language and
downloads it as PDF and iCalendar. And the hospital's planning defaults (each service's rule, the
clinical orders between services), kept by its staff. Each calls planning.services or planning.rules;
refusals render as error pages."""

import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from laihua.accounts.models import Role
from laihua.cases.services import get_case
from laihua.catalog.models import CatalogItem
from laihua.errors import InvalidInput
from laihua.interpreters.forms import language_name
from laihua.kit.weberrors import is_partial_request, labelled
from laihua.planning import rules, services
from laihua.planning.models import ItineraryStatus, Repeat
from laihua.planning.services import PlaceTaken

WEEKDAYS = range(7)
MAX_ORDER_ROWS = 200  # clinical order rows read from the plan form


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
    try:
        count = min(max(int(post.get("order_count", 0) or 0), 0), MAX_ORDER_ROWS)
    except ValueError:
        count = 0
    for n in range(count + 1):
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
    # A new plan (or one that fits nothing) does not hide the trip that stays booked until it is replaced.
    replacing = desk and itinerary is not None and itinerary.status != ItineraryStatus.ACTIVE
    booked = services.booked_itinerary(request.user, case) if replacing else None
    context = {
        "case": case,
        "itinerary": itinerary,
        "booked": booked,
        "days": services.days_of(itinerary) if itinerary else [],
        "reasons": [services.reason_text(r) for r in itinerary.reasons] if itinerary else [],
        "desk": desk,
        "is_patient": request.user.role == Role.PATIENT,
        # Interpreters: the visits no interpreter of the pool is free for (remote, or another day).
        "uninterpreted": list(
            itinerary.items.filter(kind="visit", interpreter__isnull=True)
            .exclude(interpreter_language="")
            .select_related("item")
            .order_by("day", "starts_at")
        )
        if desk and itinerary is not None and itinerary.feasible
        else [],
    }
    if context["uninterpreted"]:
        offers = services.free_days(itinerary)
        for row in context["uninterpreted"]:
            row.free_days = offers.get(row.pk, [])
            row.language_name = language_name(row.interpreter_language)
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
        message = labelled(label, exc.message) if label else str(exc.message)
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
        services.itinerary_ics(request.user, itinerary, reading=request.LANGUAGE_CODE),
        content_type="text/calendar; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="trip-{itinerary.case.reference}.ics"'
    return response


@login_required
def pdf(request, itinerary_id: int):
    itinerary = services.get_itinerary(request.user, itinerary_id, audit=None)
    response = HttpResponse(
        services.itinerary_pdf(request.user, itinerary, reading=request.LANGUAGE_CODE), content_type="application/pdf"
    )
    response["Content-Disposition"] = f'attachment; filename="trip-{itinerary.case.reference}.pdf"'
    return response


# --- planning defaults of the catalog (planning.rules) --------------------------------------------

RULES_SHOWN = 300  # services listed at once; the search narrows a larger catalog


def _rule_values(item) -> dict:
    rule = item.planning_rule if rules.has_rule(item) else None
    return {
        "morning_only": bool(rule and rule.morning_only),
        "duration_minutes": rule.duration_minutes if rule and rule.duration_minutes is not None else "",
        "stay_days": rule.stay_days if rule and rule.stay_days is not None else "",
        "repeat": rule.repeat if rule else "",
    }


def _rule_form(post) -> dict:
    """The rule row as service input: an unticked box is sent as no box at all."""
    return {
        "morning_only": bool(post.get("morning_only")),
        "duration_minutes": post.get("duration_minutes", ""),
        "stay_days": post.get("stay_days", ""),
        "repeat": post.get("repeat", ""),
    }


def _order_form(post, *, new: bool) -> dict:
    data = {
        "min_gap_days": post.get("min_gap_days", ""),
        "max_gap_days": post.get("max_gap_days", ""),
        "note": post.get("note", ""),
    }
    if not data["min_gap_days"].strip():
        data["min_gap_days"] = "0"
    if new:
        data.update(before=post.get("before", ""), after=post.get("after", ""))
    return data


def _rules_context(request, *, error=None, target: str = "", posted=None, done: str = "") -> dict:
    hospital = request.user.hospital
    query = (request.POST.get("q") if request.method == "POST" else request.GET.get("q", "")) or ""
    query = query.strip()[:100]
    found = rules.services_of(request.user, hospital, query=query)
    total = found.count()
    items = list(found[:RULES_SHOWN])
    repeat_labels = dict(Repeat.choices)
    for item in items:
        item.effective = rules.effective(item)
        item.effective_repeat = repeat_labels.get(item.effective["repeat"], item.effective["repeat"])
        item.with_rule = rules.has_rule(item)
        item.values = _rule_values(item)
        item.target = target == f"rule-{item.pk}"
        if item.target and posted is not None:
            item.values = _rule_form(posted)
    orders = list(rules.orders_of(request.user, hospital))
    for order in orders:
        order.values = {"min_gap_days": order.min_gap_days, "max_gap_days": order.max_gap_days, "note": order.note}
        order.target = target == f"order-{order.pk}"
        if order.target and posted is not None:
            order.values = _order_form(posted, new=False)
    new_order = {"before": "", "after": "", "min_gap_days": 0, "max_gap_days": "", "note": ""}
    if target == "order-new" and posted is not None:
        new_order = _order_form(posted, new=True)
    return {
        "hospital": hospital,
        "items": items,
        "total": total,
        "shown": len(items),
        "query": query,
        "orders": orders,
        "new_order": new_order,
        "codes": CatalogItem.objects.filter(hospital=hospital).order_by("code").values_list("code", "name"),
        "repeat_choices": Repeat.choices,
        "labels": {field: rules.field_label(field) for field in rules.LABELLED_FIELDS},
        "can_edit": request.user.role in rules.RULE_EDITORS,
        "error": error,
        "target": target,
        "error_section": "rules" if target.startswith("rule-") else "orders",
        "done": done,
        "max_duration": rules.MAX_DURATION_MINUTES,
        "max_stay": rules.MAX_STAY_DAYS,
        "max_gap": rules.MAX_GAP_DAYS,
    }


def _rules_response(request, *, error=None, target: str = "", posted=None, done: str = ""):
    """The page, or for htmx its rules and orders only (an input error is 422 on the page, 200 for htmx,
    which swaps only successful answers)."""
    context = _rules_context(request, error=error, target=target, posted=posted, done=done)
    partial = is_partial_request(request)
    status = 422 if error is not None and not partial else 200
    response = render(request, "planning/_rules.html" if partial else "planning/rules.html", context, status=status)
    patch_vary_headers(response, ["HX-Request"])
    return response


def _after_change(request, done: str):
    if is_partial_request(request):
        return _rules_response(request, done=done)
    messages.success(request, done)
    query = request.POST.get("q", "").strip()
    return redirect(reverse("planning:rules") + (f"?{urlencode({'q': query})}" if query else ""))


@login_required
def rules_page(request):
    """The hospital's planning defaults: each service's rule and the clinical orders between services."""
    return _rules_response(request)


@login_required
@require_POST
def rule_save(request, item_id: int):
    item = rules.get_service(request.user, pk=item_id)
    try:
        rules.set_rule(request.user, item, _rule_form(request.POST))
    except InvalidInput as exc:
        return _rules_response(request, error=exc, target=f"rule-{item.pk}", posted=request.POST)
    return _after_change(request, _("The planning rule of %(code)s is saved.") % {"code": item.code})


@login_required
@require_POST
def order_add(request):
    try:
        order, created = rules.add_order(request.user, request.user.hospital, _order_form(request.POST, new=True))
    except InvalidInput as exc:
        return _rules_response(request, error=exc, target="order-new", posted=request.POST)
    words = {"before": order.before.code, "after": order.after.code}
    if created:
        return _after_change(request, _("%(after)s now follows %(before)s.") % words)
    return _after_change(request, _("The order %(before)s → %(after)s was already there; it is changed.") % words)


@login_required
@require_POST
def order_change(request, order_id: int):
    order = rules.get_order(request.user, order_id)
    try:
        rules.change_order(request.user, order, _order_form(request.POST, new=False))
    except InvalidInput as exc:
        return _rules_response(request, error=exc, target=f"order-{order.pk}", posted=request.POST)
    words = {"before": order.before.code, "after": order.after.code}
    return _after_change(request, _("The order %(before)s → %(after)s is saved.") % words)


@login_required
@require_POST
def order_remove(request, order_id: int):
    order = rules.get_order(request.user, order_id)
    words = {"before": order.before.code, "after": order.after.code}
    rules.remove_order(request.user, order)
    return _after_change(request, _("The order %(before)s → %(after)s is removed.") % words)


# --- interpreters (planning.services.interpreters) --------------------------------------------------


@login_required
@require_POST
def interpreter_remote(request, item_id: int):
    """The desk chooses remote interpretation (video or phone) for a visit no interpreter is free for."""
    row = services.set_remote(request.user, item_id, request.POST.get("mode", ""))
    messages.success(request, _("The interpretation is saved."))
    return redirect("planning:case", reference=row.itinerary.case.reference)


def _month(value: str | None, *, end: bool = False) -> datetime.date | None:
    """A month typed as YYYY-MM: its first day (its last with `end`); None when empty."""
    if not value:
        return None
    try:
        first = datetime.date.fromisoformat(f"{value}-01")
    except ValueError:
        raise InvalidInput(_("Give a month as YYYY-MM."), field="until" if end else "from") from None
    if not end:
        return first
    following = (first.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)
    return following - datetime.timedelta(days=1)


@login_required
def interpreter_shortages(request):
    """Visits that needed an interpreter and got none in person, by language and month (the hospital's
    admin and coordinators); as CSV with ?format=csv."""
    first = _month(request.GET.get("from"))
    last = _month(request.GET.get("until"), end=True)
    if request.GET.get("format") == "csv":
        response = HttpResponse(services.shortages_csv(request.user, first, last), content_type="text/csv")
        response["Content-Disposition"] = 'attachment; filename="interpreter-shortages.csv"'
        return response
    rows = services.shortages(request.user, first, last)
    context = {
        "rows": rows,
        "total_needed": sum(r["needed"] for r in rows),
        "total_short": sum(r["short"] for r in rows),
        "from": request.GET.get("from", ""),
        "until": request.GET.get("until", ""),
        "query": urlencode({k: v for k, v in request.GET.items() if k in ("from", "until") and v}),
    }
    return render(request, "planning/interpreter_shortages.html", context)


@login_required
def interpreter_day(request):
    """An interpreter's own day on a phone: whom, which language, when, where (with the address in Chinese)."""
    day = None
    if request.GET.get("day"):
        try:
            day = datetime.date.fromisoformat(request.GET["day"])
        except ValueError:
            raise InvalidInput(_("Give a date as YYYY-MM-DD."), field="day") from None
    found = services.interpreter_day(request.user, day)
    context = {
        **found,
        "previous": found["day"] - datetime.timedelta(days=1),
        "next": found["day"] + datetime.timedelta(days=1),
    }
    return render(request, "planning/interpreter_day.html", context)
