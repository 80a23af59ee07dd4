"""The entry rules shipped as data (travel/data/*.csv) and their loader.

entry_schemes.csv holds the schemes (names, conditions, longest stay, whether medical treatment is a
listed purpose, the source); scheme_countries.csv holds which nationality is on which scheme, from
which date until which date, and the source that says so. `load_entry_rules()` checks every row of
both files before it writes anything, then adds what the tables lack, in one transaction. A row the
platform admin has edited since is kept and reported, never overwritten silently, unless
`overwrite=True` (`laihua entry_rules load --overwrite`). The first migration of the data runs the
same code on the historical models.
"""

import datetime
import re
from dataclasses import dataclass, field
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils.translation import gettext as _
from django_countries import countries as country_names

from laihua.kit.csvdata import fail as _fail
from laihua.kit.csvdata import read_rows as _read
from laihua.kit.csvdata import translated as _translated

DATA_DIR = Path(__file__).resolve().parent / "data"
SCHEMES_FILE = DATA_DIR / "entry_schemes.csv"
COUNTRIES_FILE = DATA_DIR / "scheme_countries.csv"
EXTENSIONS_FILE = DATA_DIR / "stay_extensions.csv"

SCHEME_COLUMNS = (
    "code",
    "order",
    "name_en",
    "name_zh-hans",
    "max_stay_days",
    "medical_purpose",
    "onward_ticket_required",
    "all_nationalities",
    "only_in_cities",
    "source_title",
    "source_url",
)
COUNTRY_COLUMNS = ("scheme", "country", "valid_from", "valid_until", "source_title", "source_url")
SCHEME_FIELDS = (
    "order",
    "name",
    "notes",
    "conditions",
    "max_stay_days",
    "medical_purpose",
    "onward_ticket_required",
    "all_nationalities",
    "only_in_cities",
    "source_title",
    "source_url",
)
COUNTRY_FIELDS = ("valid_until", "source_title", "source_url", "note")
EXTENSION_COLUMNS = ("scheme", "valid_from", "valid_until", "apply_days_before", "processing_days", "source_title")
EXTENSION_FIELDS = (
    "valid_until",
    "how",
    "where",
    "apply_days_before",
    "processing_days",
    "longest",
    "note",
    "source_title",
    "source_url",
)
CODE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
CITY_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]*$")
YES = {"yes", "true", "1", "y"}
NO = {"no", "false", "0", "n", ""}
MAX_TEXT = 300
MAX_URL = 500


@dataclass
class LoadSummary:
    schemes_created: int = 0
    schemes_updated: int = 0
    schemes_unchanged: int = 0
    countries_created: int = 0
    countries_updated: int = 0
    countries_unchanged: int = 0
    extensions_created: int = 0
    extensions_updated: int = 0
    extensions_unchanged: int = 0
    kept: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(
            self.schemes_created
            or self.schemes_updated
            or self.countries_created
            or self.countries_updated
            or self.extensions_created
            or self.extensions_updated
        )


def _flag(path: Path, line: int, row: dict, column: str) -> bool:
    value = row.get(column, "").lower()
    if value in YES:
        return True
    if value in NO:
        return False
    _fail(path, line, column, _("write yes or no."))


def _url(path: Path, line: int, row: dict, column: str) -> str:
    value = row.get(column, "")
    if value:
        if len(value) > MAX_URL:
            _fail(path, line, column, _("a web address of at most 500 characters."))
        try:
            URLValidator(schemes=["https", "http"])(value)
        except ValidationError:
            _fail(path, line, column, _("not a web address."))
    return value


def _source(path: Path, line: int, row: dict, *, required: bool) -> str:
    title = row.get("source_title", "")
    if required and not title:
        _fail(path, line, "source_title", _("every entry names its source."))
    if len(title) > MAX_TEXT:
        _fail(path, line, "source_title", _("a source of at most 300 characters."))
    return title


def _date(path: Path, line: int, row: dict, column: str, *, required: bool) -> datetime.date | None:
    value = row.get(column, "")
    if not value:
        if required:
            _fail(path, line, column, _("a date is required (YYYY-MM-DD)."))
        return None
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        _fail(path, line, column, _("“%(value)s” is not a date in the form YYYY-MM-DD.") % {"value": value})


def _scheme_row(path: Path, line: int, row: dict) -> dict:
    code = row["code"]
    if not CODE_PATTERN.match(code):
        _fail(path, line, "code", _("a code is lower-case letters, digits, hyphens and underscores."))
    order = row["order"] or "100"
    if not order.isdigit() or int(order) > 32767:
        _fail(path, line, "order", _("a whole number from 0 to 32767."))
    max_stay = row["max_stay_days"]
    if max_stay and (not max_stay.isdigit() or not 1 <= int(max_stay) <= 3650):
        _fail(path, line, "max_stay_days", _("a number of days from 1 to 3650, or empty."))
    cities = row["only_in_cities"].split()
    for city in cities:
        if not CITY_PATTERN.match(city):
            _fail(path, line, "only_in_cities", _("city slugs separated by spaces, e.g. haikou sanya."))
    return {
        "code": code,
        "order": int(order),
        "name": _translated(path, line, row, "name", required=True),
        "notes": _translated(path, line, row, "notes", required=False),
        "conditions": _translated(path, line, row, "conditions", required=False),
        "max_stay_days": int(max_stay) if max_stay else None,
        "medical_purpose": _flag(path, line, row, "medical_purpose"),
        "onward_ticket_required": _flag(path, line, row, "onward_ticket_required"),
        "all_nationalities": _flag(path, line, row, "all_nationalities"),
        "only_in_cities": cities,
        "source_title": _source(path, line, row, required=True),
        "source_url": _url(path, line, row, "source_url"),
    }


def read_schemes(path: Path = SCHEMES_FILE) -> dict[str, dict]:
    """The schemes of a file, {code: values}, every row checked."""
    schemes: dict[str, dict] = {}
    for line, row in _read(path, SCHEME_COLUMNS):
        scheme = _scheme_row(path, line, row)
        if scheme["code"] in schemes:
            _fail(path, line, "code", _("“%(code)s” appears twice.") % {"code": scheme["code"]})
        schemes[scheme["code"]] = scheme
    return schemes


def _country_row(path: Path, line: int, row: dict, known: set[str]) -> dict:
    if row["scheme"] not in known:
        _fail(path, line, "scheme", _("no entry scheme has the code “%(code)s”.") % {"code": row["scheme"]})
    country = row["country"].upper()
    if len(country) != 2 or country not in dict(country_names):
        _fail(path, line, "country", _("give the two-letter ISO 3166-1 code, e.g. FR or GB."))
    valid_from = _date(path, line, row, "valid_from", required=True)
    valid_until = _date(path, line, row, "valid_until", required=False)
    if valid_until is not None and valid_until < valid_from:
        _fail(path, line, "valid_until", _("the last date comes before the first."))
    return {
        "scheme": row["scheme"],
        "country": country,
        "valid_from": valid_from,
        "valid_until": valid_until,
        "source_title": _source(path, line, row, required=True),
        "source_url": _url(path, line, row, "source_url"),
        "note": _translated(path, line, row, "note", required=False),
    }


def _overlaps(a: dict, b: dict) -> bool:
    far = datetime.date.max
    return a["valid_from"] <= (b["valid_until"] or far) and b["valid_from"] <= (a["valid_until"] or far)


def read_countries(path: Path = COUNTRIES_FILE, *, known_schemes: set[str]) -> list[dict]:
    """The countries of a file, every row checked; one country's periods on one scheme never overlap."""
    rows: list[dict] = []
    for line, row in _read(path, COUNTRY_COLUMNS):
        entry = _country_row(path, line, row, known_schemes)
        for earlier in rows:
            if (earlier["scheme"], earlier["country"]) == (entry["scheme"], entry["country"]) and _overlaps(
                earlier, entry
            ):
                _fail(
                    path,
                    line,
                    "valid_from",
                    _("%(country)s is already on %(scheme)s for some of these dates.")
                    % {"country": entry["country"], "scheme": entry["scheme"]},
                )
        rows.append(entry)
    return rows


def _days(path: Path, line: int, row: dict, column: str) -> int | None:
    value = row.get(column, "")
    if not value:
        return None
    if not value.isdigit() or not 0 <= int(value) <= 365:
        _fail(path, line, column, _("a number of days from 0 to 365, or empty."))
    return int(value)


def read_extensions(path: Path = EXTENSIONS_FILE, *, known_schemes: set[str]) -> list[dict]:
    """How each scheme's stay is extended in China, for which period, from which source; every row checked."""
    rows: list[dict] = []
    for line, row in _read(path, EXTENSION_COLUMNS):
        if row["scheme"] not in known_schemes:
            _fail(path, line, "scheme", _("no entry scheme has the code “%(code)s”.") % {"code": row["scheme"]})
        valid_from = _date(path, line, row, "valid_from", required=True)
        valid_until = _date(path, line, row, "valid_until", required=False)
        if valid_until is not None and valid_until < valid_from:
            _fail(path, line, "valid_until", _("the last date comes before the first."))
        entry = {
            "scheme": row["scheme"],
            "valid_from": valid_from,
            "valid_until": valid_until,
            "how": _translated(path, line, row, "how", required=True),
            "where": _translated(path, line, row, "where", required=True),
            "apply_days_before": _days(path, line, row, "apply_days_before"),
            "processing_days": _days(path, line, row, "processing_days"),
            "longest": _translated(path, line, row, "longest", required=False),
            "note": _translated(path, line, row, "note", required=False),
            "source_title": _source(path, line, row, required=True),
            "source_url": _url(path, line, row, "source_url"),
        }
        for earlier in rows:
            if earlier["scheme"] == entry["scheme"] and _overlaps(earlier, entry):
                _fail(
                    path,
                    line,
                    "valid_from",
                    _("%(scheme)s already has a way to extend the stay for some of these dates.")
                    % {"scheme": entry["scheme"]},
                )
        rows.append(entry)
    return rows


def write_extensions(scheme_model, extension_model, rows: list[dict], summary, *, overwrite: bool) -> None:
    """Add the ways to extend a stay the table lacks (model classes passed in: migrations use theirs)."""
    schemes = {scheme.code: scheme for scheme in scheme_model.objects.all()}
    current = {
        (entry.scheme.code, entry.valid_from): entry for entry in extension_model.objects.select_related("scheme")
    }
    for row in rows:
        values = {name: row[name] for name in EXTENSION_FIELDS}
        entry = current.get((row["scheme"], row["valid_from"]))
        if entry is None:
            extension_model.objects.create(scheme=schemes[row["scheme"]], valid_from=row["valid_from"], **values)
            summary.extensions_created += 1
            continue
        changed = [name for name in EXTENSION_FIELDS if getattr(entry, name) != values[name]]
        if changed and overwrite:
            for name in changed:
                setattr(entry, name, values[name])
            entry.save()
            summary.extensions_updated += 1
            continue
        summary.extensions_unchanged += 1
        if changed:
            summary.kept.append(
                _("Extension of %(scheme)s from %(date)s: %(fields)s differ from the shipped data; kept.")
                % {"scheme": row["scheme"], "date": row["valid_from"].isoformat(), "fields": ", ".join(changed)}
            )


def _overlapping(entries, row: dict) -> bool:
    return any(
        (entry.scheme.code, entry.country.code) == (row["scheme"], row["country"])
        and _overlaps({"valid_from": entry.valid_from, "valid_until": entry.valid_until}, row)
        for entry in entries
    )


def write_rules(scheme_model, country_model, schemes: dict[str, dict], rows: list[dict], *, overwrite: bool):
    """Add the checked schemes and countries the tables lack (model classes passed in: migrations use theirs)."""
    summary = LoadSummary()
    existing = {scheme.code: scheme for scheme in scheme_model.objects.all()}
    for code, values in schemes.items():
        scheme = existing.get(code)
        if scheme is None:
            existing[code] = scheme_model.objects.create(code=code, **{name: values[name] for name in SCHEME_FIELDS})
            summary.schemes_created += 1
            continue
        changed = [name for name in SCHEME_FIELDS if getattr(scheme, name) != values[name]]
        if changed and overwrite:
            for name in changed:
                setattr(scheme, name, values[name])
            scheme.save()
            summary.schemes_updated += 1
        else:
            summary.schemes_unchanged += 1
            if changed:
                summary.kept.append(
                    _("Scheme %(code)s: %(fields)s differ from the shipped data; kept.")
                    % {"code": code, "fields": ", ".join(changed)}
                )
    current = {
        (entry.scheme.code, entry.country.code, entry.valid_from): entry
        for entry in country_model.objects.select_related("scheme")
    }
    for row in rows:
        values = {name: row[name] for name in COUNTRY_FIELDS}
        entry = current.get((row["scheme"], row["country"], row["valid_from"]))
        if entry is None and _overlapping(current.values(), row):
            summary.countries_unchanged += 1
            summary.kept.append(
                _("%(scheme)s %(country)s from %(date)s: the table already covers some of these dates; kept.")
                % {"scheme": row["scheme"], "country": row["country"], "date": row["valid_from"].isoformat()}
            )
            continue
        if entry is None:
            country_model.objects.create(
                scheme=existing[row["scheme"]], country=row["country"], valid_from=row["valid_from"], **values
            )
            summary.countries_created += 1
            continue
        changed = [name for name in COUNTRY_FIELDS if getattr(entry, name) != values[name]]
        if changed and overwrite:
            for name in changed:
                setattr(entry, name, values[name])
            entry.save()
            summary.countries_updated += 1
        else:
            summary.countries_unchanged += 1
            if changed:
                summary.kept.append(
                    _("%(scheme)s %(country)s from %(date)s: %(fields)s differ from the shipped data; kept.")
                    % {
                        "scheme": row["scheme"],
                        "country": row["country"],
                        "date": row["valid_from"].isoformat(),
                        "fields": ", ".join(changed),
                    }
                )
    return summary


def load_entry_rules(
    actor=None,
    *,
    overwrite: bool = False,
    schemes_file: Path = SCHEMES_FILE,
    countries_file: Path = COUNTRIES_FILE,
    extensions_file: Path | None = None,
) -> LoadSummary:
    """Check both files, then add the schemes and countries the tables lack, in one transaction.

    `actor` None is the command line acting as the system; a signed-in actor must be a platform admin.
    """
    from laihua.accounts.models import Role
    from laihua.accounts.permissions import require_role
    from laihua.audit.services import record_event
    from laihua.travel.models import EntryScheme, SchemeCountry, StayExtension

    if actor is not None:
        require_role(actor, (Role.PLATFORM_ADMIN,))
    schemes = read_schemes(schemes_file) if schemes_file else {}
    known = set(schemes) | set(EntryScheme.objects.values_list("code", flat=True))
    rows = read_countries(countries_file, known_schemes=known)
    extensions = read_extensions(extensions_file, known_schemes=known) if extensions_file else []
    with transaction.atomic():
        summary = write_rules(EntryScheme, SchemeCountry, schemes, rows, overwrite=overwrite)
        write_extensions(EntryScheme, StayExtension, extensions, summary, overwrite=overwrite)
        if summary.changed:
            record_event(
                actor,
                "travel.entry_rules.load",
                None,
                detail={
                    "schemes_created": summary.schemes_created,
                    "schemes_updated": summary.schemes_updated,
                    "countries_created": summary.countries_created,
                    "countries_updated": summary.countries_updated,
                    "extensions_created": summary.extensions_created,
                    "extensions_updated": summary.extensions_updated,
                    "kept": len(summary.kept),
                },
            )
    return summary
