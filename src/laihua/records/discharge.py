"""The structured discharge summary: coded diagnoses and procedures, medications with a structured dosage,
dated follow-up instructions, and free text in one language with an optional second.

Pure functions (no database): checking rows as the clinician or the API gives them, the FHIR Dosage of a
discharge medication, the IPS entries of a summary (`summary_items`, used by `export.build_bundle`), and
the parser that turns a summary written before this structure (lines of "a | b", medications' dosage as
words, a text written in two languages "English / 中文") into it (`from_legacy`, used by the migration)."""

import datetime
import re

ICD10 = "http://hl7.org/fhir/sid/icd-10"
SNOMED = "http://snomed.info/sct"
ATC = "http://www.whocc.no/atc"
ICD10_RE = re.compile(r"^[A-TV-Z][0-9][0-9AB](\.[0-9A-TV-Z]{1,4})?$")
ROUTES = ("oral", "sublingual", "intravenous", "intramuscular", "subcutaneous", "topical", "transdermal",
          "inhalation", "nasal", "eye", "rectal", "vaginal")  # fmt: skip
ROUTE_SNOMED = {
    "oral": "26643006",
    "sublingual": "37839007",
    "intravenous": "47625008",
    "intramuscular": "78421000",
    "subcutaneous": "34206005",
    "topical": "6064005",
    "transdermal": "45890007",
    "inhalation": "447694001",
    "nasal": "46713006",
    "eye": "54485002",
    "rectal": "37161004",
    "vaginal": "16857009",
}
UNITS = ("tablet", "capsule", "drop", "puff", "patch", "sachet", "suppository", "unit", "iu", "mg", "g", "mcg", "ml")
PERIOD_UNITS = ("h", "d", "wk", "mo")
LANGUAGES = ("en", "zh-hans")
MAX_TEXT = 500


class RowError(ValueError):
    """A row the clinician must fix: the field (e.g. "medications[0].dose") and the message's key."""

    def __init__(self, field: str, problem: str, value: str = ""):
        super().__init__(f"{field}: {problem}")
        self.field, self.problem, self.value = field, problem, value


def _text(row: dict, name: str, limit: int = MAX_TEXT) -> str:
    return str(row.get(name) or "").strip()[:limit]


def _date(row: dict, name: str, field: str) -> str:
    value = _text(row, name, 10)
    if value:
        try:
            datetime.date.fromisoformat(value)
        except ValueError:
            raise RowError(field, "date", value) from None
    return value


def _number(row: dict, name: str, field: str, *, integer: bool = False):
    value = str(row.get(name) if row.get(name) is not None else "").strip().replace(",", ".")
    if not value:
        return None
    try:
        number = int(value) if integer else float(value)
    except ValueError:
        raise RowError(field, "number", value) from None
    if number <= 0 or number > 100000:
        raise RowError(field, "number", value)
    return int(number) if float(number).is_integer() else number


def coded_row(row: dict, field: str, *, code_required: bool, known_terms=None) -> dict | None:
    """A diagnosis or procedure: a code of ICD-10 (checked) or of a system in the term list, and/or a text."""
    system = _text(row, "system", 255) or ICD10
    code = _text(row, "code", 100)
    text = _text(row, "text")
    if not code and not text:
        return None
    if system == ICD10:
        code = code.upper()
        if code and not ICD10_RE.match(code):
            raise RowError(f"{field}.code", "icd10", code)
    elif code and known_terms is not None and (system, code) not in known_terms:
        raise RowError(f"{field}.code", "term", code)
    if code_required and not code:
        raise RowError(f"{field}.code", "code_required")
    return {"system": system if code else "", "code": code, "text": text, "text_second": _text(row, "text_second")}


def medication_row(row: dict, field: str, known_terms=None) -> dict | None:
    """A discharge medication: the medicine (coded or named) and its dosage (dose and unit, route,
    how many times per period, for how many days), or a dosage in words where the structure does not fit."""
    coded = coded_row({**row, "system": row.get("system") or ATC}, field, code_required=False, known_terms=known_terms)
    if coded is None:
        return None
    if coded["system"] == ICD10:
        raise RowError(f"{field}.system", "system")
    dose = _number(row, "dose", f"{field}.dose")
    unit = _text(row, "unit", 20).lower()
    if unit and unit not in UNITS:
        raise RowError(f"{field}.unit", "choice", unit)
    if dose is not None and not unit:
        raise RowError(f"{field}.unit", "required")
    route = _text(row, "route", 20).lower()
    if route and route not in ROUTES:
        raise RowError(f"{field}.route", "choice", route)
    frequency = _number(row, "frequency", f"{field}.frequency", integer=True)
    period_unit = _text(row, "period_unit", 3) or ("d" if frequency else "")
    if period_unit and period_unit not in PERIOD_UNITS:
        raise RowError(f"{field}.period_unit", "choice", period_unit)
    duration = _number(row, "duration_days", f"{field}.duration_days", integer=True)
    return {
        **coded,
        "dose": dose,
        "unit": unit,
        "route": route,
        "frequency": frequency,
        "period_unit": period_unit if frequency else "",
        "duration_days": duration,
        "dosage_text": _text(row, "dosage_text"),
    }


def follow_up_row(row: dict, field: str) -> dict | None:
    text = _text(row, "text")
    date = _date(row, "date", f"{field}.date")
    if not text and not date:
        return None
    if not text:
        raise RowError(f"{field}.text", "required")
    return {"date": date, "text": text}


def fhir_dosage(med: dict) -> list[dict]:
    """The medication row's dosage as FHIR Dosage (as the importer keeps one, so it reads in words alike)."""
    dosage: dict = {}
    if med.get("dosage_text"):
        dosage["text"] = med["dosage_text"]
    repeat: dict = {}
    if med.get("frequency"):
        repeat.update(frequency=med["frequency"], period=1, periodUnit=med.get("period_unit") or "d")
    if med.get("duration_days"):
        repeat["boundsDuration"] = {
            "value": med["duration_days"],
            "unit": "d",
            "system": "http://unitsofmeasure.org",
            "code": "d",
        }
    if repeat:
        dosage["timing"] = {"repeat": repeat}
    if med.get("route"):
        dosage["route"] = {"coding": [{"system": SNOMED, "code": ROUTE_SNOMED[med["route"]], "display": med["route"]}]}
    if med.get("dose") is not None:
        dosage["doseAndRate"] = [{"doseQuantity": {"value": med["dose"], "unit": med.get("unit", "")}}]
    return [dosage] if dosage else []


def _codes(row: dict, display: str = "") -> list[dict]:
    if not row.get("code"):
        return []
    return [{"system": row.get("system") or ICD10, "code": row["code"], "display": display or row.get("text", "")}]


def summary_items(summary) -> list[dict]:
    """The discharge summary's entries as the exporter's item dicts: diagnoses as problems (coded),
    procedures with their date, medications with their structured dosage, allergies, results. A line
    written twice is exported once."""
    out = []
    if summary is None:
        return out
    for row in summary.diagnoses:
        out.append({"kind": "problem", "text": row.get("text", ""), "codes": _codes(row), "status": "active"})
    for row in summary.procedures:
        out.append(
            {"kind": "procedure", "text": row.get("text", ""), "codes": _codes(row), "date": row.get("date", "")}
        )
    for row in summary.medications:
        dosage = fhir_dosage(row) if "dose" in row else []
        item = {"kind": "medication", "text": row.get("text", ""), "codes": _codes(row), "status": "active"}
        if dosage:
            item["detail"] = {"dosage": dosage}
        elif row.get("dosage"):  # an old row not migrated
            item["value"] = row["dosage"]
        out.append(item)
    for row in summary.allergies:
        out.append({"kind": "allergy", "text": row.get("text", ""), "codes": []})
    for row in summary.results:
        out.append({"kind": "result", "text": row.get("text", ""), "codes": [], "value": row.get("value", "")})
    unique = []
    for item in out:
        if item not in unique:
            unique.append(item)
    return unique


def plan_of_care_lines(summary) -> list[str]:
    """The plan of care section's narrative: the plan (and its second language), each dated follow-up
    instruction, and the follow-up text."""
    if summary is None:
        return []
    lines = [summary.plan_of_care, getattr(summary, "plan_of_care_second", "")]
    for row in getattr(summary, "follow_ups", None) or []:
        lines.append(f"Follow-up {row['date']}: {row['text']}" if row.get("date") else f"Follow-up: {row['text']}")
    if summary.follow_up:
        lines.append(f"Follow-up: {summary.follow_up}")
    if getattr(summary, "follow_up_second", ""):
        lines.append(summary.follow_up_second)
    return [line for line in lines if line]


# Reading summaries written before the structure -------------------------------------------------------

_CJK = re.compile(r"[\u3400-\u9fff]")
_DOSE = re.compile(
    r"(?P<dose>\d+(?:[.,]\d+)?)\s*(?P<unit>tablets?|tabs?|capsules?|caps?|drops?|puffs?|patch(?:es)?|sachets?|"
    r"units?|iu|mg|mcg|µg|ug|g|ml)\b",
    re.I,
)
_FREQ_WORDS = {"once": 1, "twice": 2, "three times": 3, "four times": 4, "qd": 1, "od": 1, "bid": 2, "tid": 3, "qid": 4}
_FREQ = re.compile(
    r"\b(?:(?P<word>once|twice|three times|four times)\s+(?:a|per|each)\s+(?P<unit>day|daily|week|hour)"
    r"|(?P<n>\d+)\s*(?:x|times)\s*(?:a|per|each|/)\s*(?P<unit2>day|week|hour)"
    r"|(?P<abbr>qd|od|bid|tid|qid)|(?P<daily>daily))\b",
    re.I,
)
_DURATION = re.compile(r"\bfor\s+(?P<n>\d+)\s*(?P<unit>days?|weeks?)\b", re.I)
_ROUTE_WORDS = {
    "by mouth": "oral",
    "oral": "oral",
    "orally": "oral",
    "po": "oral",
    "iv": "intravenous",
    "intravenous": "intravenous",
    "im": "intramuscular",
    "sc": "subcutaneous",
    "subcutaneous": "subcutaneous",
    "topical": "topical",
    "inhaled": "inhalation",
    "nasal": "nasal",
    "eye": "eye",
    "rectal": "rectal",
}
_PERIOD = {"day": "d", "daily": "d", "week": "wk", "hour": "h"}


def split_languages(text: str) -> tuple[str, str]:
    """ "Tear of meniscus / 半月板撕裂" (written twice) as (Latin text, Chinese text); else (text, "")."""
    for sep in (" / ", "／", "/", " | "):
        if sep in text:
            left, right = (part.strip() for part in text.split(sep, 1))
            if left and right and bool(_CJK.search(left)) != bool(_CJK.search(right)):
                return (right, left) if _CJK.search(left) else (left, right)
    return text.strip(), ""


def parse_dosage(text: str) -> dict | None:
    """A dosage in words ("1 tablet by mouth twice a day for 7 days", "500 mg po bid") as the structured
    fields, or None when any part of it is not understood (the text is then kept as written)."""
    rest = " " + (text or "").strip().lower() + " "
    if not rest.strip():
        return None
    out = {"dose": None, "unit": "", "route": "", "frequency": None, "period_unit": "", "duration_days": None}
    match = _DOSE.search(rest)
    if match:
        value = float(match["dose"].replace(",", "."))
        out["dose"] = int(value) if value.is_integer() else value
        unit = match["unit"].lower().rstrip("s") if match["unit"].lower() not in ("mcg", "µg", "ug") else "mcg"
        out["unit"] = {"tab": "tablet", "cap": "capsule", "patche": "patch", "ug": "mcg", "µg": "mcg"}.get(unit, unit)
        rest = rest.replace(match.group(0), " ", 1)
    match = _FREQ.search(rest)
    if match:
        if match["word"]:
            out["frequency"], out["period_unit"] = _FREQ_WORDS[match["word"].lower()], _PERIOD[match["unit"].lower()]
        elif match["n"]:
            out["frequency"], out["period_unit"] = int(match["n"]), _PERIOD[match["unit2"].lower()]
        elif match["abbr"]:
            out["frequency"], out["period_unit"] = _FREQ_WORDS[match["abbr"].lower()], "d"
        else:
            out["frequency"], out["period_unit"] = 1, "d"
        rest = rest.replace(match.group(0), " ", 1)
    match = _DURATION.search(rest)
    if match:
        n = int(match["n"])
        out["duration_days"] = n * 7 if match["unit"].lower().startswith("week") else n
        rest = rest.replace(match.group(0), " ", 1)
    for words, route in sorted(_ROUTE_WORDS.items(), key=lambda kv: -len(kv[0])):
        pattern = re.compile(rf"\b{re.escape(words)}\b")
        if pattern.search(rest):
            out["route"] = route
            rest = pattern.sub(" ", rest, count=1)
            break
    leftover = re.sub(r"\b(and|a|the|per|each|at|with|,|;|\.)\b|[,;.]", " ", rest).strip()
    if leftover or (out["dose"] is None and out["frequency"] is None):
        return None
    return out


def from_legacy(old: dict) -> tuple[dict, list[str]]:
    """A summary written before the structure (its JSON rows and texts) as the structured fields, and the
    lines that could not be read into them (kept as written, for the clinician to see)."""
    kept: list[str] = []
    new: dict = {}
    diagnoses = []
    for row in old.get("diagnoses") or []:
        raw, text = str(row.get("code") or "").strip(), str(row.get("text") or "").strip()
        code = raw.upper()
        text, second = split_languages(text)
        if code and ICD10_RE.match(code):
            diagnoses.append({"system": ICD10, "code": code, "text": text, "text_second": second})
        else:
            diagnoses.append({"system": "", "code": "", "text": text or code, "text_second": second})
            kept.append(" | ".join(p for p in ("diagnosis", raw, row.get("text") or "") if p))
    new["diagnoses"] = diagnoses
    procedures = []
    for row in old.get("procedures") or []:
        text, date = str(row.get("text") or "").strip(), str(row.get("date") or "").strip()
        text, second = split_languages(text)
        try:
            if date:
                datetime.date.fromisoformat(date)
        except ValueError:
            kept.append(f"procedure | {row.get('text', '')} | {date}")
            date = ""
        procedures.append({"system": "", "code": "", "text": text, "text_second": second, "date": date})
    new["procedures"] = procedures
    medications = []
    for row in old.get("medications") or []:
        text, second = split_languages(str(row.get("text") or ""))
        words = str(row.get("dosage") or "").strip()
        parsed = parse_dosage(words) if words else None
        med = dict.fromkeys(("system", "code", "unit", "route", "period_unit", "dosage_text"), "")
        med.update(text=text, text_second=second, dose=None, frequency=None, duration_days=None)
        if parsed:
            med.update(parsed)
        elif words:
            med["dosage_text"] = words  # kept as written: still exported as the dosage's text
        medications.append(med)
    new["medications"] = medications
    follow_ups, unread = [], []
    for line in str(old.get("follow_up") or "").splitlines():
        parts = [p.strip() for p in line.split("|")]
        dated = [p for p in parts if re.fullmatch(r"\d{4}-\d{2}-\d{2}", p)]
        others = [p for p in parts if p and p not in dated]
        if len(parts) > 1 and len(dated) == 1 and others:
            try:
                datetime.date.fromisoformat(dated[0])
                follow_ups.append({"date": dated[0], "text": " ".join(others)})
                continue
            except ValueError:
                pass
        if line.strip():
            unread.append(line.rstrip())
    new["follow_ups"] = follow_ups
    new["follow_up"] = "\n".join(unread)
    return new, kept
