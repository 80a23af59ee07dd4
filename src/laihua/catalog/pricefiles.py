"""Machine-readable price files: a hospital's published catalog in the CMS hospital price transparency
format 3.0.0 (JSON and tall CSV), and the reading of that CSV layout for the importer.

One row model, `PriceRow`, is what the files are written from and what the importer reads them into.
The layout (columns, code types, settings, where the Chinese texts go) is documented in docs/price-files.md.
"""

import csv
import datetime
import hashlib
import io
import json
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from pathlib import Path

from django.db.models import Prefetch
from django.http import HttpResponse, JsonResponse
from django.utils import timezone, translation
from django.utils.cache import get_conditional_response, patch_cache_control
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from laihua.catalog.models import CatalogItem, Kind, PackageComponent
from laihua.catalog.services import check_standard_codes, published
from laihua.errors import DomainError, InvalidInput, NotFound
from laihua.hospitals.models import Hospital
from laihua.hospitals.services import public_hospital
from laihua.kit import clock
from laihua.kit.i18n import pick
from laihua.kit.money import parse_amount

CMS_VERSION = "3.0.0"
CURRENCY = "CNY"
SCHEMA_PATH = Path(__file__).parent / "data" / "cms-hpt-v3.0.0-schema.json"

# The CMS schema requires a US licensing state and type 2 NPIs, neither of which a Chinese hospital has.
# The files carry these stand-ins so that they validate, confirm_attestation is false, and the
# publisher_statement in every file says so (docs/price-files.md, "Fields the US format requires").
LICENSE_STATE_STANDIN = "DC"


def npi_standin(hospital: Hospital) -> str:
    return f"laihua:{hospital.slug}"


@cache
def cms_schema() -> dict:
    """The CMS v3.0.0 JSON schema shipped with the application (source noted in data/README.md)."""
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def cms_attestation_text() -> str:
    return cms_schema()["definitions"]["attestation"]["properties"]["attestation"]["const"]


def cms_code_types() -> frozenset[str]:
    return frozenset(cms_schema()["definitions"]["code_information"]["properties"]["type"]["enum"])


# Standard code systems kept under a broader CMS code type. Systems that are CMS code types themselves
# (CPT, HCPCS, ICD, DRG, ...) keep their name; any other system has no CMS code type and appears only
# in the standard_codes element, where every standard code keeps its exact system.
CODE_TYPE_ALIASES = {
    "ICD-9-CM": "ICD",
    "ICD-9-CM-3": "ICD",
    "ICD-10": "ICD",
    "ICD-10-CM": "ICD",
    "ICD-10-PCS": "ICD",
    "ICD-11": "ICD",
    "CHS-DRG": "DRG",
    "C-DRG": "DRG",
}
# NDC codes need drug_information (unit and type of measurement) that the catalog does not hold.
CODE_TYPES_NOT_LISTED = frozenset({"NDC"})


def cms_code_type(system: str) -> str | None:
    """The CMS code type a standard code is listed under, or None when the format has none for it."""
    key = (system or "").strip().upper()
    if key in CODE_TYPES_NOT_LISTED:
        return None
    if key in cms_code_types():
        return key
    return CODE_TYPE_ALIASES.get(key)


def setting_for(kind: str, stay_days: int | None) -> str:
    """The CMS setting (outpatient, inpatient or both), by the kind of service and whether it has a stay."""
    if kind == Kind.INPATIENT_DAY:
        return "inpatient"
    if kind in (Kind.PROCEDURE, Kind.PACKAGE) and stay_days:
        return "inpatient"
    if kind == Kind.PROCEDURE:
        return "both"
    return "outpatient"


@dataclass
class PriceRow:
    """One published catalog item with the price in force: a row of the CSV, an entry of the JSON."""

    code: str
    kind: str
    name: dict[str, str]
    amount_min: Decimal
    amount_max: Decimal
    department: str = ""
    details: dict[str, str] = field(default_factory=dict)
    included: dict[str, str] = field(default_factory=dict)
    excluded: dict[str, str] = field(default_factory=dict)
    keywords: str = ""
    comparable: str = ""
    waiting_days: int = 0
    duration_minutes: int | None = None
    stay_days: int | None = None
    standard_codes: list[dict[str, str]] = field(default_factory=list)
    # A package's services as (code, quantity) by code; None when a file read has no such column.
    components: list[tuple[str, int]] | None = field(default_factory=list)

    @classmethod
    def from_item(cls, item: CatalogItem) -> "PriceRow":
        """From an item annotated with its price in force (services.published)."""
        return cls(
            code=item.code,
            kind=item.kind,
            name=dict(item.name or {}),
            amount_min=item.price_min,
            amount_max=item.price_max,
            department=item.department.code if item.department_id else "",
            details=dict(item.description or {}),
            included=dict(item.included or {}),
            excluded=dict(item.excluded or {}),
            keywords=item.keywords,
            comparable=item.comparable.key if item.comparable_id else "",
            waiting_days=item.waiting_days,
            duration_minutes=item.duration_minutes,
            stay_days=item.stay_days,
            standard_codes=[
                {"system": str(c["system"]).strip(), "code": str(c["code"]).strip()}
                for c in item.standard_codes or []
                if str(c.get("system") or "").strip() and str(c.get("code") or "").strip()
            ],
            components=sorted((c.item.code, c.quantity) for c in item.components.all()),
        )

    @property
    def is_range(self) -> bool:
        return self.amount_max != self.amount_min

    @property
    def setting(self) -> str:
        return setting_for(self.kind, self.stay_days)

    def cms_codes(self) -> list[tuple[str, str]]:
        """(code, CMS type) pairs: the hospital's own code as LOCAL, then the standard codes that map."""
        codes = [(self.code, "LOCAL")]
        for entry in self.standard_codes:
            code_type = cms_code_type(entry["system"])
            if code_type and (entry["code"], code_type) not in codes:
                codes.append((entry["code"], code_type))
        return codes

    def extension(self) -> dict:
        """Laihua's own data elements, under the same names in the JSON and the CSV."""
        return {
            "description_zh_hans": self.name.get("zh-hans", ""),
            "kind": self.kind,
            "department": self.department,
            "details_en": self.details.get("en", ""),
            "details_zh_hans": self.details.get("zh-hans", ""),
            "included_en": self.included.get("en", ""),
            "included_zh_hans": self.included.get("zh-hans", ""),
            "excluded_en": self.excluded.get("en", ""),
            "excluded_zh_hans": self.excluded.get("zh-hans", ""),
            "keywords": self.keywords,
            "comparable": self.comparable,
            "waiting_days": self.waiting_days,
            "duration_minutes": self.duration_minutes,
            "stay_days": self.stay_days,
            "standard_codes": [dict(c) for c in self.standard_codes],
            "package_components": [{"code": code, "quantity": quantity} for code, quantity in self.components or []],
        }


@dataclass
class PriceFile:
    """A hospital's published catalog as of a date: what both file formats are written from."""

    hospital: Hospital
    last_updated_on: datetime.date
    rows: list[PriceRow]

    @property
    def hospital_name(self) -> str:
        return pick(self.hospital.name, "en")

    @property
    def hospital_address(self) -> str:
        address, city = pick(self.hospital.address, "en"), pick(self.hospital.city.name, "en")
        return address if not city or city in address else f"{address}, {city}"

    @property
    def hospital_address_zh(self) -> str:
        address, city = self.hospital.address.get("zh-hans", ""), self.hospital.city.name.get("zh-hans", "")
        return address if not city or city in address else f"{city}{address}"

    def statement(self) -> str:
        """What the file is, in English and Chinese: the publisher's own attestation."""
        values = {"hospital": self.hospital_name, "date": self.last_updated_on.isoformat()}
        return _bilingual(lambda: _statement_text() % values)

    def etag(self, body: bytes) -> str:
        return f'"{hashlib.sha256(body).hexdigest()[:32]}"'


def _statement_text() -> str:
    return _(
        "%(hospital)s publishes in this file every service and package of its international catalog with "
        "the price in force as of %(date)s: gross charges in Chinese yuan (CNY) for self-paying patients, a "
        "fixed price or a range (minimum and maximum). Earlier prices are not listed. The file is laid out "
        "in the CMS hospital price transparency format 3.0.0 but is not a filing under US law "
        "(45 CFR 180.50): the US attestation is not confirmed, and license_information and type_2_npi hold "
        "stand-ins the format requires, not a US licence or NPI."
    )


def _bilingual(render) -> str:
    """A text rendered in English and in Simplified Chinese, joined when the two differ."""
    texts = []
    for language in ("en", "zh-hans"):
        with translation.override(language):
            text = str(render())
        if text not in texts:
            texts.append(text)
    return " / ".join(texts)


def price_file(hospital: Hospital, day: datetime.date | None = None) -> PriceFile:
    """The hospital's active items with the price in force on the day (today by default), by code."""
    day = day or clock.today()
    components = Prefetch("components", queryset=PackageComponent.objects.select_related("item"))
    items = list(
        published(day)
        .filter(hospital=hospital)
        .select_related("comparable")
        .prefetch_related(components)
        .order_by("code")
    )
    dates = [timezone.localtime(hospital.created_at).date()]
    dates += [item.price_from for item in items]
    dates += [timezone.localtime(item.updated_at).date() for item in items]
    last_updated = min(max(dates), day)
    return PriceFile(hospital=hospital, last_updated_on=last_updated, rows=[PriceRow.from_item(i) for i in items])


# JSON


def _charge(row: PriceRow) -> dict:
    charge: dict = {"setting": row.setting}
    if row.is_range:
        if row.amount_min > 0:
            charge["minimum"] = row.amount_min
        charge["maximum"] = row.amount_max
        charge["gross_charge"] = row.amount_max
    elif row.amount_min > 0:
        charge["gross_charge"] = row.amount_min
    else:
        # The format has no zero charge: a free item is stated as a self-pay "algorithm" that says so.
        charge["payers_information"] = [
            {
                "payer_name": "Self-pay",
                "plan_name": "International patients",
                "methodology": "other",
                "standard_charge_algorithm": "No charge",
                "count": "0",
                "additional_payer_notes": _bilingual(lambda: _("This item is free of charge.")),
            }
        ]
    charge["additional_generic_notes"] = _notes(row)
    return charge


def _notes(row: PriceRow) -> str:
    def render():
        parts = [_("Amounts in Chinese yuan (CNY).")]
        if row.name.get("zh-hans"):
            parts.append(_("Chinese name: %(name)s.") % {"name": row.name["zh-hans"]})
        if row.is_range:
            parts.append(
                _(
                    "The charge lies between %(min)s and %(max)s CNY depending on the case; the gross charge "
                    "given is the upper end."
                )
                % {"min": f"{row.amount_min:,.2f}", "max": f"{row.amount_max:,.2f}"}
            )
        return " ".join(parts)

    return _bilingual(render)


def _charge_information(row: PriceRow) -> dict:
    entry = {
        "description": row.name.get("en") or pick(row.name, "en"),
        "code_information": [{"code": code, "type": code_type} for code, code_type in row.cms_codes()],
        "standard_charges": [_charge(row)],
    }
    entry.update(row.extension())
    return entry


def json_document(pricefile: PriceFile) -> dict:
    """The CMS v3.0.0 JSON document (amounts as Decimal); valid against the schema when it lists any item."""
    return {
        "hospital_name": pricefile.hospital_name,
        "last_updated_on": pricefile.last_updated_on.isoformat(),
        "version": CMS_VERSION,
        "location_name": [pricefile.hospital_name],
        "hospital_address": [pricefile.hospital_address],
        "license_information": {"state": LICENSE_STATE_STANDIN},
        "type_2_npi": [npi_standin(pricefile.hospital)],
        "attestation": {
            "attestation": cms_attestation_text(),
            "confirm_attestation": False,
            "attester_name": pricefile.hospital_name,
        },
        "hospital_name_zh_hans": pricefile.hospital.name.get("zh-hans", ""),
        "hospital_address_zh_hans": pricefile.hospital_address_zh,
        "currency": CURRENCY,
        "publisher_statement": pricefile.statement(),
        "standard_charge_information": [_charge_information(row) for row in pricefile.rows],
    }


def _json_default(value):
    if isinstance(value, Decimal):
        # JSON has no decimal type. Amounts have at most 12 digits and 2 decimals, which a float's
        # shortest repr writes back exactly, so the text in the file is the exact amount.
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def json_text(pricefile: PriceFile) -> str:
    return json.dumps(json_document(pricefile), default=_json_default, ensure_ascii=False, indent=2) + "\n"


def schema_errors(document: dict) -> list[str]:
    """Every way the document departs from the shipped CMS v3.0.0 schema (empty when valid)."""
    from jsonschema import Draft7Validator, FormatChecker

    validator = Draft7Validator(cms_schema(), format_checker=FormatChecker())
    return [
        f"{'/'.join(str(p) for p in error.absolute_path) or '(document)'}: {error.message}"
        for error in sorted(validator.iter_errors(document), key=lambda e: list(map(str, e.absolute_path)))
    ]


# CSV: the tall layout. Headers are written as in the CMS example ("standard_charge | gross") and
# read without regard to case or to spaces around the pipes.

GENERAL_EXTRA_COLUMNS = [
    "hospital_name_zh_hans",
    "hospital_address_zh_hans",
    "currency",
    "publisher_statement",
]
CHARGE_COLUMNS = [
    "setting",
    "drug_unit_of_measurement",
    "drug_type_of_measurement",
    "standard_charge | gross",
    "standard_charge | discounted_cash",
    "payer_name",
    "plan_name",
    "modifiers",
    "standard_charge | negotiated_dollar",
    "standard_charge | negotiated_percentage",
    "standard_charge | negotiated_algorithm",
    "median_amount",
    "10th_percentile",
    "90th_percentile",
    "count",
    "standard_charge | min",
    "standard_charge | max",
    "standard_charge | methodology",
    "additional_generic_notes",
]
# CMS columns for payer-specific charges, cash discounts, modifiers and drugs: Laihua publishes gross
# charges only, so an import refuses a value in any of them rather than drop it unseen.
NOT_IMPORTED_COLUMNS = [
    "drug_unit_of_measurement",
    "drug_type_of_measurement",
    "standard_charge | discounted_cash",
    "payer_name",
    "plan_name",
    "modifiers",
    "standard_charge | negotiated_dollar",
    "standard_charge | negotiated_percentage",
    "standard_charge | negotiated_algorithm",
    "median_amount",
    "10th_percentile",
    "90th_percentile",
    "count",
    "standard_charge | methodology",
]
EXTRA_COLUMNS = list(PriceRow("", "", {}, Decimal(0), Decimal(0)).extension())
GROSS, MIN, MAX = "standard_charge | gross", "standard_charge | min", "standard_charge | max"
COMPONENTS = "package_components"
# Files written before packages listed their services have no package_components column: their
# packages keep the services they list.
OPTIONAL_EXTRA_COLUMNS = (COMPONENTS,)
REQUIRED_ITEM_COLUMNS = [
    "description",
    "code | 1",
    "code | 1 | type",
    "setting",
    GROSS,
    MIN,
    MAX,
    *(column for column in EXTRA_COLUMNS if column not in OPTIONAL_EXTRA_COLUMNS),
]
SETTINGS = ("inpatient", "outpatient", "both")
DATA_START_ROW = 4


def column_key(header: str) -> str:
    return " | ".join(part.strip() for part in (header or "").split("|")).strip().lower()


def _amount_text(value: Decimal) -> str:
    return f"{value:.2f}"


def _csv_cells(row: PriceRow, code_columns: int) -> list[str]:
    codes = row.cms_codes()
    cells = [row.name.get("en") or pick(row.name, "en")]
    for index in range(code_columns):
        cells += list(codes[index]) if index < len(codes) else ["", ""]
    charges = dict.fromkeys(CHARGE_COLUMNS, "")
    charges["setting"] = row.setting
    charges[GROSS] = _amount_text(row.amount_max)
    if row.is_range:
        charges[MIN], charges[MAX] = _amount_text(row.amount_min), _amount_text(row.amount_max)
    charges["additional_generic_notes"] = _notes(row)
    cells += list(charges.values())
    for name, value in row.extension().items():
        if name == "standard_codes":
            value = " | ".join(f"{c['system']}:{c['code']}" for c in value)
        elif name == COMPONENTS:
            value = ";".join(f"{c['code']}*{c['quantity']}" for c in value)
        cells.append("" if value is None else str(value))
    return cells


def csv_text(pricefile: PriceFile) -> str:
    """The tall CSV: general data (rows 1-2), column headers (row 3), then one row per item."""
    code_columns = max([len(row.cms_codes()) for row in pricefile.rows] + [1])
    item_header = ["description"]
    for index in range(1, code_columns + 1):
        item_header += [f"code | {index}", f"code | {index} | type"]
    item_header += CHARGE_COLUMNS + EXTRA_COLUMNS
    general_header = [
        "hospital_name",
        "last_updated_on",
        "version",
        "location_name",
        "hospital_address",
        f"license_number|{LICENSE_STATE_STANDIN}",
        "type_2_npi",
        cms_attestation_text(),
        "attester_name",
        *GENERAL_EXTRA_COLUMNS,
    ]
    general_values = [
        pricefile.hospital_name,
        pricefile.last_updated_on.isoformat(),
        CMS_VERSION,
        pricefile.hospital_name,
        pricefile.hospital_address,
        "",
        npi_standin(pricefile.hospital),
        "false",
        pricefile.hospital_name,
        pricefile.hospital.name.get("zh-hans", ""),
        pricefile.hospital_address_zh,
        CURRENCY,
        pricefile.statement(),
    ]
    width = max(len(item_header), len(general_header))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(general_header + [""] * (width - len(general_header)))
    writer.writerow(general_values + [""] * (width - len(general_values)))
    writer.writerow(item_header)
    for row in pricefile.rows:
        writer.writerow(_csv_cells(row, code_columns))
    return out.getvalue()


@dataclass(frozen=True)
class RowError:
    """A problem in one cell of an imported file, named by row (1 = first line) and column."""

    row: int
    column: str
    message: str

    def __str__(self) -> str:
        return _("Row %(row)s, column “%(column)s”: %(message)s") % {
            "row": self.row,
            "column": self.column,
            "message": self.message,
        }


class FileRejected(InvalidInput):
    """A file with bad rows: all of them are listed, and nothing was written."""

    code = "file_rejected"

    def __init__(self, errors: list[RowError]):
        self.errors = sorted(errors, key=lambda e: (e.row, e.column))
        first = self.errors[0]
        super().__init__(str(first), field=first.column)


@dataclass
class ParsedFile:
    """What the CSV says: its date, its rows (by row number) and every problem found in it."""

    last_updated_on: datetime.date | None = None
    rows: list[tuple[int, PriceRow]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    # Every hospital code the file lists, its rows with errors included.
    codes: set[str] = field(default_factory=set)


class _Cells:
    """One CSV record by column key; reading a cell records any problem as a RowError."""

    def __init__(self, number: int, keys: list[str], record: list[str], errors: list[RowError]):
        self.number, self.errors = number, errors
        self.local_code, self.local_column = "", "code | 1"
        self.values = {}
        for key, value in zip(keys, record, strict=False):
            if key and key not in self.values:
                self.values[key] = value.strip()

    def __getitem__(self, key: str) -> str:
        return self.values.get(key, "")

    def error(self, column: str, message: str) -> None:
        self.errors.append(RowError(self.number, column, message))

    def amount(self, column: str) -> Decimal | None:
        raw = self[column]
        if not raw:
            return None
        try:
            value = parse_amount(raw, field=column)
        except DomainError as exc:
            self.error(column, str(exc.message))
            return None
        if value >= Decimal("1e10"):
            self.error(column, _("The amount is too large."))
            return None
        return value

    def whole_number(self, column: str, *, blank=None) -> int | None:
        raw = self[column]
        if not raw:
            return blank
        if not raw.isdigit():
            self.error(column, _("“%(value)s” is not a whole number of zero or more.") % {"value": raw})
            return blank
        return int(raw)


def read_csv(text: str) -> ParsedFile:
    """Read a price file in the tall CSV layout, checking every row; nothing touches the database."""
    parsed = ParsedFile()
    records = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    if len(records) < 3:
        parsed.errors.append(RowError(3, "description", _("The file has no column headers on row 3.")))
        return parsed
    _read_general(records[0], records[1], parsed)
    keys = [column_key(h) for h in records[2]]
    missing = [c for c in REQUIRED_ITEM_COLUMNS if column_key(c) not in keys]
    for column in missing:
        parsed.errors.append(RowError(3, column, _("This column is missing.")))
    if missing:
        return parsed
    first_row_of_code: dict[str, int] = {}
    for number, record in enumerate(records[3:], start=DATA_START_ROW):
        if not any(cell.strip() for cell in record):
            continue
        if len(record) > len(keys) and any(cell.strip() for cell in record[len(keys) :]):
            parsed.errors.append(
                RowError(number, _("after the last column"), _("This row has more cells than there are columns."))
            )
        cells = _Cells(number, keys, record, parsed.errors)
        row = _read_row(cells, keys)
        code = cells.local_code
        if code and code in first_row_of_code:
            parsed.errors.append(
                RowError(
                    number,
                    cells.local_column,
                    _("The code “%(code)s” is already used on row %(row)s.")
                    % {"code": code, "row": first_row_of_code[code]},
                )
            )
            continue
        first_row_of_code.setdefault(code, number)
        if code:
            parsed.codes.add(code)
        if row is not None:
            parsed.rows.append((number, row))
    if not parsed.rows and not parsed.errors:
        parsed.errors.append(RowError(DATA_START_ROW, "description", _("The file lists no items.")))
    return parsed


def _read_general(header: list[str], values: list[str], parsed: ParsedFile) -> None:
    general = {column_key(h): v.strip() for h, v in zip(header, values, strict=False) if h}
    version = general.get("version", "")
    if version.split(".")[0] != CMS_VERSION.split(".")[0]:
        parsed.errors.append(
            RowError(2, "version", _("The layout version must be %(version)s.") % {"version": CMS_VERSION})
        )
    currency = general.get("currency", CURRENCY).upper()
    if currency != CURRENCY:
        parsed.errors.append(
            RowError(2, "currency", _("Prices must be in CNY, not “%(currency)s”.") % {"currency": currency})
        )
    raw_date = general.get("last_updated_on", "")
    if raw_date:
        try:
            parsed.last_updated_on = datetime.date.fromisoformat(raw_date)
        except ValueError:
            parsed.errors.append(
                RowError(
                    2,
                    "last_updated_on",
                    _("“%(value)s” is not a date in the form YYYY-MM-DD.") % {"value": raw_date},
                )
            )


def _code_numbers(keys: list[str]) -> list[int]:
    parts = [key.split(" | ") for key in keys]
    return sorted({int(p[1]) for p in parts if len(p) >= 2 and p[0] == "code" and p[1].isdigit()})


def _read_codes(cells: _Cells, keys: list[str]) -> tuple[str, list[dict[str, str]]]:
    """The LOCAL code (the hospital's own) and the other code columns as standard codes."""
    local, local_column, others = "", "code | 1", []
    for index in _code_numbers(keys):
        code_column, type_column = f"code | {index}", f"code | {index} | type"
        code, code_type = cells[code_column], cells[type_column].upper()
        if not code and not code_type:
            continue
        if not code:
            cells.error(code_column, _("A code type is given without its code."))
        elif not code_type:
            cells.error(type_column, _("A code is given without its type."))
        elif code_type not in cms_code_types():
            cells.error(type_column, _("“%(type)s” is not a code type of the format.") % {"type": code_type})
        elif code_type == "LOCAL" and local:
            cells.error(type_column, _("Give one LOCAL code (the hospital's own) per row."))
        elif code_type == "LOCAL":
            local, local_column = code, code_column
        else:
            others.append({"system": code_type, "code": code})
    if not local:
        cells.error("code | 1 | type", _("Give the hospital's own code, with the code type LOCAL."))
    elif len(local) > CatalogItem._meta.get_field("code").max_length:
        cells.error(local_column, _("The code is too long."))
    cells.local_code, cells.local_column = local, local_column
    return local, others


def _read_standard_codes(cells: _Cells, listed: list[dict[str, str]]) -> list[dict[str, str]]:
    """The standard_codes cell (SYSTEM:code | SYSTEM:code), plus code columns it does not already cover."""
    codes = []
    for part in (p.strip() for p in cells["standard_codes"].split("|")):
        if not part:
            continue
        system, _colon, code = part.partition(":")
        if not system.strip() or not code.strip():
            cells.error("standard_codes", _("“%(value)s” is not of the form SYSTEM:code.") % {"value": part})
            continue
        codes.append({"system": system.strip(), "code": code.strip()})
    covered = {(cms_code_type(c["system"]), c["code"]) for c in codes}
    codes, problems = check_standard_codes(codes + [c for c in listed if (c["system"], c["code"]) not in covered])
    for problem in problems:
        cells.error("standard_codes", problem)
    return codes


def _read_components(cells: _Cells, keys: list[str]) -> list[tuple[str, int]] | None:
    """The package_components cell (CODE*QUANTITY;CODE*QUANTITY, a code alone for one); None without
    the column. Whether the codes exist is checked by the importer, once every row is read."""
    if COMPONENTS not in keys:
        return None
    components = []
    for part in (p.strip() for p in cells[COMPONENTS].split(";")):
        if not part:
            continue
        code, star, quantity = part.rpartition("*")
        if not star:
            code, quantity = part, "1"
        code, quantity = code.strip(), quantity.strip()
        if not code or not quantity.isdigit():
            cells.error(COMPONENTS, _("“%(value)s” is not of the form CODE*QUANTITY.") % {"value": part})
            continue
        components.append((code, int(quantity)))
    return components


def _read_price(cells: _Cells) -> tuple[Decimal, Decimal] | None:
    gross, low, high = cells.amount(GROSS), cells.amount(MIN), cells.amount(MAX)
    bad = any(cells[c] and v is None for c, v in ((GROSS, gross), (MIN, low), (MAX, high)))
    if bad:
        return None
    if (low is None) != (high is None):
        cells.error(MIN if low is None else MAX, _("A price range needs both its minimum and its maximum."))
        return None
    if low is None:
        if gross is None:
            cells.error(GROSS, _("Give a price: the gross charge, or a minimum and a maximum."))
            return None
        return gross, gross
    if low > high:
        cells.error(MIN, _("The minimum is above the maximum."))
        return None
    if gross is not None and gross != high:
        cells.error(GROSS, _("For a price range the gross charge is empty or equal to the maximum."))
        return None
    return low, high


def _texts(cells: _Cells, prefix: str) -> dict[str, str]:
    texts = {"en": cells[f"{prefix}_en"], "zh-hans": cells[f"{prefix}_zh_hans"]}
    return {language: text for language, text in texts.items() if text}


def _read_row(cells: _Cells, keys: list[str]) -> PriceRow | None:
    errors_before = len(cells.errors)
    for column in NOT_IMPORTED_COLUMNS:
        if cells[column_key(column)]:
            cells.error(column, _("Laihua publishes gross charges only: leave this column empty."))
    code, listed = _read_codes(cells, keys)
    name = {"en": cells["description"], "zh-hans": cells["description_zh_hans"]}
    for column, language in (("description", "en"), ("description_zh_hans", "zh-hans")):
        if not name[language]:
            cells.error(column, _("Give the name in this language."))
    if cells["setting"].lower() not in SETTINGS:
        cells.error("setting", _("The setting is one of: %(choices)s.") % {"choices": ", ".join(SETTINGS)})
    if cells["kind"] not in Kind.values:
        cells.error("kind", _("The kind is one of: %(choices)s.") % {"choices": ", ".join(Kind.values)})
    keyword_limit = CatalogItem._meta.get_field("keywords").max_length
    if len(cells["keywords"]) > keyword_limit:
        cells.error("keywords", _("At most %(count)s characters.") % {"count": keyword_limit})
    price = _read_price(cells)
    row = PriceRow(
        code=code,
        kind=cells["kind"],
        name=name,
        amount_min=price[0] if price else Decimal(0),
        amount_max=price[1] if price else Decimal(0),
        department=cells["department"],
        details=_texts(cells, "details"),
        included=_texts(cells, "included"),
        excluded=_texts(cells, "excluded"),
        keywords=cells["keywords"],
        comparable=cells["comparable"],
        waiting_days=cells.whole_number("waiting_days", blank=0),
        duration_minutes=cells.whole_number("duration_minutes"),
        stay_days=cells.whole_number("stay_days"),
        standard_codes=_read_standard_codes(cells, listed),
        components=_read_components(cells, keys),
    )
    return row if len(cells.errors) == errors_before else None


# Views: the stable public addresses /prices/<slug>.json and /prices/<slug>.csv.


def _error_response(error: DomainError) -> JsonResponse:
    return JsonResponse(error.as_dict(), status=error.status, json_dumps_params={"ensure_ascii": False})


def _file_response(request, body: bytes, content_type: str, filename: str, disposition: str, pricefile):
    etag = pricefile.etag(body)
    not_modified = get_conditional_response(request, etag=etag)
    response = not_modified or HttpResponse(body, content_type=content_type)
    response["ETag"] = etag
    response["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    patch_cache_control(response, public=True, max_age=300)
    return response


@require_safe
def price_file_json(request, slug):
    """The hospital's price file as CMS v3.0.0 JSON; no login needed."""
    try:
        pricefile = price_file(public_hospital(slug))
    except NotFound as exc:
        return _error_response(exc)
    if not pricefile.rows:
        return _error_response(NotFound(_("This hospital publishes no prices yet.")))
    body = json_text(pricefile).encode()
    return _file_response(
        request, body, "application/json; charset=utf-8", f"{slug}_standardcharges.json", "inline", pricefile
    )


@require_safe
def price_file_csv(request, slug):
    """The hospital's price file in the CMS v3.0.0 tall CSV layout; no login needed."""
    try:
        pricefile = price_file(public_hospital(slug))
    except NotFound as exc:
        return _error_response(exc)
    body = csv_text(pricefile).encode()
    return _file_response(
        request, body, "text/csv; charset=utf-8", f"{slug}_standardcharges.csv", "attachment", pricefile
    )
