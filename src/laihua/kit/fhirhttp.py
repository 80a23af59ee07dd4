"""FHIR over HTTP, for every router under /fhir/: content types, format negotiation, responses and
OperationOutcome errors.

Routes that can also answer FHIR XML call `requested_format()` first and answer with
`fhir_response()`: `?_format=xml` (or `application/fhir+xml`, `application/xml`, `text/xml`) or an
`Accept: application/fhir+xml` header gives XML, and their errors are then XML OperationOutcomes
too; `_format=json` or no preference gives JSON; any other `_format` is refused (406).
"""

from django.http import HttpResponse
from django.utils.cache import patch_vary_headers
from ninja.renderers import JSONRenderer

from laihua.errors import DomainError, InvalidInput
from laihua.kit.fhirxml import XmlError, to_xml

FHIR_JSON = "application/fhir+json"
FHIR_XML = "application/fhir+xml"
# FHIR R4 http.html: the values of _format that mean XML and JSON (a "+" arrives as a space when not escaped).
XML_FORMATS = {"xml", "text/xml", "application/xml", FHIR_XML, "application/xml+fhir"}
JSON_FORMATS = {"json", "application/json", FHIR_JSON, "application/json+fhir"}
# In Accept only the FHIR types choose XML: a browser's "application/xml;q=0.9" keeps JSON.
ACCEPT_XML = {FHIR_XML, "application/xml+fhir"}
ACCEPT_JSON = {FHIR_JSON, "application/json+fhir", "application/json", "*/*", "application/*"}

_ISSUE_CODES = {400: "invalid", 401: "login", 403: "forbidden", 404: "not-found", 409: "conflict", 422: "invalid"}
# FHIR R4 issue-type codes (valueset-issue-type) a caller may name itself; any other code is replaced by
# the status's (a DomainError's own code, such as rate_unavailable, is not one).
ISSUE_TYPES = frozenset(
    [
        "invalid",
        "structure",
        "required",
        "value",
        "invariant",
        "security",
        "login",
        "unknown",
        "expired",
        "forbidden",
        "suppressed",
        "processing",
        "not-supported",
        "duplicate",
        "multiple-matches",
        "not-found",
        "deleted",
        "too-long",
        "code-invalid",
        "extension",
        "too-costly",
        "business-rule",
        "conflict",
        "transient",
        "lock-error",
        "no-store",
        "exception",
        "timeout",
        "incomplete",
        "throttled",
        "informational",
    ]
)


class FhirJSONRenderer(JSONRenderer):
    media_type = FHIR_JSON


RENDERER = FhirJSONRenderer()


def json_response(request, body: dict, status: int = 200) -> HttpResponse:
    """The resource as FHIR JSON (what the /fhir/ NinjaAPI's own responses are)."""
    content = RENDERER.render(request, body, response_status=status)
    return HttpResponse(content, status=status, content_type=f"{RENDERER.media_type}; charset={RENDERER.charset}")


def operation_outcome(issues: list[dict]) -> dict:
    """An OperationOutcome from [{"severity", "code", "diagnostics", "expression"}] dicts."""
    out = []
    for issue in issues:
        entry = {"severity": issue.get("severity", "error"), "code": issue.get("code", "invalid")}
        if issue.get("diagnostics"):
            entry["diagnostics"] = str(issue["diagnostics"])
        if issue.get("expression"):
            entry["expression"] = [issue["expression"]]
        out.append(entry)
    return {"resourceType": "OperationOutcome", "issue": out}


class NotAcceptable(DomainError):
    code = "not-supported"
    status = 406


def _accept(header: str) -> str:
    """ "xml" when the Accept header prefers a FHIR XML type to JSON (by q, then by order), else "json"."""
    best, best_q = "json", 0.0
    for part in header.split(","):
        media, *params = [piece.strip() for piece in part.split(";")]
        media = media.lower()
        kind = "xml" if media in ACCEPT_XML else "json" if media in ACCEPT_JSON else None
        if kind is None:
            continue
        q = 1.0
        for param in params:
            name, _sep, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if q > best_q:
            best, best_q = kind, q
    return best


def requested_format(request, format_param: str = "") -> str:
    """ "xml" or "json", as the client asks: `_format` first (FHIR's override of Accept), then Accept.

    Remembered on the request so that the errors of the route come back in the same format."""
    from django.utils.translation import gettext as _

    value = (format_param or "").split(";")[0].strip().lower().replace(" ", "+")
    if value in XML_FORMATS:
        chosen = "xml"
    elif value in JSON_FORMATS:
        chosen = "json"
    elif value:
        raise NotAcceptable(
            _("Unknown _format “%(format)s”: use json or xml (application/fhir+json or application/fhir+xml).")
            % {"format": format_param[:100]},
            field="_format",
        )
    else:
        chosen = _accept(request.headers.get("Accept", ""))
    request.fhir_format = chosen
    return chosen


def fhir_response(request, body: dict, status: int = 200):
    """The resource as FHIR XML or JSON, as `requested_format()` chose (JSON when it was not called)."""
    from django.utils.translation import gettext as _

    if getattr(request, "fhir_format", "json") == "xml":
        try:
            content = to_xml(body)
        except XmlError as exc:
            raise InvalidInput(
                _("This resource cannot be written as FHIR XML: %(why)s") % {"why": exc}, field=exc.location
            ) from None
        response = HttpResponse(content, status=status, content_type=f"{FHIR_XML}; charset=utf-8")
    else:
        response = json_response(request, body, status)
    patch_vary_headers(response, ("Accept",))
    return response


def outcome_response(request, status: int, issues: list[dict]):
    """The OperationOutcome, in FHIR XML when the route settled on XML (see requested_format)."""
    body = operation_outcome(issues)
    negotiated = getattr(request, "fhir_format", None)
    response = None
    if negotiated == "xml":
        try:
            response = HttpResponse(to_xml(body), status=status, content_type=f"{FHIR_XML}; charset=utf-8")
        except XmlError:  # pragma: no cover - a diagnostic XML cannot carry: answer it as JSON
            response = None
    if response is None:
        response = json_response(request, body, status)
    if negotiated:
        patch_vary_headers(response, ("Accept",))
    return response


def error_outcome(request, status: int, code: str, detail: str, field: str | None = None):
    chosen = code if code in ISSUE_TYPES and code not in ("invalid", "processing") else _ISSUE_CODES.get(status, code)
    issue = {"code": chosen if chosen in ISSUE_TYPES else "processing", "diagnostics": detail, "expression": field}
    return outcome_response(request, status, [issue])
