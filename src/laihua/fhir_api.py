"""The FHIR endpoint under /fhir/: FHIR R4 JSON in and out, every error as an OperationOutcome.

Each domain that speaks FHIR keeps its routes in `<domain>/fhir_api.py` (records: Bundle and
Patient/$summary; insurance: Claim and ClaimResponse). Authentication is the same as /api/:
a personal token (Authorization: Bearer) or a signed-in session.

Routes that can also answer FHIR XML call `requested_format()` first and answer with
`fhir_response()`: `?_format=xml` (or `application/fhir+xml`, `application/xml`, `text/xml`) or an
`Accept: application/fhir+xml` header gives XML, and their errors are then XML OperationOutcomes
too; `_format=json` or no preference gives JSON; any other `_format` is refused (406).
"""

from django.http import Http404, HttpResponse
from django.utils.cache import patch_vary_headers
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.renderers import JSONRenderer

from laihua.errors import DomainError, InvalidInput

FHIR_JSON = "application/fhir+json"
FHIR_XML = "application/fhir+xml"
# FHIR R4 http.html: the values of _format that mean XML and JSON (a "+" arrives as a space when not escaped).
XML_FORMATS = {"xml", "text/xml", "application/xml", FHIR_XML, "application/xml+fhir"}
JSON_FORMATS = {"json", "application/json", FHIR_JSON, "application/json+fhir"}
# In Accept only the FHIR types choose XML: a browser's "application/xml;q=0.9" keeps JSON.
ACCEPT_XML = {FHIR_XML, "application/xml+fhir"}
ACCEPT_JSON = {FHIR_JSON, "application/json+fhir", "application/json", "*/*", "application/*"}

_ISSUE_CODES = {400: "invalid", 401: "login", 403: "forbidden", 404: "not-found", 409: "conflict", 422: "invalid"}


class FhirJSONRenderer(JSONRenderer):
    media_type = FHIR_JSON


fhir_api = NinjaAPI(
    title="Laihua FHIR endpoint",
    version="R4",
    description="FHIR R4 (4.0.1) resources: International Patient Summary documents and insurer "
    "claims. Errors are OperationOutcome resources.",
    urls_namespace="fhir",
    docs_url="/docs",
    openapi_url="/openapi.json",
    renderer=FhirJSONRenderer(),
)


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


def _xml(body: dict) -> bytes:
    from laihua.records.fhirxml import to_xml  # the FHIR XML writer (lazily: records mounts its routes here)

    return to_xml(body)


def fhir_response(request, body: dict, status: int = 200):
    """The resource as FHIR XML or JSON, as `requested_format()` chose (JSON when it was not called)."""
    from django.utils.translation import gettext as _

    from laihua.records.fhirxml import XmlError

    if getattr(request, "fhir_format", "json") == "xml":
        try:
            content = _xml(body)
        except XmlError as exc:
            raise InvalidInput(
                _("This resource cannot be written as FHIR XML: %(why)s") % {"why": exc}, field=exc.location
            ) from None
        response = HttpResponse(content, status=status, content_type=f"{FHIR_XML}; charset=utf-8")
    else:
        response = fhir_api.create_response(request, body, status=status)
    patch_vary_headers(response, ("Accept",))
    return response


def outcome_response(request, status: int, issues: list[dict]):
    """The OperationOutcome, in FHIR XML when the route settled on XML (see requested_format)."""
    body = operation_outcome(issues)
    negotiated = getattr(request, "fhir_format", None)
    response = None
    if negotiated == "xml":
        from laihua.records.fhirxml import XmlError

        try:
            response = HttpResponse(_xml(body), status=status, content_type=f"{FHIR_XML}; charset=utf-8")
        except XmlError:  # pragma: no cover - a diagnostic XML cannot carry: answer it as JSON
            response = None
    if response is None:
        response = fhir_api.create_response(request, body, status=status)
    if negotiated:
        patch_vary_headers(response, ("Accept",))
    return response


def _one(request, status: int, code: str, detail: str, field: str | None = None):
    issue = {"code": _ISSUE_CODES.get(status, code), "diagnostics": detail, "expression": field}
    return outcome_response(request, status, [issue])


@fhir_api.exception_handler(DomainError)
def on_domain_error(request, exc: DomainError):
    issues = getattr(exc, "issues", None)
    if issues:
        return outcome_response(request, exc.status, issues)
    return _one(request, exc.status, exc.code, str(exc.message), exc.field)


@fhir_api.exception_handler(NinjaValidationError)
def on_validation_error(request, exc: NinjaValidationError):
    first = exc.errors[0] if exc.errors else {}
    location = [str(p) for p in first.get("loc", []) if p not in ("body", "query", "path", "payload")]
    return _one(request, 422, "invalid", first.get("msg", "Invalid input."), ".".join(location) or None)


@fhir_api.exception_handler(AuthenticationError)
def on_auth_error(request, exc):
    from django.utils.translation import gettext as _

    return _one(request, 401, "login", _("Sign in first, or send a valid API token."))


@fhir_api.exception_handler(HttpError)
def on_http_error(request, exc: HttpError):
    return _one(request, exc.status_code, "processing", str(exc))


@fhir_api.exception_handler(Http404)
def on_not_found(request, exc):
    from django.utils.translation import gettext as _

    return _one(request, 404, "not-found", _("Not found."))


def _mount():
    from laihua.billing.fhir_api import router as billing_router
    from laihua.insurance.fhir_api import router as insurance_router
    from laihua.records.fhir_api import router as records_router

    fhir_api.add_router("/", records_router)
    fhir_api.add_router("/", insurance_router)
    fhir_api.add_router("/", billing_router)


_mount()
