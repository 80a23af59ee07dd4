"""Reading shipped or uploaded CSV data files: every row checked, every error naming file, row and column."""

import csv
import io
from pathlib import Path

from django.conf import settings
from django.utils.translation import gettext as _

from laihua.errors import InvalidInput

REQUIRED_LANGUAGES = ("en", "zh-hans")


def fail(path, line: int, column: str, message: str):
    """Refuse the file: `file, row N, column C: message`, with the column as the error's field."""
    raise InvalidInput(
        _("%(file)s, row %(row)s, column %(column)s: %(message)s")
        % {"file": Path(path).name, "row": line, "column": column, "message": message},
        field=column,
    )


def read_rows(path, required: tuple[str, ...]) -> list[tuple[int, dict]]:
    """The rows of a UTF-8 CSV file with their line numbers; a missing column or a stray cell is an error."""
    try:
        text = Path(path).read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise InvalidInput(_("Cannot read %(path)s: %(reason)s") % {"path": path, "reason": exc.strerror}) from None
    except UnicodeDecodeError:
        raise InvalidInput(_("%(path)s is not UTF-8 text.") % {"path": path}) from None
    reader = csv.DictReader(io.StringIO(text))
    missing = [column for column in required if column not in (reader.fieldnames or [])]
    if missing:
        raise InvalidInput(
            _("%(file)s: missing columns: %(columns)s") % {"file": Path(path).name, "columns": ", ".join(missing)},
            field=missing[0],
        )
    rows = []
    for line, row in enumerate(reader, start=2):
        if None in row:
            fail(path, line, str(len(reader.fieldnames) + 1), _("more cells than the header has columns."))
        rows.append((line, {key: (value or "").strip() for key, value in row.items()}))
    return rows


def translated(path, line: int, row: dict, prefix: str, *, required: bool) -> dict:
    """{language: text} from the columns prefix_<language code>, for the languages the site offers."""
    texts = {code: row.get(f"{prefix}_{code}", "") for code, _name in settings.LANGUAGES}
    if required:
        for code in REQUIRED_LANGUAGES:
            if not texts.get(code):
                fail(path, line, f"{prefix}_{code}", _("this text is required."))
    return {code: text for code, text in texts.items() if text}


# A cell a spreadsheet would run as a formula (OWASP "CSV injection"): one that starts with one of these.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _looks_like_formula(text: str) -> bool:
    """True for a formula-like text, and for one already escaped (so that escaping can be undone exactly)."""
    return text.lstrip("'").startswith(FORMULA_STARTS)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def to_spreadsheet(value):
    """The cell as Laihua writes it into a CSV: a text that a spreadsheet would run as a formula gets a
    leading apostrophe (shown as text, never run); numbers, such as a negative amount, stay as they are."""
    if isinstance(value, str) and value and _looks_like_formula(value) and not _is_number(value):
        return "'" + value
    return value


def from_spreadsheet(text: str) -> str:
    """The exact inverse of `to_spreadsheet` for a cell read back from a CSV Laihua wrote."""
    if text.startswith("'") and _looks_like_formula(text[1:]) and not _is_number(text[1:]):
        return text[1:]
    return text


class SafeWriter:
    """csv.writer whose every text cell goes through `to_spreadsheet`: use it for every CSV Laihua writes."""

    def __init__(self, out, **options):
        self._writer = csv.writer(out, **options)

    def writerow(self, row):
        return self._writer.writerow([to_spreadsheet(cell) for cell in row])

    def writerows(self, rows):
        for row in rows:
            self.writerow(row)
