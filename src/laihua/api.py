"""The JSON API: one NinjaAPI that mounts each domain's router and maps every error to one JSON shape."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from laihua.audit.services import record_refusal
from laihua.errors import DomainError
from laihua.kit.openapi import API_ERROR, add_error_responses


class LaihuaAPI(NinjaAPI):
    def get_openapi_schema(self, *, path_prefix=None, path_params=None):
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        return add_error_responses(schema, "Error", API_ERROR, "application/json")


api = LaihuaAPI(
    title="Laihua API",
    version="1",
    description="International patient services for Chinese hospitals. Authenticate with a personal "
    "token: `Authorization: Bearer lh_...`. Errors are `{error, detail, field}`.",
    urls_namespace="api",
    docs_url="/docs",
    openapi_url="/openapi.json",
)


def _error(request, status: int, code: str, detail: str, field: str | None = None):
    return api.create_response(request, {"error": code, "detail": detail, "field": field}, status=status)


@api.exception_handler(DomainError)
def on_domain_error(request, exc: DomainError):
    record_refusal(request, exc)
    return _error(request, exc.status, exc.code, str(exc.message), exc.field)


def _validation_message(error: dict) -> str:
    """The library's error type in the user's language (its own messages are English only)."""
    from django.utils.translation import gettext as _

    kind = error.get("type", "")
    if kind == "missing":
        return _("This field is required.")
    if kind.startswith("int_") or kind == "int_parsing":
        return _("Enter a whole number.")
    if kind.startswith(("float_", "decimal_")):
        return _("Enter a number.")
    if kind.startswith("date"):
        return _("Enter a date as YYYY-MM-DD.")
    if kind.startswith("bool"):
        return _("Enter true or false.")
    if kind in ("string_too_long", "too_long"):
        return _("This value is too long.")
    if kind in ("list_type", "dict_type", "model_type", "model_attributes_type"):
        return _("This value has the wrong shape.")
    if kind == "json_invalid":
        return _("The request body is not valid JSON.")
    return _("This value is not valid.")


@api.exception_handler(NinjaValidationError)
def on_validation_error(request, exc: NinjaValidationError):
    first = exc.errors[0] if exc.errors else {}
    location = [str(part) for part in first.get("loc", []) if part not in ("body", "query", "path", "payload")]
    return _error(request, 422, "invalid", _validation_message(first), ".".join(location) or None)


@api.exception_handler(AuthenticationError)
def on_auth_error(request, exc):
    from django.utils.translation import gettext as _

    return _error(request, 401, "unauthenticated", _("Sign in first, or send a valid API token."))


@api.exception_handler(HttpError)
def on_http_error(request, exc: HttpError):
    from django.utils.translation import gettext as _

    if exc.status_code == 403 and "csrf" in str(exc).lower():
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            # No token and no session: the session check's CSRF refusal would hide the real reason.
            return _error(request, 401, "unauthenticated", _("Sign in first, or send a valid API token."))
        return _error(request, 403, "csrf", _("The page's security token is missing or out of date; reload it."))
    if exc.status_code == 400:
        return _error(request, 400, "bad_request", _("The request body is not valid JSON."))
    return _error(request, exc.status_code, "http_error", str(exc))


@api.exception_handler(Http404)
def on_not_found(request, exc):
    from django.utils.translation import gettext as _

    return _error(request, 404, "not_found", _("Not found."))


@api.exception_handler(DjangoValidationError)
def on_django_validation(request, exc: DjangoValidationError):
    return _error(request, 422, "invalid", "; ".join(exc.messages))


def _mount():
    from laihua.accounts.api import router as accounts_router
    from laihua.analytics.api import router as analytics_router
    from laihua.billing.api import router as billing_router
    from laihua.capacity.api import router as capacity_router
    from laihua.cases.api import router as cases_router
    from laihua.catalog.api import router as catalog_router
    from laihua.fairness.api import router as fairness_router
    from laihua.hospitals.api import router as hospitals_router
    from laihua.insurance.api import router as insurance_router
    from laihua.interpreters.api import router as interpreters_router
    from laihua.patients.api import router as patients_router
    from laihua.planning.api import router as planning_router
    from laihua.quotes.api import router as quotes_router
    from laihua.rates.api import router as rates_router
    from laihua.records.api import router as records_router
    from laihua.travel.api import router as travel_router

    api.add_router("/", accounts_router)
    api.add_router("/hospitals", hospitals_router)
    api.add_router("/catalog", catalog_router)
    api.add_router("/rates", rates_router)
    api.add_router("/patients", patients_router)
    api.add_router("/cases", cases_router)
    api.add_router("/quotes", quotes_router)
    api.add_router("/travel", travel_router)
    api.add_router("/capacity", capacity_router)
    api.add_router("/interpreters", interpreters_router)
    api.add_router("/planning", planning_router)
    api.add_router("/records", records_router)
    api.add_router("/insurance", insurance_router)
    api.add_router("/billing", billing_router)
    api.add_router("/fairness", fairness_router)
    api.add_router("/analytics", analytics_router)


_mount()
