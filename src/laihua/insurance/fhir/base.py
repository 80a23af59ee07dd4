"""What every FHIR adapter of the insurance domain shares: code systems, the error that lists every
problem as OperationOutcome issues, the JSON loader, and small readers of dates, periods and amounts."""

import datetime
import json
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from pydantic import ValidationError

from laihua.errors import InvalidInput

PAS = "http://hl7.org/fhir/us/davinci-pas/StructureDefinition/"
REVIEW_ACTION = PAS + "extension-reviewAction"
REVIEW_ACTION_CODE = PAS + "extension-reviewActionCode"
ITEM_PREAUTH_PERIOD = PAS + "extension-itemPreAuthPeriod"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
ICD10_SYSTEMS = (ICD10, "http://hl7.org/fhir/sid/icd-10-cm", "http://hl7.org/fhir/sid/icd-10-pcs")
GOP_SYSTEM = "urn:laihua:gop"
INVOICE_SYSTEM = "urn:laihua:invoice"
CASE_SYSTEM = "urn:laihua:case"
MEMBER_SYSTEM = "urn:laihua:member"
CATALOG_SYSTEM = "urn:laihua:catalog"
X12_306 = "https://codesystem.x12.org/005010/306"
ADJUDICATION = "http://terminology.hl7.org/CodeSystem/adjudication"
CLAIM_TYPE = "http://terminology.hl7.org/CodeSystem/claim-type"

# X12 306 "Action code" (the PAS review action) to our status.
REVIEW_STATUS = {
    "A1": "approved",  # certified in total
    "NA": "approved",  # no action required
    "A2": "partial",  # certified, partial
    "A6": "partial",  # modified
    "A3": "denied",  # not certified
    "C": "denied",  # cancelled
    "A4": "pended",  # pended
    "CT": "pended",  # contact payer
}
STATUS_REVIEW = {"approved": "A1", "partial": "A2", "denied": "A3", "pended": "A4", "cancelled": "C"}
REVIEW_DISPLAY = {
    "A1": "Certified in total",
    "A2": "Certified - partial",
    "A3": "Not Certified",
    "A4": "Pended",
    "C": "Cancelled",
}

# Codes whose value sets FHIR R4 binds as required (fhir.resources checks the structure, not these).
CLAIM_STATUS = ("active", "cancelled", "draft", "entered-in-error")
CLAIM_USE = ("claim", "preauthorization", "predetermination")
RESPONSE_OUTCOME = ("queued", "complete", "error", "partial")


class MalformedFhir(InvalidInput):
    """FHIR input that cannot be read; `issues` lists every problem as OperationOutcome issues."""

    code = "fhir_invalid"
    status = 422
    default_message = gettext_lazy("The FHIR resource is not valid.")

    def __init__(self, issues: list[dict], message=None):
        self.issues = issues
        first = issues[0] if issues else {}
        summary = message or "; ".join(i["diagnostics"] for i in issues[:5])
        super().__init__(summary, field=first.get("expression"))


def shallow(reader):
    """A reader that answers MalformedFhir, not a server error, for JSON nested too deep to walk."""
    import functools

    @functools.wraps(reader)
    def read(data):
        try:
            return reader(data)
        except RecursionError:
            raise MalformedFhir([issue("", _("The resource is nested too deeply to be read."), "structure")]) from None

    return read


def ordered(issues: list[dict]) -> list[dict]:
    """Missing elements and a wrong structure first (what the reader fixes first), then the rest."""
    return sorted(issues, key=lambda i: 0 if i.get("code") in ("required", "structure") else 1)


def issue(expression: str, diagnostics: str, code: str = "required", severity: str = "error") -> dict:
    return {"severity": severity, "code": code, "diagnostics": diagnostics, "expression": expression}


def load(data) -> dict:
    """The request body as JSON with decimals kept exact (FHIR decimals are not floats); NaN and
    Infinity, which Python's reader would take, are kept as Decimal so that the checks name them."""
    if isinstance(data, (bytes, str)):
        try:
            data = json.loads(data, parse_float=Decimal, parse_constant=Decimal)
        except (ValueError, UnicodeDecodeError, RecursionError):
            raise MalformedFhir([issue("", _("The body is not JSON."), "structure")]) from None
    if not isinstance(data, dict) or "resourceType" not in data:
        raise MalformedFhir([issue("resourceType", _("resourceType is missing: this is not a FHIR resource."))])
    return data


def plain(data):
    """JSON-ready: Decimals that are whole numbers as int, others as float (what the stored Bundles hold)."""
    if isinstance(data, dict):
        return {key: plain(value) for key, value in data.items()}
    if isinstance(data, list):
        return [plain(value) for value in data]
    if isinstance(data, Decimal) and data.is_finite():
        return int(data) if data == data.to_integral_value() and abs(data) < 2**53 else float(data)
    return data


def pydantic_issues(exc: ValidationError, prefix: str, rebase=None) -> list[dict]:
    """One issue per error of the R4B models, located by a FHIRPath-like expression (`rebase` may
    rename the start of the path, e.g. Bundle.entry[0].resource -> Claim)."""
    issues = []
    for error in exc.errors():
        path = prefix
        for part in error.get("loc", ()):
            path += f"[{part}]" if isinstance(part, int) else f".{part}"
        if rebase is not None:
            path = rebase(path)
        missing = "missing" in error.get("type", "")
        text = (
            _("%(element)s is required but missing.") % {"element": path}
            if missing
            else _("%(element)s: %(problem)s") % {"element": path, "problem": error.get("msg", "")}
        )
        issues.append(issue(path, text, "required" if missing else "value"))
    return issues


def code_of(concept) -> str:
    if concept is None:
        return ""
    for coding in concept.coding or []:
        if coding.code:
            return coding.code
    return concept.text or ""


def to_date(value) -> datetime.date | None:
    if value is None:
        return None
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    try:
        return datetime.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def to_period(p) -> tuple[datetime.date | None, datetime.date | None] | None:
    if p is None:
        return None
    return (to_date(p.start), to_date(p.end))


def to_amount(money) -> Decimal | None:
    if money is None or money.value is None:
        return None
    try:
        return Decimal(str(money.value))
    except InvalidOperation:
        return None
