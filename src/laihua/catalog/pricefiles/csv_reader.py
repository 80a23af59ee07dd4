"""Reading a price file in the tall CSV layout for the importer: every row checked, every problem named
by row and column, nothing written to the database."""

import csv
import datetime
import io
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils.translation import gettext as _

from laihua.catalog.models import CatalogItem, Kind
from laihua.catalog.pricefiles.cms import CMS_VERSION, CURRENCY, FREE_CHARGE, cms_code_type, cms_code_types
from laihua.catalog.pricefiles.csv_columns import (
    COMPONENTS,
    DATA_START_ROW,
    FREE_CHARGE_COLUMNS,
    GROSS,
    MAX,
    MIN,
    NOT_IMPORTED_COLUMNS,
    REQUIRED_ITEM_COLUMNS,
    SETTINGS,
    column_key,
)
from laihua.catalog.pricefiles.rows import PriceRow
from laihua.catalog.services import check_standard_codes
from laihua.errors import DomainError, InvalidInput
from laihua.kit.csvdata import from_spreadsheet
from laihua.kit.money import parse_amount


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
    records = [[from_spreadsheet(cell) for cell in record] for record in csv.reader(io.StringIO(text.lstrip("\ufeff")))]
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


def _states_free_charge(cells: _Cells) -> bool:
    """Whether the row states a free item as Laihua writes it (cms.FREE_CHARGE), with no amount and no other
    payer-specific value."""
    free_columns = {column_key(column) for column in FREE_CHARGE_COLUMNS.values()}
    if any(cells[column_key(c)] for c in (GROSS, MIN, MAX)):
        return False
    if any(cells[column_key(c)] for c in NOT_IMPORTED_COLUMNS if column_key(c) not in free_columns):
        return False
    for name, column in FREE_CHARGE_COLUMNS.items():
        value = cells[column_key(column)]
        if name == "count" and value == "":
            continue
        if value.casefold() != FREE_CHARGE[name].casefold():
            return False
    return True


def _read_price(cells: _Cells) -> tuple[Decimal, Decimal] | None:
    if _states_free_charge(cells):
        return Decimal(0), Decimal(0)
    gross, low, high = cells.amount(GROSS), cells.amount(MIN), cells.amount(MAX)
    bad = any(cells[c] and v is None for c, v in ((GROSS, gross), (MIN, low), (MAX, high)))
    if bad:
        return None
    if low is not None and high is None:
        cells.error(MAX, _("A price range needs both its minimum and its maximum."))
        return None
    if low is None and high is not None:
        low = Decimal(0)  # a range from 0: the format refuses 0 as an amount, so the minimum is left empty
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
    free = _states_free_charge(cells)
    for column in NOT_IMPORTED_COLUMNS:
        if cells[column_key(column)] and not free:
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
