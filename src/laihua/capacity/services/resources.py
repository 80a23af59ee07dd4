"""Resources (hospital admins): their capacity by day and international share, capacity days loaded
from CSV, and what each catalog service takes of them. A higher capacity or share hands the places it
frees to the waitlist in the same transaction; a lower one cancels nothing and returns the bookings
now over the cap."""

import csv
import datetime
import io
import itertools
from decimal import Decimal, InvalidOperation

from django.core.validators import validate_slug
from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from laihua.accounts.permissions import require_hospital_staff, require_role
from laihua.audit.services import record_event
from laihua.capacity.models import (
    MAX_CAPACITY,
    MAX_USAGE_DAYS,
    MAX_USAGE_OFFSET,
    MAX_USAGE_UNITS,
    Booking,
    BookingStatus,
    CapacityDay,
    IntlUsage,
    Resource,
    ResourceKind,
    ServiceUsage,
    Unit,
)
from laihua.capacity.services.over_cap import OverCap, over_cap_bookings
from laihua.capacity.services.quota import CAPACITY_EDITORS, READERS, max_share, month_start
from laihua.capacity.services.waitlist import _lock_with_waitlist, _waiting_days, offer_freed_places
from laihua.errors import InvalidInput, NotFound
from laihua.kit import clock

CSV_COLUMNS = ["resource_code", "day", "capacity", "closed", "note"]
MAX_CSV_ROWS = 10_000


# --- resources, capacity and share ----------------------------------------------------------------


def _get_resource(actor, resource_id: int, roles=READERS) -> Resource:
    require_role(actor, roles)
    resource = Resource.objects.filter(pk=resource_id, hospital_id=actor.hospital_id).first()
    if resource is None:
        raise NotFound(_("No such resource."))
    return resource


def get_resource(actor, resource_id: int) -> Resource:
    return _get_resource(actor, resource_id)


def resources_of(actor, hospital) -> QuerySet[Resource]:
    require_hospital_staff(actor, hospital, READERS)
    return hospital.resources.select_related("department").all()


def _int(value, field_name: str, *, minimum: int = 0, maximum: int) -> int:
    """A whole number from minimum to maximum, else InvalidInput naming the field."""
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        raise InvalidInput(_("Give a whole number."), field=field_name) from None
    if not minimum <= number <= maximum:
        raise InvalidInput(
            _("Give a number from %(min)s to %(max)s.") % {"min": minimum, "max": maximum}, field=field_name
        )
    return number


@transaction.atomic
def create_resource(actor, hospital, data: dict) -> Resource:
    """A new resource of the hospital (hospital admin); everything is checked before it is saved."""
    require_hospital_staff(actor, hospital, CAPACITY_EDITORS)
    code = str(data.get("code") or "").strip()
    try:
        validate_slug(code)
    except Exception:
        raise InvalidInput(_("Give a code of letters, digits, hyphens or underscores."), field="code") from None
    if len(code) > 40:
        raise InvalidInput(_("Give a code of at most 40 characters."), field="code")
    if hospital.resources.filter(code=code).exists():
        raise InvalidInput(_("This code is already in use."), field="code")
    kind = data.get("kind")
    if kind not in ResourceKind.values:
        raise InvalidInput(_("Choose a kind of resource."), field="kind")
    unit = data.get("unit")
    if unit not in Unit.values:
        raise InvalidInput(_("Choose a unit."), field="unit")
    name = data.get("name") or {}
    if not isinstance(name, dict) or not str(name.get("en", "")).strip():
        raise InvalidInput(_("Give the name in English at least."), field="name")
    department = None
    if data.get("department"):
        department = hospital.departments.filter(code=data["department"]).first()
        if department is None:
            raise InvalidInput(_("No such department."), field="department")
    share = _share(data.get("intl_share", min(Decimal("0.10"), max_share())))
    resource = Resource.objects.create(
        hospital=hospital,
        department=department,
        code=code,
        kind=kind,
        unit=unit,
        name={k: str(v).strip() for k, v in name.items() if str(v).strip()},
        daily_capacity=_int(data.get("daily_capacity", 0), "daily_capacity", maximum=MAX_CAPACITY),
        opening_hours=_opening_hours(data.get("opening_hours")),
        intl_share=share,
    )
    record_event(actor, "capacity.resource_create", resource, hospital=hospital)
    return resource


def _opening_hours(value) -> str:
    text = str(value or "").strip()
    if len(text) > 200:
        raise InvalidInput(_("Give the opening hours in at most 200 characters."), field="opening_hours")
    return text


@transaction.atomic
def update_resource(actor, resource: Resource, *, opening_hours=None, active=None) -> list[Booking]:
    """Change the opening hours and/or deactivate (or reactivate) a resource (hospital admin).

    An inactive resource takes no new booking; deactivating cancels nothing: the bookings kept on it from
    today are returned, for the coordinator to resolve. Reactivating offers the places free on it to the
    waitlist at once, its counters locked first as a capacity change locks them."""
    require_hospital_staff(actor, resource.hospital, CAPACITY_EDITORS)
    candidates, locked = [], None
    if active is True and not resource.active:
        wanted = _waiting_days(resource, activating=resource.pk)
        candidates, locked = _lock_with_waitlist(
            resource.hospital_id, wanted, resources=[resource.pk], activating=resource.pk
        )
    changes = {}
    if opening_hours is not None:
        changes["opening_hours"] = _opening_hours(opening_hours)
    if active is not None:
        if not isinstance(active, bool):
            raise InvalidInput(_("Give yes or no."), field="active")
        changes["active"] = active
    if changes:
        Resource.objects.filter(pk=resource.pk).update(**changes)
        for name, value in changes.items():
            setattr(resource, name, value)
        record_event(
            actor,
            "capacity.resource_update",
            resource,
            hospital=resource.hospital,
            detail={name: value for name, value in changes.items()},
        )
    if locked is not None:
        offer_freed_places(actor, resource.hospital_id, candidates, locked)
    if resource.active:
        return []
    return list(
        Booking.objects.select_related("case", "item")
        .filter(resource=resource, day__gte=clock.today(), status=BookingStatus.BOOKED)
        .order_by("day", "pk")
    )


def closures_of(actor, resource: Resource, since: datetime.date | None = None) -> list[CapacityDay]:
    """The resource's closed days (holidays, maintenance) from `since` (default today), by day."""
    require_hospital_staff(actor, resource.hospital, READERS)
    return list(resource.days.filter(closed=True, day__gte=since or clock.today()).order_by("day"))


def _share(value) -> Decimal:
    try:
        share = Decimal(str(value).strip().rstrip("%")) / (100 if str(value).strip().endswith("%") else 1)
    except (InvalidOperation, ValueError):
        raise InvalidInput(_("Give the share as a decimal, e.g. 0.10."), field="intl_share") from None
    if not share.is_finite() or share < 0:
        raise InvalidInput(_("Give the share as a decimal, e.g. 0.10."), field="intl_share")
    if share > max_share():
        raise InvalidInput(
            _("The share may not be above the platform maximum of %(max)s.") % {"max": max_share()},
            field="intl_share",
        )
    return share.quantize(Decimal("0.001"))


@transaction.atomic
def set_share(actor, resource: Resource, share) -> list[OverCap]:
    """Set the international share (hospital admin, at most the platform maximum); returns what is over."""
    require_hospital_staff(actor, resource.hospital, CAPACITY_EDITORS)
    value = _share(share)
    candidates, locked = _lock_with_waitlist(resource.hospital_id, _waiting_days(resource), resources=[resource.pk])
    before = resource.intl_share
    Resource.objects.filter(pk=resource.pk).update(intl_share=value)
    resource.intl_share = value
    record_event(
        actor, "capacity.share", resource, hospital=resource.hospital, detail={"from": str(before), "to": str(value)}
    )
    offer_freed_places(actor, resource.hospital_id, candidates, locked)
    return over_cap_bookings(resource)


@transaction.atomic
def set_capacity(
    actor, resource: Resource, day: datetime.date | None, capacity, *, closed: bool = False, note: str = ""
) -> list[OverCap]:
    """Set the default capacity (day None) or one day's; cancels nothing, returns the bookings now over.

    For a day, a capacity left empty (None or "") and not closed gives the day back its usual capacity
    (reopening a closed day); a closed day takes no capacity."""
    require_hospital_staff(actor, resource.hospital, CAPACITY_EDITORS)
    reset = day is not None and not closed and (capacity is None or str(capacity).strip() == "")
    if closed and day is None:
        raise InvalidInput(_("Give the day that is closed."), field="day")
    if len(note or "") > 200:
        raise InvalidInput(_("Give the note in at most 200 characters."), field="note")
    if reset:
        capacity = None
    elif closed and capacity in (None, ""):
        capacity = 0  # a closed day needs no number
    else:
        capacity = _int(capacity, "capacity", maximum=MAX_CAPACITY)
    wanted = _waiting_days(resource, day)
    if day is None:
        candidates, locked = _lock_with_waitlist(resource.hospital_id, wanted, resources=[resource.pk])
        Resource.objects.filter(pk=resource.pk).update(daily_capacity=capacity)
        resource.daily_capacity = capacity
    else:
        keys = {(resource.pk, IntlUsage.DAY, day), (resource.pk, IntlUsage.MONTH, month_start(day))}
        candidates, locked = _lock_with_waitlist(resource.hospital_id, wanted, keys)
        if reset:
            CapacityDay.objects.filter(resource=resource, day=day).delete()
        else:
            CapacityDay.objects.update_or_create(
                resource=resource, day=day, defaults={"capacity": capacity, "closed": closed, "note": note or ""}
            )
    record_event(
        actor,
        "capacity.set",
        resource,
        hospital=resource.hospital,
        detail={"day": day.isoformat() if day else None, "capacity": capacity, "closed": closed, "reset": reset},
    )
    offer_freed_places(actor, resource.hospital_id, candidates, locked)
    return over_cap_bookings(resource, day)


# --- capacity days from CSV -----------------------------------------------------------------------


def _truthy(value: str) -> bool | None:
    text = (value or "").strip().lower()
    if text in ("", "0", "false", "no", "n", "否"):
        return False
    if text in ("1", "true", "yes", "y", "closed", "是"):
        return True
    return None


def _csv_read(read, number: int):
    """read() of a csv reader, a malformed row (a line end inside an unquoted field, a field over the
    csv module's limit) refused naming the row, never a 500."""
    try:
        return read()
    except csv.Error as error:
        raise InvalidInput(
            _("Row %(row)s: the file is not valid CSV (%(error)s).") % {"row": number, "error": error}, field="file"
        ) from None


def _csv_rows(reader: csv.DictReader):
    """(row number, row) of the reader's data rows, the header being row 1."""
    for number in itertools.count(2):
        row = _csv_read(lambda: next(reader, None), number)
        if row is None:
            return
        yield number, row


def import_capacity_csv(actor, hospital, data) -> dict:
    """Load capacity days from CSV (resource_code,day,capacity,closed,note): every row is checked
    first, and nothing is loaded unless all are good. Errors name the row and the column. As with
    set_capacity, places a higher capacity frees go to the waitlist in the same transaction, and the
    bookings now over a day's cap are returned (nothing is cancelled)."""
    require_hospital_staff(actor, hospital, CAPACITY_EDITORS)
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise InvalidInput(_("The file is not UTF-8 text."), field="file") from None
    # newline="": the csv module reads CR, LF and CRLF line ends, and line ends inside quoted fields.
    reader = csv.DictReader(io.StringIO(data.lstrip("\ufeff"), newline=""))
    header = [name.strip() for name in (_csv_read(lambda: reader.fieldnames, 1) or [])]
    missing = [name for name in CSV_COLUMNS[:3] if name not in header]
    if missing:
        raise InvalidInput(
            _("Row 1: the header lacks the column(s) %(columns)s.") % {"columns": ", ".join(missing)}, field="file"
        )
    resources = {r.code: r for r in hospital.resources.all()}
    errors, rows, seen = [], [], set()
    for number, raw in _csv_rows(reader):
        if number > MAX_CSV_ROWS + 1:
            errors.append(_("Row %(row)s: at most %(max)s rows per file.") % {"row": number, "max": MAX_CSV_ROWS})
            break
        row = {(k or "").strip(): (v or "").strip() for k, v in raw.items() if k}

        def error(column, message, number=number):
            errors.append(
                _("Row %(row)s, column %(column)s: %(message)s")
                % {
                    "row": number,
                    "column": column,
                    "message": message,
                }
            )

        resource = resources.get(row.get("resource_code", ""))
        if resource is None:
            error("resource_code", _("no such resource at this hospital."))
        try:
            day = datetime.date.fromisoformat(row.get("day", ""))
        except ValueError:
            day = None
            error("day", _("give the day as YYYY-MM-DD."))
        try:
            capacity = int(row.get("capacity", ""))
            if not 0 <= capacity <= MAX_CAPACITY:
                raise ValueError
        except ValueError:
            capacity = None
            error("capacity", _("give a whole number from 0 to %(max)s.") % {"max": MAX_CAPACITY})
        closed = _truthy(row.get("closed", ""))
        if closed is None:
            error("closed", _("give yes or no."))
        note = row.get("note", "")
        if len(note) > 200:
            error("note", _("at most 200 characters."))
        if resource and day:
            if (resource.pk, day) in seen:
                error("day", _("this resource and day are already in an earlier row."))
            seen.add((resource.pk, day))
        rows.append((resource, day, capacity, closed, note))
    if errors:
        exc = InvalidInput("; ".join(str(e) for e in errors[:20]), field="file")
        exc.errors = errors
        raise exc
    if not rows:
        raise InvalidInput(_("The file has no rows."), field="file")
    over = []
    days_of: dict[int, set] = {}
    for resource, day, *_rest in rows:
        days_of.setdefault(resource.pk, set()).add(day)
    loaded = {resource.pk: resource for resource, *_rest in rows}
    with transaction.atomic():
        keys = set()
        for resource, day, *_rest in rows:
            keys |= {(resource.pk, IntlUsage.DAY, day), (resource.pk, IntlUsage.MONTH, month_start(day))}
        # As set_capacity: find the waiting entries the loaded days could serve and lock their counters
        # with ours, in the global order, before anything changes; then hand them the freed places.
        wanted = set()
        for resource_id, days in days_of.items():
            wanted |= {(r, d) for r, d in _waiting_days(loaded[resource_id]) if d in days}
        candidates, locked = _lock_with_waitlist(hospital.pk, wanted, keys)
        for resource, day, capacity, closed, note in rows:
            CapacityDay.objects.update_or_create(
                resource=resource, day=day, defaults={"capacity": capacity, "closed": closed, "note": note}
            )
        record_event(actor, "capacity.import", hospital, hospital=hospital, detail={"rows": len(rows)})
        offer_freed_places(actor, hospital.pk, candidates, locked)
        for resource_id, days in days_of.items():
            for day in sorted(days):
                over.extend(entry for entry in over_cap_bookings(loaded[resource_id], day) if entry.period == "day")
    return {"rows": len(rows), "over_cap": over}


# --- what services take ---------------------------------------------------------------------------


@transaction.atomic
def set_usage(actor, item, resource: Resource, *, units: int = 1, day_offset: int = 0, days: int = 1) -> ServiceUsage:
    """Say what a catalog service takes of a resource of the same hospital (hospital admin)."""
    require_hospital_staff(actor, item.hospital, CAPACITY_EDITORS)
    if resource.hospital_id != item.hospital_id:
        raise InvalidInput(_("The resource belongs to another hospital."), field="resource")
    usage = ServiceUsage.objects.create(
        item=item,
        resource=resource,
        units=_int(units, "units", minimum=1, maximum=MAX_USAGE_UNITS),
        day_offset=_int(day_offset, "day_offset", maximum=MAX_USAGE_OFFSET),
        days=_int(days, "days", minimum=1, maximum=MAX_USAGE_DAYS),
    )
    record_event(actor, "capacity.usage", resource, hospital=resource.hospital, detail={"item": item.code})
    return usage


def usages_of(actor, resource: Resource) -> list[ServiceUsage]:
    """What the hospital's services take of this resource (hospital staff who read capacity)."""
    require_hospital_staff(actor, resource.hospital, READERS)
    return list(resource.usages.select_related("item").order_by("item__code", "day_offset", "pk"))


def get_usage(actor, usage_id: int, resource: Resource | None = None) -> ServiceUsage:
    """A usage of the actor's hospital (of `resource`, if given); NotFound for anyone else."""
    require_role(actor, READERS)
    usages = ServiceUsage.objects.select_related("item", "resource", "resource__hospital").filter(
        pk=usage_id, resource__hospital_id=actor.hospital_id
    )
    if resource is not None:
        usages = usages.filter(resource=resource)
    usage = usages.first()
    if usage is None:
        raise NotFound(_("No such service usage."))
    return usage


@transaction.atomic
def remove_usage(actor, usage: ServiceUsage) -> None:
    """The service no longer takes this resource (hospital admin). Bookings already made are kept."""
    resource = usage.resource
    require_hospital_staff(actor, resource.hospital, CAPACITY_EDITORS)
    detail = {"item": usage.item.code, "units": usage.units, "day_offset": usage.day_offset, "days": usage.days}
    usage.delete()
    record_event(actor, "capacity.usage_remove", resource, hospital=resource.hospital, detail=detail)
