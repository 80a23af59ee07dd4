"""Pages: resources with capacity and share (hospital admins edit, coordinators read), each resource's page
(opening hours, active, closures, what services take of it), booking a service for a case with the nearest
days offered when full, a case's bookings and waitlist entries (cancel, leave), and the utilisation
dashboard with its CSV export and the metrics the hospital reports on.
Each calls capacity.services; a refusal escapes as a DomainError that kit.weberrors renders as a page,
except for form input errors, which are shown on the page naming the field in the page's language (the
new-resource form and the booking form keep what was typed)."""

import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from laihua.accounts.models import Role
from laihua.accounts.permissions import require_hospital_staff
from laihua.capacity import services
from laihua.capacity.models import BookingStatus, ResourceKind, Unit, WaitlistStatus
from laihua.capacity.services import QuotaFull
from laihua.cases.services import get_case
from laihua.catalog.models import CatalogItem
from laihua.errors import InvalidInput, NotFound, PermissionDenied
from laihua.kit import clock
from laihua.kit.weberrors import labelled

# The fields' names as the forms show them, for error messages (services name fields by their codes).
FIELD_LABELS = {
    "code": gettext_lazy("Code"),
    "name": gettext_lazy("Name"),
    "kind": gettext_lazy("Kind"),
    "unit": gettext_lazy("Unit"),
    "daily_capacity": gettext_lazy("Capacity per day"),
    "capacity": gettext_lazy("Capacity"),
    "opening_hours": gettext_lazy("Opening hours"),
    "department": gettext_lazy("Department"),
    "intl_share": gettext_lazy("Share"),
    "share": gettext_lazy("Share"),
    "day": gettext_lazy("Day"),
    "note": gettext_lazy("Note"),
    "item": gettext_lazy("Service"),
    "units": gettext_lazy("Units"),
    "day_offset": gettext_lazy("From day"),
    "days": gettext_lazy("Days"),
    "file": gettext_lazy("File"),
    "active": gettext_lazy("Active"),
}


def field_error(exc: InvalidInput) -> str:
    """The error with the field's label in front ("Capacity: Give a whole number.")."""
    label = FIELD_LABELS.get(exc.field or "")
    return labelled(label, exc.message) if label else str(exc.message)


def _hospital(user):
    if not user.hospital_id:
        raise PermissionDenied()
    return user.hospital


def _day(text: str, field: str = "day") -> datetime.date | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(_("Give the day as YYYY-MM-DD."), field=field) from None


def _show_over(request, over) -> None:
    for entry in over:
        messages.warning(
            request,
            _("%(resource)s on %(day)s: %(booked)s booked over a cap of %(cap)s; %(count)s booking(s) to resolve.")
            % {
                "resource": entry.resource.code,
                "day": entry.day.isoformat() if entry.period == "day" else entry.day.strftime("%Y-%m"),
                "booked": entry.booked,
                "cap": entry.cap,
                "count": len(entry.bookings),
            },
        )


@login_required
def resources(request, *, posted=None, add_error: str = "", status: int = 200):
    """Staff: the hospital's resources; the hospital admin sets capacity, share, closures and loads a CSV.
    `posted` and `add_error`: the new-resource form again, with what was typed and why it was refused."""
    hospital = _hospital(request.user)
    listed = list(services.resources_of(request.user, hospital))
    context = {
        "hospital": hospital,
        "resources": listed,
        "over": services.hospital_over_cap(request.user, hospital),
        "can_edit": request.user.role == Role.HOSPITAL_ADMIN,
        "kinds": ResourceKind.choices,
        "units": Unit.choices,
        "max_share": services.max_share(),
        "max_capacity": services.MAX_CAPACITY,
        "errors": [],
        "posted": posted or {},
        "add_error": add_error,
    }
    return render(request, "capacity/resources.html", context, status=status)


@login_required
@require_POST
def resource_create(request):
    data = {key: request.POST.get(key, "") for key in ("code", "kind", "unit", "daily_capacity", "opening_hours")}
    data["name"] = {"en": request.POST.get("name_en", ""), "zh-hans": request.POST.get("name_zh", "")}
    data["department"] = request.POST.get("department", "")
    try:
        services.create_resource(request.user, _hospital(request.user), data)
    except InvalidInput as exc:
        return resources(request, posted=request.POST, add_error=field_error(exc), status=422)
    else:
        messages.success(request, _("The resource is added."))
    return redirect("capacity:resources")


def _can_edit(user, hospital) -> bool:
    return user.role == Role.HOSPITAL_ADMIN and user.hospital_id == hospital.pk


@login_required
def resource_page(request, resource_id: int):
    """GET: the resource's page (settings, closures from today, what services take of it); POST: a change."""
    if request.method == "POST":
        return resource_update(request, resource_id)
    resource = services.get_resource(request.user, resource_id)
    context = {
        "resource": resource,
        "closures": services.closures_of(request.user, resource),
        "usages": services.usages_of(request.user, resource),
        "can_edit": _can_edit(request.user, resource.hospital),
        "max_share": services.max_share(),
        "limits": {
            "capacity": services.MAX_CAPACITY,
            "units": services.MAX_USAGE_UNITS,
            "day_offset": services.MAX_USAGE_OFFSET,
            "days": services.MAX_USAGE_DAYS,
        },
    }
    return render(request, "capacity/resource.html", context)


def _back_to_resource(request, resource):
    if request.POST.get("next") == "resource":
        return redirect("capacity:resource", resource.pk)
    return redirect("capacity:resources")


@login_required
@require_POST
def resource_update(request, resource_id: int):
    """Default capacity, share, one day's capacity (with closure and note), or opening hours and active."""
    resource = services.get_resource(request.user, resource_id)
    try:
        what = request.POST.get("what")
        if what == "settings":
            kept = services.update_resource(
                request.user,
                resource,
                opening_hours=request.POST.get("opening_hours", ""),
                active=bool(request.POST.get("active")),
            )
            messages.success(request, _("Saved: %(resource)s.") % {"resource": resource.code})
            if kept:
                messages.warning(
                    request,
                    _("%(resource)s is inactive: no new booking; %(count)s booking(s) from today are kept.")
                    % {"resource": resource.code, "count": len(kept)},
                )
            return _back_to_resource(request, resource)
        if what == "share":
            over = services.set_share(request.user, resource, request.POST.get("share", ""))
        elif what == "day":
            day = _day(request.POST.get("day", ""))
            if day is None:
                raise InvalidInput(_("Give the day."), field="day")
            over = services.set_capacity(
                request.user,
                resource,
                day,
                request.POST.get("capacity", ""),
                closed=bool(request.POST.get("closed")),
                note=request.POST.get("note", ""),
            )
        else:
            over = services.set_capacity(request.user, resource, None, request.POST.get("capacity", ""))
    except InvalidInput as exc:
        messages.error(request, field_error(exc))
    else:
        messages.success(request, _("Saved: %(resource)s.") % {"resource": resource.code})
        _show_over(request, over)
    return _back_to_resource(request, resource)


@login_required
@require_POST
def usage_add(request, resource_id: int):
    """The hospital admin says what a service (by its catalog code) takes of this resource."""
    resource = services.get_resource(request.user, resource_id)
    code = request.POST.get("item", "").strip()
    try:
        item = CatalogItem.objects.filter(hospital_id=resource.hospital_id, code=code).first()
        if item is None:
            raise InvalidInput(_("No such service at this hospital."), field="item")
        services.set_usage(
            request.user,
            item,
            resource,
            units=request.POST.get("units", "1"),
            day_offset=request.POST.get("day_offset", "0"),
            days=request.POST.get("days", "1"),
        )
    except InvalidInput as exc:
        messages.error(request, field_error(exc))
    else:
        messages.success(
            request, _("%(service)s now takes %(resource)s.") % {"service": code, "resource": resource.code}
        )
    return redirect("capacity:resource", resource.pk)


@login_required
@require_POST
def usage_remove(request, usage_id: int):
    usage = services.get_usage(request.user, usage_id)
    resource = usage.resource
    services.remove_usage(request.user, usage)
    messages.success(
        request,
        _("%(service)s no longer takes %(resource)s; bookings already made are kept.")
        % {"service": usage.item.code, "resource": resource.code},
    )
    return redirect("capacity:resource", resource.pk)


@login_required
@require_POST
def capacity_upload(request):
    upload = request.FILES.get("file")
    try:
        if upload is None:
            raise InvalidInput(_("Choose a CSV file."), field="file")
        if upload.size > 2 * 1024 * 1024:
            raise InvalidInput(_("The file is larger than 2 MB."), field="file")
        result = services.import_capacity_csv(request.user, _hospital(request.user), upload.read())
    except InvalidInput as exc:
        for line in getattr(exc, "errors", None) or [exc.message]:
            messages.error(request, str(line))
        messages.error(request, _("Nothing was loaded."))
    else:
        messages.success(request, _("%(rows)s day(s) loaded.") % {"rows": result["rows"]})
        _show_over(request, result["over_cap"])
    return redirect("capacity:resources")


@login_required
def book(request):
    """Coordinators: book a service for a case; when the day is full, the nearest days with room."""
    hospital = _hospital(request.user)
    require_hospital_staff(request.user, hospital, services.BOOKERS)
    items = CatalogItem.objects.filter(hospital=hospital, usages__isnull=False).distinct().order_by("code")
    values = {"case": request.GET.get("case", ""), "item": "", "day": "", "key": ""}
    nearest, error, booked, full = [], None, [], False
    if request.method == "POST":
        values = {key: request.POST.get(key, "").strip() for key in ("case", "item", "day", "key")}
        try:
            case = get_case(request.user, values["case"], audit=None)
            item = items.filter(code=values["item"]).first()
            if item is None:
                raise NotFound(_("Choose a service."), field="item")
            day = _day(values["day"])
            if day is None:
                raise InvalidInput(_("Give the day."), field="day")
            if request.POST.get("waitlist"):
                services.join_waitlist(request.user, case, item, day)
                messages.success(
                    request,
                    _("%(case)s is on the waitlist: the first place freed is given to it.") % {"case": case.reference},
                )
                return redirect("capacity:book")
            booked = services.book_service(request.user, case, item, day, idempotency_key=values["key"])
        except QuotaFull as refused:
            error, nearest, full = refused.message, refused.nearest_days, True
        except (InvalidInput, NotFound) as exc:
            error = exc.message
        else:
            messages.success(request, _("Booked for %(case)s.") % {"case": case.reference})
    # A fresh key per form shown: a double submission of the same form books once.
    import uuid

    context = {
        "waiting": services.waitlist_of(request.user, hospital),
        "items": items,
        "values": values,
        "key": uuid.uuid4().hex,
        "nearest": nearest,
        "full": full,
        "error": error,
        "booked": booked,
        "today": clock.today(),
        "last_day": services.last_bookable_day(),
    }
    return render(request, "capacity/book.html", context)


def _back(request, case):
    """Back to the page the form was on: the resources page, the booking page, or the case's bookings."""
    target = request.POST.get("next")
    if target == "resources":
        return redirect("capacity:resources")
    if target == "book":
        return redirect("capacity:book")
    return redirect("capacity:case", case.reference)


@login_required
@require_POST
def cancel(request, booking_id: int):
    booking = services.get_booking(request.user, booking_id)
    services.cancel_booking(request.user, booking)
    messages.success(request, _("The booking is cancelled and its places given back."))
    return _back(request, booking.case)


@login_required
@require_POST
def leave_waitlist(request, entry_id: int):
    entry = services.get_waitlist_entry(request.user, entry_id)
    services.leave_waitlist(request.user, entry)
    messages.success(request, _("%(case)s has left the waitlist.") % {"case": entry.case.reference})
    return _back(request, entry.case)


@login_required
def case_page(request, reference: str):
    """Coordinators and hospital admins: a case's bookings (by booked service, with a cancel button) and its
    waitlist entries (with a leave button). Both reads are audited."""
    case = get_case(request.user, reference, audit=None)
    bookings = services.case_bookings(request.user, case)
    entries = services.case_waitlist(request.user, case)
    groups: dict = {}
    for booking in bookings:
        group = groups.setdefault(
            booking.request_id, {"request": booking.request, "item": booking.item, "rows": [], "cancel": None}
        )
        group["rows"].append(booking)
        if booking.status == BookingStatus.BOOKED and group["cancel"] is None:
            group["cancel"] = booking
    context = {
        "case": case,
        "groups": list(groups.values()),
        "entries": entries,
        "waiting": WaitlistStatus.WAITING,
    }
    return render(request, "capacity/case.html", context)


def _month(request) -> datetime.date:
    text = request.GET.get("month", "")
    return services.parse_month(text) if text else services.month_start(clock.today())


@login_required
def utilisation(request):
    """Staff and platform admins: international use against the cap, by day and month, with warnings."""
    user = request.user
    from laihua.hospitals.models import Hospital

    hospitals = list(Hospital.objects.all()) if user.role == Role.PLATFORM_ADMIN else []
    if hospitals:
        slug = request.GET.get("hospital", "")
        hospital = Hospital.objects.filter(slug=slug).first() if slug else hospitals[0]
        if hospital is None:
            raise NotFound(_("No such hospital."), field="hospital")
    else:
        hospital = _hospital(user)
    month = _month(request)
    report = services.utilisation(user, hospital, month)
    previous = (month - datetime.timedelta(days=1)).replace(day=1)
    following = (month + datetime.timedelta(days=32)).replace(day=1)
    overview = services.platform_overview(user, month) if hospitals else []
    chosen = set(report_units(report))
    context = {
        "charts": utilisation_charts(report),
        "can_choose_metrics": _can_edit(user, hospital),
        "metric_choices": [
            (unit, Unit(unit).label, unit in chosen)
            for unit in Unit.values
            if unit in report["units_present"] or unit in chosen
        ],
        "report": report,
        "hospitals": hospitals,
        "overview": overview,
        "previous": previous,
        "following": following,
    }
    return render(request, "capacity/utilisation.html", context)


def utilisation_charts(report) -> dict:
    """Each resource's international use by day as a share of its cap, with the 80% and 100% lines, for
    static/js/analytics.js (the table below each chart holds the same days)."""
    charts = {}
    for entry in report["resources"]:
        days = entry["days"]
        charts[f"resource-{entry['resource'].pk}"] = {
            "kind": "bar",
            "categories": [f"{row['day']:%d}" for row in days],
            "series": [
                {
                    "name": str(_("International use, per cent of the cap")),
                    "data": [float(row["percent"]) if row["percent"] is not None else None for row in days],
                }
            ],
            "lines": [{"name": "80%", "value": 80}, {"name": "100%", "value": 100}],
            "unit": "%",
        }
    return charts


def report_units(report) -> list[str]:
    return [row["unit"] for row in report["by_unit"]]


@login_required
@require_POST
def metrics(request):
    """The hospital admin chooses the metrics the hospital-wide share is reported on."""
    month = request.POST.get("month", "")
    try:
        services.set_reported_units(request.user, _hospital(request.user), request.POST.getlist("units"))
    except InvalidInput as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("The reported metrics are saved."))
    url = reverse("capacity:utilisation")
    try:
        return redirect(f"{url}?month={services.parse_month(month):%Y-%m}" if month else url)
    except InvalidInput:
        return redirect(url)


@login_required
def utilisation_csv(request):
    user = request.user
    from laihua.hospitals.models import Hospital

    if user.role == Role.PLATFORM_ADMIN:
        hospital = Hospital.objects.filter(slug=request.GET.get("hospital", "")).first()
        if hospital is None:
            raise NotFound(_("No such hospital."))
    else:
        hospital = _hospital(user)
    month = _month(request)
    response = HttpResponse(services.utilisation_csv(user, hospital, month), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="utilisation-{hospital.slug}-{month:%Y-%m}.csv"'
    return response
