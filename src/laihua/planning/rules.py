"""Planning defaults of a hospital's catalog, kept by its own staff: each service's planning rule and the
clinical orders between its services.

The planner takes them when a coordinator plans a trip (planning.services.planned_services and
default_orders), so they are set once per service instead of typed on every case. The hospital admin and
the coordinators of the hospital change them (the catalog's editors); its clinicians read them. Every
change is audited with the hospital and checked in full before anything is saved; the clinical orders of
a hospital never go round in a circle (the planner could not order the services).
"""

from collections import deque
from collections.abc import Mapping

from django.db import transaction
from django.db.models import QuerySet
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from laihua.accounts.models import Role
from laihua.accounts.permissions import require_hospital_staff, require_role
from laihua.accounts.services import CATALOG_EDITORS
from laihua.audit.services import record_event
from laihua.catalog.models import CatalogItem
from laihua.errors import InvalidInput, NotFound, PermissionDenied
from laihua.hospitals.models import Hospital
from laihua.planning.models import Repeat, ServiceOrder, ServiceRule
from laihua.planning.services import defaults_of

RULE_EDITORS = CATALOG_EDITORS  # hospital admin, coordinator: those who edit the catalog
RULE_READERS = CATALOG_EDITORS + (Role.CLINICIAN,)
MAX_DURATION_MINUTES = 9 * 60  # the planner's most minutes of visits in one day (solver.DAY_MINUTES)
MAX_STAY_DAYS = 90
MAX_GAP_DAYS = 90
MAX_NOTE = 200
RULE_FIELDS = ("morning_only", "duration_minutes", "stay_days", "repeat")
ORDER_FIELDS = ("min_gap_days", "max_gap_days", "note")
LABELLED_FIELDS = RULE_FIELDS + ("before", "after") + ORDER_FIELDS


def field_label(field: str) -> str:
    """The field's name as the user reads it (the model's translated verbose name)."""
    for model in (ServiceRule, ServiceOrder):
        try:
            return capfirst(str(model._meta.get_field(field).verbose_name))
        except Exception:  # noqa: S112 - not a field of this model: try the next
            continue
    return field


def _invalid(field: str, message: str) -> InvalidInput:
    """An input error whose message names the field, so that the page and the API both say where."""
    return InvalidInput(f"{field_label(field)}: {message}", field=field)


# --- reading --------------------------------------------------------------------------------------


def _hospital_of(actor, hospital: Hospital | None, roles) -> Hospital:
    require_role(actor, roles)
    if hospital is None:
        raise PermissionDenied()
    require_hospital_staff(actor, hospital, roles)
    return hospital


def services_of(actor, hospital: Hospital | None, *, query: str = "") -> QuerySet[CatalogItem]:
    """The hospital's catalog services with their planning rule (if any), by code; `query` narrows them."""
    hospital = _hospital_of(actor, hospital, RULE_READERS)
    items = CatalogItem.objects.filter(hospital=hospital).select_related("planning_rule").order_by("code")
    words = query.strip().lower().split()
    for word in words[:5]:
        items = items.filter(search_text__contains=word)
    return items


def rules_of(actor, hospital: Hospital | None) -> QuerySet[ServiceRule]:
    """The planning rules set on the hospital's services."""
    hospital = _hospital_of(actor, hospital, RULE_READERS)
    return ServiceRule.objects.filter(item__hospital=hospital).select_related("item").order_by("item__code")


def orders_of(actor, hospital: Hospital | None) -> QuerySet[ServiceOrder]:
    """The clinical orders between the hospital's services, by the first service's code."""
    hospital = _hospital_of(actor, hospital, RULE_READERS)
    return (
        ServiceOrder.objects.filter(before__hospital=hospital)
        .select_related("before", "after")
        .order_by("before__code", "after__code")
    )


def get_service(actor, *, code: str | None = None, pk: int | None = None, roles=RULE_READERS) -> CatalogItem:
    """A service of the actor's own hospital's catalog, by code or id (NotFound for any other)."""
    require_role(actor, roles)
    items = CatalogItem.objects.filter(hospital_id=actor.hospital_id).select_related("hospital", "planning_rule")
    item = None
    if actor.hospital_id and (code is not None or pk is not None):
        item = (items.filter(code=str(code).strip()) if code is not None else items.filter(pk=pk)).first()
    if item is None:
        raise NotFound(_("No such service in your hospital's catalog."))
    return item


def get_order(actor, pk: int, *, roles=RULE_READERS) -> ServiceOrder:
    """A clinical order between services of the actor's own hospital (NotFound for any other)."""
    require_role(actor, roles)
    order = None
    if actor.hospital_id:
        order = (
            ServiceOrder.objects.filter(pk=pk, before__hospital_id=actor.hospital_id)
            .select_related("before", "after", "before__hospital")
            .first()
        )
    if order is None:
        raise NotFound(_("No such clinical order."))
    return order


def effective(item: CatalogItem) -> dict:
    """What the planner takes for the service: its rule, else the catalog's values, else the defaults."""
    return defaults_of(item, item.planning_rule if has_rule(item) else None)


def has_rule(item: CatalogItem) -> bool:
    try:
        return item.planning_rule is not None
    except ServiceRule.DoesNotExist:
        return False


def rule_json(item: CatalogItem) -> dict:
    """A service's planning rule as plain data (API): what is set, and what the planner takes."""
    rule = item.planning_rule if has_rule(item) else None
    now = effective(item)
    return {
        "item": item.code,
        "name": item.name,
        "kind": item.kind,
        "set": rule is not None,
        "morning_only": rule.morning_only if rule else False,
        "duration_minutes": rule.duration_minutes if rule else None,
        "stay_days": rule.stay_days if rule else None,
        "repeat": rule.repeat if rule else "",
        "effective": now,
    }


def order_json(order: ServiceOrder) -> dict:
    return {
        "id": order.pk,
        "before": order.before.code,
        "after": order.after.code,
        "min_gap_days": order.min_gap_days,
        "max_gap_days": order.max_gap_days,
        "note": order.note,
    }


# --- checking -------------------------------------------------------------------------------------


def whole_number(value, field: str, invalid, *, minimum: int, maximum: int, optional: bool = True) -> int | None:
    """A whole number from minimum to maximum (none when optional and empty), else `invalid(field, message)`
    is raised: each form names its fields its own way."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if optional:
            return None
        value = ""
    number = None
    if not isinstance(value, bool):
        try:
            number = int(str(value).strip())
        except (TypeError, ValueError):
            number = None
    if number is None or number < minimum or number > maximum:
        raise invalid(field, _("give a whole number from %(min)s to %(max)s.") % {"min": minimum, "max": maximum})
    return number


def _whole(value, field: str, *, minimum: int, maximum: int, optional: bool = True) -> int | None:
    return whole_number(value, field, _invalid, minimum=minimum, maximum=maximum, optional=optional)


def flag(value) -> bool:
    if isinstance(value, bool):
        return value
    return str(value or "").strip().lower() in ("1", "true", "on", "yes")


def _clean_rule(data: Mapping, rule: ServiceRule) -> dict:
    """The rule's fields after the change (absent keys keep their value), every one checked."""
    values = {field: getattr(rule, field) for field in RULE_FIELDS}
    if "morning_only" in data:
        values["morning_only"] = flag(data["morning_only"])
    if "duration_minutes" in data:
        values["duration_minutes"] = _whole(
            data["duration_minutes"], "duration_minutes", minimum=1, maximum=MAX_DURATION_MINUTES
        )
    if "stay_days" in data:
        values["stay_days"] = _whole(data["stay_days"], "stay_days", minimum=1, maximum=MAX_STAY_DAYS)
    if "repeat" in data:
        repeat = str(data["repeat"] or "").strip()
        if repeat and repeat not in Repeat.values:
            raise _invalid("repeat", _("choose one of the ways offered, or leave it empty."))
        values["repeat"] = repeat
    return values


def _service_in(hospital: Hospital, value, field: str) -> CatalogItem:
    """A service of this hospital, given as a catalog item or its code."""
    if isinstance(value, CatalogItem):
        if value.hospital_id != hospital.pk:
            raise _invalid(
                field,
                _("%(code)s belongs to another hospital's catalog; an order joins services of one hospital.")
                % {"code": value.code},
            )
        return value
    code = str(value or "").strip()
    if not code:
        raise _invalid(field, _("choose a service of the catalog."))
    item = CatalogItem.objects.filter(hospital=hospital, code=code).first()
    if item is None:
        raise _invalid(field, _("no service with the code %(code)s in the hospital's catalog.") % {"code": code[:40]})
    return item


def _clean_gaps(data: Mapping, low: int = 0, high: int | None = None, note: str = "") -> tuple[int, int | None, str]:
    if "min_gap_days" in data:
        low = _whole(data["min_gap_days"], "min_gap_days", minimum=0, maximum=MAX_GAP_DAYS) or 0
    if "max_gap_days" in data:
        high = _whole(data["max_gap_days"], "max_gap_days", minimum=0, maximum=MAX_GAP_DAYS)
    if high is not None and high < low:
        raise _invalid(
            "max_gap_days",
            _("the most days (%(max)s) must not be below the fewest (%(min)s).") % {"max": high, "min": low},
        )
    if "note" in data:
        note = str(data["note"] or "").strip()
        if len(note) > MAX_NOTE:
            raise _invalid("note", _("write at most %(n)s characters.") % {"n": MAX_NOTE})
    return low, high, note


def _path(hospital: Hospital, start: CatalogItem, goal: CatalogItem) -> list[int] | None:
    """The item ids of a chain of the hospital's orders from `start` to `goal`, if there is one."""
    edges: dict[int, list[int]] = {}
    for before, after in ServiceOrder.objects.filter(before__hospital=hospital).values_list("before_id", "after_id"):
        edges.setdefault(before, []).append(after)
    came_from = {start.pk: None}
    queue = deque([start.pk])
    while queue:
        node = queue.popleft()
        if node == goal.pk:
            chain = []
            while node is not None:
                chain.append(node)
                node = came_from[node]
            return chain[::-1]
        for nxt in edges.get(node, []):
            if nxt not in came_from:
                came_from[nxt] = node
                queue.append(nxt)
    return None


def _refuse_circle(hospital: Hospital, before: CatalogItem, after: CatalogItem) -> None:
    """`before` → `after` may not close a circle: no chain of orders may already lead from `after` to `before`."""
    chain = _path(hospital, after, before)
    if chain is None:
        return
    codes = dict(CatalogItem.objects.filter(pk__in=chain).values_list("pk", "code"))
    circle = " → ".join([before.code] + [codes[pk] for pk in chain])
    raise _invalid(
        "after",
        _("this order would make the clinical orders go round in a circle (%(circle)s).") % {"circle": circle},
    )


def _lock(hospital: Hospital) -> None:
    """Changes to one hospital's orders one at a time, so that two of them cannot close a circle together."""
    # FOR NO KEY UPDATE: rows elsewhere that point at the hospital (cases, audit events) are not held up.
    Hospital.objects.select_for_update(no_key=True).filter(pk=hospital.pk).first()


# --- changing -------------------------------------------------------------------------------------


@transaction.atomic
def set_rule(actor, item: CatalogItem, data: Mapping) -> ServiceRule:
    """Create or update the service's planning rule (keys absent from `data` keep their value)."""
    hospital = item.hospital
    require_hospital_staff(actor, hospital, RULE_EDITORS)
    rule = ServiceRule.objects.select_for_update().filter(item=item).first()
    created = rule is None
    if created:
        rule = ServiceRule(item=item)
    values = _clean_rule(data, rule)
    changed = {f: [getattr(rule, f), v] for f, v in values.items() if created or getattr(rule, f) != v}
    if not changed:
        return rule
    for field, value in values.items():
        setattr(rule, field, value)
    rule.save()
    item.planning_rule = rule
    record_event(
        actor,
        "planning.rule.create" if created else "planning.rule.update",
        rule,
        hospital=hospital,
        detail={"item": item.code, "changed": changed},
    )
    return rule


@transaction.atomic
def add_order(actor, hospital: Hospital | None, data: Mapping) -> tuple[ServiceOrder, bool]:
    """A clinical order between two services of the hospital; for a pair already ordered, that order is
    changed instead. Returns the order and whether it is new."""
    hospital = _hospital_of(actor, hospital, RULE_EDITORS)
    before = _service_in(hospital, data.get("before"), "before")
    after = _service_in(hospital, data.get("after"), "after")
    if before.pk == after.pk:
        raise _invalid("after", _("a service cannot follow itself; choose another service."))
    low, high, note = _clean_gaps(data)
    _lock(hospital)
    existing = ServiceOrder.objects.filter(before=before, after=after).first()
    if existing is not None:
        return change_order(actor, existing, data), False
    _refuse_circle(hospital, before, after)
    order = ServiceOrder.objects.create(before=before, after=after, min_gap_days=low, max_gap_days=high, note=note)
    record_event(actor, "planning.order.create", order, hospital=hospital, detail=_order_detail(order))
    return order, True


def _order_detail(order: ServiceOrder, changed: dict | None = None) -> dict:
    detail = {
        "before": order.before.code,
        "after": order.after.code,
        "min_gap_days": order.min_gap_days,
        "max_gap_days": order.max_gap_days,
    }
    if changed is not None:
        detail["changed"] = changed
    return detail


@transaction.atomic
def change_order(actor, order: ServiceOrder, data: Mapping) -> ServiceOrder:
    """Change the gaps or the note of a clinical order (keys absent from `data` keep their value)."""
    hospital = order.before.hospital
    require_hospital_staff(actor, hospital, RULE_EDITORS)
    low, high, note = _clean_gaps(data, order.min_gap_days, order.max_gap_days, order.note)
    _lock(hospital)
    current = ServiceOrder.objects.filter(pk=order.pk).first()
    if current is None:
        raise NotFound(_("No such clinical order."))
    values = {"min_gap_days": low, "max_gap_days": high, "note": note}
    changed = {f: [getattr(current, f), v] for f, v in values.items() if getattr(current, f) != v}
    for field, value in values.items():
        setattr(order, field, value)
    if changed:
        order.save(update_fields=list(values))
        record_event(actor, "planning.order.update", order, hospital=hospital, detail=_order_detail(order, changed))
    return order


@transaction.atomic
def remove_order(actor, order: ServiceOrder) -> None:
    """Remove a clinical order: the planner no longer keeps the two services in this order."""
    hospital = order.before.hospital
    require_hospital_staff(actor, hospital, RULE_EDITORS)
    _lock(hospital)
    if not ServiceOrder.objects.filter(pk=order.pk).exists():
        raise NotFound(_("No such clinical order."))
    record_event(actor, "planning.order.delete", order, hospital=hospital, detail=_order_detail(order))
    ServiceOrder.objects.filter(pk=order.pk).delete()
