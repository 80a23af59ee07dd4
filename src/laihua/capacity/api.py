"""Capacity, the international quota and bookings over JSON: thin routes calling capacity.services."""

import datetime
from decimal import Decimal

from django.http import HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from ninja import Field, File, Header, Query, Router, Schema, Status, UploadedFile

from laihua.accounts.auth import AUTH
from laihua.capacity import services
from laihua.capacity.models import ServiceUsage
from laihua.capacity.services import QuotaFull
from laihua.cases.services import get_case
from laihua.catalog.models import CatalogItem
from laihua.errors import InvalidInput, NotFound, PermissionDenied
from laihua.hospitals.models import Hospital

router = Router(tags=["capacity"], auth=AUTH)


class ResourceOut(Schema):
    id: int
    code: str
    kind: str
    unit: str
    name: dict
    department: str | None
    daily_capacity: int
    opening_hours: str
    intl_share: Decimal
    active: bool


def resource_out(resource) -> dict:
    return {
        "id": resource.pk,
        "code": resource.code,
        "kind": resource.kind,
        "unit": resource.unit,
        "name": resource.name,
        "department": resource.department.code if resource.department else None,
        "daily_capacity": resource.daily_capacity,
        "opening_hours": resource.opening_hours,
        "intl_share": resource.intl_share,
        "active": resource.active,
    }


class ResourceIn(Schema):
    code: str
    kind: str = Field(..., description="clinic_session, mri, ct, pet, theatre or bed")
    unit: str = Field(..., description="visit, slot, theatre_hour or bed_day")
    name: dict = Field(..., description='{"en": ..., "zh-hans": ...}')
    department: str = ""
    daily_capacity: int = 0
    opening_hours: str = ""
    intl_share: Decimal | None = None


class OverCapOut(Schema):
    resource: str
    period: str
    day: datetime.date
    capacity: int
    cap: int
    booked: int
    bookings: list[int]


def over_out(entries) -> list[dict]:
    return [
        {
            "resource": entry.resource.code,
            "period": entry.period,
            "day": entry.day,
            "capacity": entry.capacity,
            "cap": entry.cap,
            "booked": entry.booked,
            "bookings": [booking.pk for booking in entry.bookings],
        }
        for entry in entries
    ]


def _hospital(actor) -> Hospital:
    if actor is None or not getattr(actor, "hospital_id", None):
        raise PermissionDenied()
    return actor.hospital


@router.get("/resources", response=list[ResourceOut], summary="Your hospital's resources")
def list_resources(request):
    return [resource_out(r) for r in services.resources_of(request.auth, _hospital(request.auth))]


@router.post("/resources", response={201: ResourceOut}, summary="Add a resource (hospital admin)")
def create_resource(request, payload: ResourceIn):
    data = payload.dict()
    if data["intl_share"] is None:
        data.pop("intl_share")
    resource = services.create_resource(request.auth, _hospital(request.auth), data)
    return Status(201, resource_out(resource))


class ResourcePatch(Schema):
    opening_hours: str | None = Field(None, description="Leave out to keep; at most 200 characters")
    active: bool | None = Field(None, description="false: no new booking (those made are kept)")


class ResourcePatchOut(ResourceOut):
    bookings_kept: list[int] = Field(..., description="Booked rows from today kept on an inactive resource")


@router.patch(
    "/resources/{resource_id}",
    response=ResourcePatchOut,
    summary="Change opening hours or (de)activate a resource (hospital admin); deactivating cancels nothing",
)
def update_resource(request, resource_id: int, payload: ResourcePatch):
    resource = services.get_resource(request.auth, resource_id)
    kept = services.update_resource(request.auth, resource, opening_hours=payload.opening_hours, active=payload.active)
    return {**resource_out(resource), "bookings_kept": [booking.pk for booking in kept]}


class ClosureOut(Schema):
    day: datetime.date
    note: str


@router.get("/resources/{resource_id}/closures", response=list[ClosureOut], summary="Closed days from today")
def list_closures(request, resource_id: int):
    resource = services.get_resource(request.auth, resource_id)
    return [{"day": row.day, "note": row.note} for row in services.closures_of(request.auth, resource)]


class CapacityIn(Schema):
    day: datetime.date | None = Field(None, description="Leave out to set the default capacity per day.")
    capacity: int | None = Field(
        None,
        description="Required without a day; for a day, leave out (and closed false) to go back to the usual capacity",
    )
    closed: bool = False
    note: str = ""


@router.put(
    "/resources/{resource_id}/capacity",
    response=list[OverCapOut],
    summary="Set a day's (or the default) capacity; answers with the bookings now over the cap",
)
def set_capacity(request, resource_id: int, payload: CapacityIn):
    resource = services.get_resource(request.auth, resource_id)
    return over_out(
        services.set_capacity(
            request.auth, resource, payload.day, payload.capacity, closed=payload.closed, note=payload.note
        )
    )


class ShareIn(Schema):
    share: Decimal = Field(..., description="e.g. 0.10; at most the platform maximum")


@router.put("/resources/{resource_id}/share", response=list[OverCapOut], summary="Set the international share")
def set_share(request, resource_id: int, payload: ShareIn):
    resource = services.get_resource(request.auth, resource_id)
    return over_out(services.set_share(request.auth, resource, payload.share))


class UsageIn(Schema):
    item: str = Field(..., description="The catalog item's code")
    units: int = 1
    day_offset: int = 0
    days: int = 1


class UsageOut(Schema):
    id: int
    item: str
    resource: str
    units: int
    day_offset: int
    days: int


def usage_out(usage, item, resource) -> dict:
    return {
        "id": usage.pk,
        "item": item.code,
        "resource": resource.code,
        "units": usage.units,
        "day_offset": usage.day_offset,
        "days": usage.days,
    }


@router.post(
    "/resources/{resource_id}/usages",
    response={201: UsageOut},
    summary="Say what a service takes (units 1-1000 a day, day_offset 0-90, days 1-90)",
)
def add_usage(request, resource_id: int, payload: UsageIn):
    resource = services.get_resource(request.auth, resource_id)
    item = _item(resource.hospital_id, payload.item)
    usage = services.set_usage(
        request.auth, item, resource, units=payload.units, day_offset=payload.day_offset, days=payload.days
    )
    return Status(201, usage_out(usage, item, resource))


@router.get("/resources/{resource_id}/usages", response=list[UsageOut], summary="What services take of it")
def list_usages(request, resource_id: int):
    resource = services.get_resource(request.auth, resource_id)
    return [usage_out(usage, usage.item, resource) for usage in services.usages_of(request.auth, resource)]


@router.delete(
    "/resources/{resource_id}/usages/{usage_id}",
    response={204: None},
    summary="The service no longer takes this resource (hospital admin); bookings made are kept",
)
def remove_usage(request, resource_id: int, usage_id: int):
    resource = services.get_resource(request.auth, resource_id)
    services.remove_usage(request.auth, services.get_usage(request.auth, usage_id, resource))
    return Status(204, None)


class ImportOut(Schema):
    rows: int
    over_cap: list[OverCapOut]


@router.post(
    "/capacity.csv",
    response=ImportOut,
    summary="Load capacity days from CSV: resource_code,day,capacity,closed,note (all rows or none)",
)
def import_csv(request, file: File[UploadedFile]):
    if file.size > 2 * 1024 * 1024:
        raise InvalidInput(_("The file is larger than 2 MB."), field="file")
    result = services.import_capacity_csv(request.auth, _hospital(request.auth), file.read())
    return {"rows": result["rows"], "over_cap": over_out(result["over_cap"])}


@router.get("/over-cap", response=list[OverCapOut], summary="Bookings over the cap from today, to resolve")
def over_cap(request):
    return over_out(services.hospital_over_cap(request.auth, _hospital(request.auth)))


class BookingIn(Schema):
    case: str = Field(..., description="The case reference")
    item: str = Field(..., description="The catalog item's code at the case's hospital")
    day: datetime.date = Field(..., description="The first day of the service")
    idempotency_key: str = Field("", description="Or send the Idempotency-Key header")


class BookingOut(Schema):
    id: int
    case: str
    item: str
    resource: str
    day: datetime.date
    units: int
    status: str


def booking_out(booking) -> dict:
    return {
        "id": booking.pk,
        "case": booking.case.reference,
        "item": booking.item.code,
        "resource": booking.resource.code,
        "day": booking.day,
        "units": booking.units,
        "status": booking.status,
    }


def _item(hospital_id: int, code: str, *fields: str) -> CatalogItem:
    """The hospital's catalog item with this code; `fields` limits the columns read."""
    items = CatalogItem.objects.filter(hospital_id=hospital_id, code=code).order_by()
    item = next(iter((items.only(*fields) if fields else items)[:1]), None)
    if item is None:
        raise NotFound(_("No such service at this hospital."), field="item")
    return item


@router.post(
    "/bookings",
    response={201: list[BookingOut]},
    summary="Book a service for a case within the quota; 409 quota_full carries nearest_days",
)
def book(request, payload: BookingIn, idempotency_key: str = Header("", alias="Idempotency-Key")):
    case = get_case(request.auth, payload.case, audit=None, related=False)
    # The service and what it uses in one read; the service alone when it uses nothing (booking says so).
    usages = list(
        ServiceUsage.objects.filter(item__hospital_id=case.hospital_id, item__code=payload.item)
        .select_related("resource", "item")
        .order_by("day_offset", "resource")
    )
    item = usages[0].item if usages else _item(case.hospital_id, payload.item, "id", "hospital_id", "code")
    key = payload.idempotency_key or idempotency_key
    try:
        bookings = services.book_service(request.auth, case, item, payload.day, idempotency_key=key, usages=usages)
    except QuotaFull as full:
        return JsonResponse(full.as_dict(), status=full.status)
    for booking in bookings:
        booking.case, booking.item = case, item
    return Status(201, [booking_out(b) for b in bookings])


@router.get(
    "/bookings",
    response=list[BookingOut],
    summary="A case's bookings, booked and cancelled (coordinators and admins of its hospital; audited)",
)
def list_bookings(request, case: str = ""):
    if not case.strip():
        raise InvalidInput(_("Give the case reference."), field="case")
    found = get_case(request.auth, case.strip(), audit=None, related=False)
    return [booking_out(b) for b in services.case_bookings(request.auth, found)]


@router.delete(
    "/bookings/{booking_id}",
    response=list[BookingOut],
    summary="Cancel the booked service this booking belongs to and give the quota back",
)
def cancel(request, booking_id: int):
    booking = services.get_booking(request.auth, booking_id)
    cancelled = services.cancel_booking(request.auth, booking)
    for row in cancelled:
        row.case, row.item = booking.case, booking.item
    return [booking_out(row) for row in cancelled]


class UtilisationParams(Schema):
    month: str = Field(..., description="YYYY-MM")
    hospital: str = Field("", description="A hospital's slug (platform admins); default your own")


def _report_hospital(actor, slug: str) -> Hospital:
    if slug:
        hospital = Hospital.objects.filter(slug=slug).first()
        if hospital is None:
            raise NotFound(_("No such hospital."))
        return hospital
    return _hospital(actor)


@router.get("/utilisation", summary="International use against the cap per resource, by day and month")
def utilisation(request, params: Query[UtilisationParams]):
    month = services.parse_month(params.month)
    report = services.utilisation(request.auth, _report_hospital(request.auth, params.hospital), month)
    return {
        "hospital": report["hospital"].slug,
        "month": report["month"].strftime("%Y-%m"),
        "by_unit": [{**row, "share_of_capacity": _num(row["share_of_capacity"])} for row in report["by_unit"]],
        "resources": [
            {
                "resource": entry["resource"].code,
                "unit": entry["resource"].unit,
                "share": str(entry["share"]),
                "month": {**entry["month"], "percent": _num(entry["month"]["percent"])},
                "days": [
                    {**row, "day": row["day"].isoformat(), "percent": _num(row["percent"])} for row in entry["days"]
                ],
            }
            for entry in report["resources"]
        ],
    }


def _num(value):
    return float(value) if value is not None else None


@router.get("/utilisation.csv", summary="The same as CSV")
def utilisation_csv(request, params: Query[UtilisationParams]):
    month = services.parse_month(params.month)
    hospital = _report_hospital(request.auth, params.hospital)
    text = services.utilisation_csv(request.auth, hospital, month)
    response = HttpResponse(text, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="utilisation-{hospital.slug}-{month:%Y-%m}.csv"'
    return response


class WaitlistIn(Schema):
    case: str
    item: str
    day: datetime.date


class WaitlistOut(Schema):
    id: int
    case: str
    item: str
    day: datetime.date
    status: str


def waitlist_out(entry) -> dict:
    return {
        "id": entry.pk,
        "case": entry.case.reference,
        "item": entry.item.code,
        "day": entry.day,
        "status": entry.status,
    }


@router.post("/waitlist", response={201: WaitlistOut}, summary="Wait for a place: the first freed is given")
def join_waitlist(request, payload: WaitlistIn):
    case = get_case(request.auth, payload.case, audit=None, related=False)
    item = _item(case.hospital_id, payload.item, "id", "hospital_id", "code")
    return Status(201, waitlist_out(services.join_waitlist(request.auth, case, item, payload.day)))


@router.get(
    "/waitlist",
    response=list[WaitlistOut],
    summary="Your hospital's waiting entries; with ?case=REF every entry of that case (audited)",
)
def list_waitlist(request, case: str = ""):
    if case.strip():
        found = get_case(request.auth, case.strip(), audit=None, related=False)
        return [waitlist_out(e) for e in services.case_waitlist(request.auth, found)]
    return [waitlist_out(e) for e in services.waitlist_of(request.auth, _hospital(request.auth))]


@router.delete("/waitlist/{entry_id}", response=WaitlistOut, summary="Leave the waitlist (again: no change)")
def leave_waitlist(request, entry_id: int):
    entry = services.get_waitlist_entry(request.auth, entry_id)
    return waitlist_out(services.leave_waitlist(request.auth, entry))


class MetricsIn(Schema):
    units: list[str] = Field(..., description="Units to report the hospital-wide share on: visit, slot, ...")


class MetricsOut(Schema):
    units: list[str]
    present: list[str] = Field(..., description="The units of the hospital's active resources")
    chosen: bool = Field(..., description="false: no choice made, every unit present is reported")


@router.get("/metrics", response=MetricsOut, summary="The metrics your hospital reports its share on")
def get_metrics(request):
    return services.metrics_of(request.auth, _hospital(request.auth))


@router.put("/metrics", response=MetricsOut, summary="Choose the reported metrics (hospital admin)")
def set_metrics(request, payload: MetricsIn):
    hospital = _hospital(request.auth)
    services.set_reported_units(request.auth, hospital, payload.units)
    return services.metrics_of(request.auth, hospital)


@router.get("/utilisation/platform", summary="Platform admins: every hospital's resources for the month")
def platform_utilisation(request, month: str):
    rows = services.platform_overview(request.auth, services.parse_month(month))
    return [
        {
            "hospital": row["hospital"].slug,
            "resource": row["resource"].code,
            "unit": row["resource"].unit,
            "cap": row["month"]["cap"],
            "booked": row["month"]["booked"],
            "percent": _num(row["month"]["percent"]),
            "level": row["month"]["level"],
            "warn_days": row["warn_days"],
            "full_days": row["full_days"],
        }
        for row in rows
    ]
