"""Loading a hospital's catalog from a price file in the tall CSV layout the price files are written in."""

import datetime
from dataclasses import dataclass, field

from django.db import transaction
from django.utils.translation import gettext as _

from laihua.audit.services import record_event
from laihua.catalog.models import CatalogItem, ComparableService, Kind, PackageComponent, Price
from laihua.catalog.pricefiles import FileRejected, PriceRow, RowError, read_csv
from laihua.catalog.pricefiles.csv_columns import COMPONENTS, GROSS, MIN
from laihua.catalog.services import (
    component_problems,
    package_keeps_services_problem,
    part_of_package_problem,
    require_editor,
)
from laihua.hospitals.models import Hospital
from laihua.kit import clock


@dataclass
class ImportSummary:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    prices_added: int = 0
    packages_changed: int = 0
    effective_from: datetime.date | None = None

    def as_dict(self) -> dict:
        return {
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "prices_added": self.prices_added,
            "packages_changed": self.packages_changed,
            "effective_from": self.effective_from.isoformat() if self.effective_from else None,
        }


@dataclass
class _Step:
    """What one row will do: create or update the item (with these fields), and maybe add a price."""

    row: PriceRow
    item: CatalogItem | None
    fields: dict
    changed: list[str] = field(default_factory=list)
    add_price: bool = False


def import_catalog(
    actor, hospital: Hospital, text: str, *, effective_from: datetime.date | None = None
) -> ImportSummary:
    """Create or update the hospital's items by their own code and add the file's prices; a bad row
    rejects the whole file (FileRejected lists every problem) and nothing is written."""
    if actor is not None:
        require_editor(actor, hospital)
    parsed = read_csv(text)
    errors = list(parsed.errors)
    start = effective_from or parsed.last_updated_on
    if start is None and not any(e.column == "last_updated_on" for e in errors):
        errors.append(RowError(2, "last_updated_on", _("Give the file's date, or an effective date for its prices.")))
    with transaction.atomic():
        steps = _plan(hospital, parsed.rows, start, errors, parsed.codes) if start else []
        if errors:
            raise FileRejected(errors)
        summary = _apply(actor, hospital, steps, start)
        record_event(actor, "catalog.import", hospital, detail=summary.as_dict())
    return summary


def _plan(
    hospital: Hospital,
    rows: list[tuple[int, PriceRow]],
    start: datetime.date,
    errors: list[RowError],
    file_codes: set[str] = frozenset(),
) -> list[_Step]:
    """Check every row against the hospital's departments, the comparable services and price history."""
    codes = [row.code for _number, row in rows]
    existing = {item.code: item for item in hospital.catalog.filter(code__in=codes)}
    departments = {d.code: d for d in hospital.departments.all()}
    wanted_keys = {row.comparable for _number, row in rows if row.comparable}
    comparables = {c.key: c for c in ComparableService.objects.filter(key__in=wanted_keys)}
    history: dict[int, list[Price]] = {}
    for price in Price.objects.filter(item__in=existing.values()).order_by("effective_from"):
        history.setdefault(price.item_id, []).append(price)
    steps = []
    for number, row in rows:
        before = len(errors)
        if row.department and row.department not in departments:
            errors.append(
                RowError(
                    number,
                    "department",
                    _("This hospital has no department “%(code)s”.") % {"code": row.department},
                )
            )
        if row.comparable and row.comparable not in comparables:
            errors.append(
                RowError(number, "comparable", _("Unknown comparable service “%(key)s”.") % {"key": row.comparable})
            )
        item = existing.get(row.code)
        add_price = _needs_price(number, row, history.get(item.pk, []) if item else [], start, errors)
        if len(errors) == before:
            values = _item_fields(row, departments, comparables)
            steps.append(_Step(row, item, values, _changed(item, values), add_price))
    _check_packages(hospital, rows, errors, file_codes)
    return steps


def _check_packages(
    hospital: Hospital, rows: list[tuple[int, PriceRow]], errors: list[RowError], file_codes: set[str]
) -> None:
    """Check the packages' services once every row is read: a code is one of the file's rows (of the kind
    the file gives) or another item of the importing hospital, and packages stay one level deep. A code
    whose own row has errors is not reported again."""
    in_file = {row.code: (number, row) for number, row in rows}
    wanted = {code for _number, row in rows for code, _quantity in row.components or []}
    kinds = dict(hospital.catalog.filter(code__in=wanted - set(in_file)).values_list("code", "kind"))
    kinds.update(dict.fromkeys(file_codes, ""))
    kinds.update({code: row.kind for code, (_number, row) in in_file.items()})
    unknown = wanted - set(kinds)
    elsewhere = frozenset(
        CatalogItem.objects.filter(code__in=unknown).exclude(hospital=hospital).values_list("code", flat=True)
        if unknown
        else []
    )
    for number, row in rows:
        if row.components is not None:
            for problem in component_problems(row.code, row.kind, row.components, kinds, elsewhere=elsewhere):
                errors.append(RowError(number, COMPONENTS, problem))
    # A package the file does not give services for keeps its own (a file without the column): it must
    # stay a package, and none of its services may become one.
    kept: dict[str, list[str]] = {}
    for package, item in PackageComponent.objects.filter(package__hospital=hospital).values_list(
        "package__code", "item__code"
    ):
        if package not in in_file or in_file[package][1].components is None:
            kept.setdefault(package, []).append(item)
    found = set()
    for package, items in kept.items():
        if package in in_file and in_file[package][1].kind != Kind.PACKAGE:
            found.add(RowError(in_file[package][0], "kind", package_keeps_services_problem()))
        for item in items:
            if item in in_file and in_file[item][1].kind == Kind.PACKAGE:
                found.add(RowError(in_file[item][0], "kind", part_of_package_problem(package)))
    errors.extend(sorted(found, key=lambda e: (e.row, e.message)))


def _needs_price(number: int, row: PriceRow, prices: list[Price], start: datetime.date, errors: list[RowError]) -> bool:
    """Whether the row's price is new on the start date; a clash with recorded history is an error."""
    wanted = (row.amount_min, row.amount_max)
    column = MIN if row.is_range else GROSS
    same_day = next((p for p in prices if p.effective_from == start), None)
    if same_day is not None:
        if (same_day.amount_min, same_day.amount_max) != wanted:
            errors.append(
                RowError(
                    number,
                    column,
                    _("A different price (%(min)s–%(max)s CNY) already starts on %(date)s.")
                    % {"min": same_day.amount_min, "max": same_day.amount_max, "date": start.isoformat()},
                )
            )
        return False
    in_force = [p for p in prices if p.effective_from <= start]
    if in_force and (in_force[-1].amount_min, in_force[-1].amount_max) == wanted:
        return False
    if prices and start < clock.today():
        errors.append(
            RowError(
                number,
                column,
                _(
                    "This price differs from the one recorded for %(date)s, and past prices are kept as "
                    "they were: give an effective date of today or later."
                )
                % {"date": start.isoformat()},
            )
        )
    return True


def _item_fields(row: PriceRow, departments: dict, comparables: dict) -> dict:
    return {
        "kind": row.kind,
        "department": departments.get(row.department) if row.department else None,
        "name": row.name,
        "description": row.details,
        "included": row.included,
        "excluded": row.excluded,
        "keywords": row.keywords,
        "comparable": comparables.get(row.comparable) if row.comparable else None,
        "waiting_days": row.waiting_days,
        "duration_minutes": row.duration_minutes,
        "stay_days": row.stay_days,
        "standard_codes": row.standard_codes,
        "active": True,
    }


def _changed(item: CatalogItem | None, values: dict) -> list[str]:
    if item is None:
        return list(values)
    return [name for name, value in values.items() if _current(item, name) != _comparable_value(name, value)]


def _comparable_value(name: str, value):
    if name in ("department", "comparable"):  # compare keys, so that no row costs a query
        return value.pk if value is not None else None
    return value


def _current(item: CatalogItem, name: str):
    if name in ("department", "comparable"):
        return getattr(item, f"{name}_id")
    return getattr(item, name)


def _apply(actor, hospital: Hospital, steps: list[_Step], start: datetime.date) -> ImportSummary:
    summary = ImportSummary(rows=len(steps), effective_from=start)
    creator = actor if actor is not None and actor.is_authenticated else None
    saved: dict[str, CatalogItem] = {}
    for step in steps:
        item = step.item
        if item is None:
            item = CatalogItem(hospital=hospital, code=step.row.code, **step.fields)
            item.save()
            summary.created += 1
        elif step.changed:
            for name in step.changed:
                setattr(item, name, step.fields[name])
            item.save()
            summary.updated += 1
        else:
            summary.unchanged += 1
        if step.add_price:
            Price.objects.create(
                item=item,
                effective_from=start,
                amount_min=step.row.amount_min,
                amount_max=step.row.amount_max,
                created_by=creator,
            )
            summary.prices_added += 1
        saved[item.code] = item
    summary.packages_changed = _apply_components(hospital, steps, saved)
    return summary


def _apply_components(hospital: Hospital, steps: list[_Step], saved: dict[str, CatalogItem]) -> int:
    """Replace the services of every package the file lists them for (checked in _check_packages);
    return how many packages changed."""
    listing = [step for step in steps if step.row.components is not None]
    wanted = {code for step in listing for code, _quantity in step.row.components}
    items = {**{i.code: i for i in hospital.catalog.filter(code__in=wanted - set(saved))}, **saved}
    current: dict[int, list[tuple[str, int]]] = {}
    packages = [saved[step.row.code] for step in listing]
    for package_id, code, quantity in PackageComponent.objects.filter(package__in=packages).values_list(
        "package_id", "item__code", "quantity"
    ):
        current.setdefault(package_id, []).append((code, quantity))
    changed = 0
    for step in listing:
        package = saved[step.row.code]
        if sorted(step.row.components) == sorted(current.get(package.pk, [])):
            continue
        package.components.all().delete()
        PackageComponent.objects.bulk_create(
            [
                PackageComponent(package=package, item=items[code], quantity=quantity)
                for code, quantity in step.row.components
            ]
        )
        changed += 1
    return changed
