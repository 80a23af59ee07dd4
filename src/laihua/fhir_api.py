"""The FHIR endpoint under /fhir/: FHIR R4 JSON in and out, every answer that is not a resource an
OperationOutcome.

Each domain that speaks FHIR keeps its routes in `<domain>/fhir_api.py` (records: Bundle,
Patient/$summary and Consent; insurance: Claim with PAS $submit and $inquire, and ClaimResponse).
Authentication is the same as /api/: a personal token (Authorization: Bearer) or a signed-in session;
a missing or invalid token is 401, never the session check's CSRF refusal. `GET /fhir/metadata` (the
CapabilityStatement, laihua.fhir_capability) needs none. A path no route serves is 404, an operation
this server does not have 400, and a method a path does not take 405, each as an OperationOutcome.
Content negotiation (JSON or XML), responses and OperationOutcomes are `kit/fhirhttp.py`.
"""

import functools

from django.http import Http404
from django.urls import URLPattern, re_path
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from ninja import NinjaAPI, Query
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from laihua.audit.services import record_refusal
from laihua.errors import DomainError
from laihua.fhir_capability import capability_statement
from laihua.kit.fhirhttp import FHIR_JSON, RENDERER, error_outcome, fhir_response, outcome_response, requested_format
from laihua.kit.openapi import OPERATION_OUTCOME, add_error_responses

# The operations each resource type has ($name as in the path).
OPERATIONS = {"Claim": ("$submit", "$inquire"), "Patient": ("$summary",)}


def _unknown_operation(request):
    """An OperationOutcome (400) for a $operation this server does not have on that resource, else None."""
    parts = request.path_info.split("/fhir/", 1)[-1].strip("/").split("/")
    name = parts[-1] if parts else ""
    if not name.startswith("$") or name in OPERATIONS.get(parts[0], ()):
        return None
    known = ", ".join(f"{kind}/{op}" for kind, ops in OPERATIONS.items() for op in ops)
    return error_outcome(
        request,
        400,
        "not-supported",
        _("This server has no operation %(operation)s on %(type)s; it has %(known)s.")
        % {"operation": name[:60], "type": parts[0][:60], "known": known},
    )


def _fhir_errors(view):
    """A route's view whose unknown operations and refused methods answer OperationOutcomes."""

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        unknown = _unknown_operation(request)
        if unknown is not None:
            return unknown
        response = view(request, *args, **kwargs)
        if response.status_code == 405 and not response.get("Content-Type", "").startswith(FHIR_JSON):
            allowed = response.get("Allow", "")
            answer = error_outcome(
                request,
                405,
                "not-supported",
                _("%(method)s is not supported here; this path takes %(allowed)s.")
                % {"method": request.method, "allowed": allowed},
            )
            answer["Allow"] = allowed
            return answer
        return response

    return wrapped


@csrf_exempt
def unknown_route(request, *args, **kwargs):
    """Any path under /fhir/ that no route serves."""
    unknown = _unknown_operation(request)
    if unknown is not None:
        return unknown
    return error_outcome(
        request,
        404,
        "not-found",
        _("No FHIR route at %(path)s: GET /fhir/metadata lists what this server supports.")
        % {"path": request.path[:200]},
    )


class FhirAPI(NinjaAPI):
    def get_openapi_schema(self, *, path_prefix=None, path_params=None):
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        return add_error_responses(schema, "OperationOutcome", OPERATION_OUTCOME, "application/fhir+json")

    def _get_urls(self):
        urls = super()._get_urls()
        for pattern in urls:
            if isinstance(pattern, URLPattern):
                pattern.callback = _fhir_errors(pattern.callback)
        urls.append(re_path(r"^.*$", unknown_route, name="unknown"))
        return urls


fhir_api = FhirAPI(
    title="Laihua FHIR endpoint",
    version="R4",
    description="FHIR R4 (4.0.1) resources: International Patient Summary documents and insurer "
    "claims (Da Vinci PAS $submit and $inquire). GET /fhir/metadata is the CapabilityStatement. Errors "
    "are OperationOutcome resources.",
    urls_namespace="fhir",
    docs_url="/docs",
    openapi_url="/openapi.json",
    renderer=RENDERER,
)


def _unauthenticated(request):
    response = error_outcome(request, 401, "login", _("Sign in first, or send a valid API token."))
    response["WWW-Authenticate"] = 'Bearer realm="laihua-fhir"'
    return response


@fhir_api.exception_handler(DomainError)
def on_domain_error(request, exc: DomainError):
    record_refusal(request, exc)
    issues = getattr(exc, "issues", None)
    if issues:
        return outcome_response(request, exc.status, issues)
    return error_outcome(request, exc.status, exc.code, str(exc.message), exc.field)


@fhir_api.exception_handler(NinjaValidationError)
def on_validation_error(request, exc: NinjaValidationError):
    first = exc.errors[0] if exc.errors else {}
    location = [str(p) for p in first.get("loc", []) if p not in ("body", "query", "path", "payload")]
    return error_outcome(request, 422, "invalid", first.get("msg", "Invalid input."), ".".join(location) or None)


@fhir_api.exception_handler(AuthenticationError)
def on_auth_error(request, exc):
    return _unauthenticated(request)


@fhir_api.exception_handler(HttpError)
def on_http_error(request, exc: HttpError):
    if exc.status_code == 403 and "csrf" in str(exc).lower():
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or "Authorization" in request.headers:
            # No token, or one that is not valid: the session check's CSRF refusal would hide the reason.
            return _unauthenticated(request)
        return error_outcome(
            request, 403, "forbidden", _("The page's security token is missing or out of date; reload it.")
        )
    return error_outcome(request, exc.status_code, "processing", str(exc))


@fhir_api.exception_handler(Http404)
def on_not_found(request, exc):
    return error_outcome(request, 404, "not-found", _("Not found."))


FORMAT = Query("", alias="_format", description="json (the default) or xml.")


@fhir_api.get("/metadata", auth=None, response=dict, tags=["capabilities"], summary="The CapabilityStatement")
def metadata(request, format_param: str = FORMAT):
    requested_format(request, format_param)
    return fhir_response(request, capability_statement())


def _mount():
    from laihua.billing.fhir_api import router as billing_router
    from laihua.insurance.fhir_api import router as insurance_router
    from laihua.records.fhir_api import router as records_router

    fhir_api.add_router("/", records_router)
    fhir_api.add_router("/", insurance_router)
    fhir_api.add_router("/", billing_router)


_mount()
