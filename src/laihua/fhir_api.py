"""The FHIR endpoint under /fhir/: FHIR R4 JSON in and out, every error as an OperationOutcome.

Each domain that speaks FHIR keeps its routes in `<domain>/fhir_api.py` (records: Bundle and
Patient/$summary; insurance: Claim and ClaimResponse). Authentication is the same as /api/:
a personal token (Authorization: Bearer) or a signed-in session. Content negotiation (JSON or XML),
responses and OperationOutcomes are `kit/fhirhttp.py`, which the domains' routers use too.
"""

from django.http import Http404
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from laihua.audit.services import record_refusal
from laihua.errors import DomainError
from laihua.kit.fhirhttp import RENDERER, error_outcome, outcome_response

fhir_api = NinjaAPI(
    title="Laihua FHIR endpoint",
    version="R4",
    description="FHIR R4 (4.0.1) resources: International Patient Summary documents and insurer "
    "claims. Errors are OperationOutcome resources.",
    urls_namespace="fhir",
    docs_url="/docs",
    openapi_url="/openapi.json",
    renderer=RENDERER,
)


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
    from django.utils.translation import gettext as _

    return error_outcome(request, 401, "login", _("Sign in first, or send a valid API token."))


@fhir_api.exception_handler(HttpError)
def on_http_error(request, exc: HttpError):
    return error_outcome(request, exc.status_code, "processing", str(exc))


@fhir_api.exception_handler(Http404)
def on_not_found(request, exc):
    from django.utils.translation import gettext as _

    return error_outcome(request, 404, "not-found", _("Not found."))


def _mount():
    from laihua.billing.fhir_api import router as billing_router
    from laihua.insurance.fhir_api import router as insurance_router
    from laihua.records.fhir_api import router as records_router

    fhir_api.add_router("/", records_router)
    fhir_api.add_router("/", insurance_router)
    fhir_api.add_router("/", billing_router)


_mount()
