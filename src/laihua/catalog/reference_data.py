"""Comparable services and reference prices abroad, shipped as data with their sources.

The CSV files in catalog/data/ are the shipped data; the tables are what the site shows, and the
platform admin edits them in /admin. `load_reference_data()` copies the files into the tables, keyed
on the service key and on (service, country, year). It adds what is missing and leaves a row that
already exists alone, even when it differs from the file: the difference is reported, never
overwritten silently. Only `overwrite=True` (`laihua catalog_reference load --overwrite`) replaces
edited rows with the shipped figures.
"""

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils.translation import gettext as _

from laihua.accounts.models import Role
from laihua.accounts.permissions import require_role
from laihua.audit.services import record_event
from laihua.catalog.models import ComparableService, ReferencePrice
from laihua.errors import InvalidInput
from laihua.kit import clock
from laihua.kit.csvdata import fail as _fail
from laihua.kit.csvdata import read_rows as _read
from laihua.kit.csvdata import translated as _translated
from laihua.kit.money import normalise_currency

DATA_DIR = Path(__file__).resolve().parent / "data"
SERVICES_FILE = DATA_DIR / "comparable_services.csv"
REFERENCES_FILE = DATA_DIR / "reference_prices.csv"

SERVICE_COLUMNS = ("key", "name_en", "name_zh-hans")
REFERENCE_COLUMNS = ("comparable", "country", "amount", "currency", "year", "source", "source_url")
REFERENCE_FIELDS = ("amount", "currency", "source", "source_url", "note")


@dataclass
class LoadSummary:
    services_created: int = 0
    services_updated: int = 0
    services_unchanged: int = 0
    references_created: int = 0
    references_updated: int = 0
    references_unchanged: int = 0
    kept: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(
            self.services_created or self.services_updated or self.references_created or self.references_updated
        )


def read_comparable_services(path: Path = SERVICES_FILE) -> dict[str, dict]:
    """The shipped comparable services: {key: {language: name}}, every row checked."""
    services: dict[str, dict] = {}
    for line, row in _read(path, SERVICE_COLUMNS):
        key = row["key"]
        if not key or key != key.lower() or not all(c.isalnum() or c == "-" for c in key) or not key.isascii():
            _fail(path, line, "key", _("a key is lower-case letters, digits and hyphens."))
        if key in services:
            _fail(path, line, "key", _("“%(key)s” appears twice.") % {"key": key})
        services[key] = _translated(path, line, row, "name", required=True)
    return services


def _reference_row(path: Path, line: int, row: dict, known: set[str]) -> dict:
    if row["comparable"] not in known:
        _fail(
            path,
            line,
            "comparable",
            _("no comparable service has the key “%(key)s”.") % {"key": row["comparable"]},
        )
    country = row["country"].upper()
    if len(country) != 2 or not country.isascii() or not country.isalpha():
        _fail(path, line, "country", _("give the two-letter ISO 3166-1 code, e.g. US or GB."))
    try:
        amount = Decimal(row["amount"])
    except InvalidOperation:
        amount = Decimal(-1)
    if not amount.is_finite() or amount <= 0 or amount != amount.quantize(Decimal("0.01")):
        _fail(path, line, "amount", _("an amount above zero with at most two decimals."))
    try:
        currency = normalise_currency(row["currency"])
    except InvalidInput as exc:
        _fail(path, line, "currency", str(exc.message))
    year = int(row["year"]) if row["year"].isdigit() else 0
    if not 1900 <= year <= clock.today().year:
        _fail(path, line, "year", _("a year from 1900 to this year."))
    if not row["source"]:
        _fail(path, line, "source", _("every figure names its source."))
    if len(row["source"]) > ReferencePrice._meta.get_field("source").max_length:
        _fail(path, line, "source", _("a source of at most 300 characters."))
    if row["source_url"]:
        try:
            URLValidator(schemes=["https", "http"])(row["source_url"])
        except ValidationError:
            _fail(path, line, "source_url", _("not a web address."))
    return {
        "comparable": row["comparable"],
        "country": country,
        "year": year,
        "amount": amount.quantize(Decimal("0.01")),
        "currency": currency,
        "source": row["source"],
        "source_url": row["source_url"],
        "note": _translated(path, line, row, "note", required=False),
    }


def read_reference_prices(path: Path = REFERENCES_FILE, *, services: dict[str, dict]) -> list[dict]:
    """The shipped reference prices, every row checked; a service key must be shipped or already known."""
    known = set(services) | set(ComparableService.objects.values_list("key", flat=True))
    rows, seen = [], set()
    for line, row in _read(path, REFERENCE_COLUMNS):
        reference = _reference_row(path, line, row, known)
        identity = (reference["comparable"], reference["country"], reference["year"])
        if identity in seen:
            _fail(path, line, "year", _("this service, country and year appear twice."))
        seen.add(identity)
        rows.append(reference)
    return rows


def _load_services(shipped: dict[str, dict], summary: LoadSummary, overwrite: bool) -> dict[str, ComparableService]:
    existing = {service.key: service for service in ComparableService.objects.filter(key__in=shipped)}
    for key, name in shipped.items():
        service = existing.get(key)
        if service is None:
            existing[key] = ComparableService.objects.create(key=key, name=name)
            summary.services_created += 1
        elif service.name == name:
            summary.services_unchanged += 1
        elif overwrite:
            service.name = name
            service.save(update_fields=["name"])
            summary.services_updated += 1
        else:
            summary.services_unchanged += 1
            summary.kept.append(_("Service %(key)s: its name differs from the shipped data; kept.") % {"key": key})
    return existing


def _differences(reference: ReferencePrice, shipped: dict) -> list[str]:
    return [name for name in REFERENCE_FIELDS if getattr(reference, name) != shipped[name]]


def _load_references(
    shipped: list[dict], services: dict[str, ComparableService], summary: LoadSummary, overwrite: bool
) -> None:
    existing = {
        (ref.comparable.key, ref.country, ref.year): ref
        for ref in ReferencePrice.objects.select_related("comparable").filter(
            comparable__key__in={row["comparable"] for row in shipped}
        )
    }
    for row in shipped:
        values = {name: row[name] for name in REFERENCE_FIELDS}
        reference = existing.get((row["comparable"], row["country"], row["year"]))
        if reference is None:
            comparable = services.get(row["comparable"]) or ComparableService.objects.get(key=row["comparable"])
            ReferencePrice.objects.create(comparable=comparable, country=row["country"], year=row["year"], **values)
            summary.references_created += 1
            continue
        changed = _differences(reference, values)
        if not changed:
            summary.references_unchanged += 1
        elif overwrite:
            for name in changed:
                setattr(reference, name, values[name])
            reference.save(update_fields=changed)
            summary.references_updated += 1
        else:
            summary.references_unchanged += 1
            summary.kept.append(
                _("Reference %(key)s %(country)s %(year)s: %(fields)s differ from the shipped data; kept.")
                % {
                    "key": row["comparable"],
                    "country": row["country"],
                    "year": row["year"],
                    "fields": ", ".join(changed),
                }
            )


def load_reference_data(
    actor=None,
    *,
    overwrite: bool = False,
    services_file: Path = SERVICES_FILE,
    references_file: Path = REFERENCES_FILE,
) -> LoadSummary:
    """Add the shipped comparable services and reference prices; edited rows are kept unless `overwrite`.

    `actor` None is the command line or the demo loader acting as the system; a signed-in actor must
    be a platform admin. Every row of both files is checked before anything is written.
    """
    if actor is not None:
        require_role(actor, (Role.PLATFORM_ADMIN,))
    services = read_comparable_services(services_file)
    references = read_reference_prices(references_file, services=services)
    summary = LoadSummary()
    with transaction.atomic():
        loaded = _load_services(services, summary, overwrite)
        _load_references(references, loaded, summary, overwrite)
        if summary.changed:
            record_event(
                actor,
                "catalog.reference_data.load",
                None,
                detail={
                    "services_created": summary.services_created,
                    "services_updated": summary.services_updated,
                    "references_created": summary.references_created,
                    "references_updated": summary.references_updated,
                    "kept": len(summary.kept),
                },
            )
    return summary
