"""One place where a DomainError raised by a page's view becomes an HTML message with the right status."""

from django.contrib.auth.views import redirect_to_login
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from laihua.errors import DomainError

TITLES = {
    400: _("The request could not be completed"),
    403: _("Not allowed"),
    404: _("Not found"),
    409: _("This conflicts with the current state"),
    422: _("Please check your request"),
}

# The JSON API maps errors itself (laihua.api); these paths are never answered with HTML.
JSON_PREFIXES = ("/api/", "/fhir/")


def labelled(label, message) -> str:
    """An input error with the field's label in front, punctuated as the page's language does
    ("Capacity: ...", "容量：...")."""
    from django.utils.translation import gettext

    return gettext("%(field)s: %(message)s") % {"field": label, "message": message}


def is_partial_request(request) -> bool:
    """An htmx request that swaps part of a page (a history restore wants the whole page)."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.history_restore_request


def render_domain_error(request, error: DomainError):
    """The error's message on a page with the error's status; a sign-in request goes to the login page.

    htmx swaps only successful responses, so a partial request gets the message as a fragment with 200.
    """
    if error.status == 401:
        return redirect_to_login(request.get_full_path())
    context = {"error": error, "title": TITLES.get(error.status, TITLES[400])}
    if is_partial_request(request):
        return render(request, "web/_error.html", context, status=200)
    return render(request, "web/error.html", context, status=error.status)


class DomainErrorMiddleware:
    """Renders a DomainError escaping a page's view as a message instead of a server error."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, DomainError) or request.path.startswith(JSON_PREFIXES):
            return None
        return render_domain_error(request, exception)


# FHIR's IssueType for each status that Django itself answers.
_FHIR_CODES = {
    400: "invalid",
    404: "not-found",
    413: "too-long",
    415: "not-supported",
    500: "exception",
    503: "transient",
}


def api_error(request, status: int, code: str, detail, field: str | None = None):
    """The API's error shape for this path: an OperationOutcome under /fhir/, `{error, detail, field}` under
    /api/; None for any other path (a page)."""
    from django.http import JsonResponse

    if request.path.startswith("/fhir/"):
        issue = {"severity": "error", "code": _FHIR_CODES.get(status, "processing"), "diagnostics": str(detail)}
        if field:
            issue["expression"] = [field]
        outcome = {"resourceType": "OperationOutcome", "issue": [issue]}
        return JsonResponse(outcome, status=status, content_type="application/fhir+json")
    if request.path.startswith(JSON_PREFIXES):
        return JsonResponse({"error": code, "detail": str(detail), "field": field}, status=status)
    return None


def body_error(exception) -> tuple[int, str, str] | None:
    """Status, code and message for a request body Django could not read, or None for another error."""
    from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
    from django.http.multipartparser import MultiPartParserError
    from django.http.request import RawPostDataException

    if isinstance(exception, RequestDataTooBig):
        return 413, "too_large", _("The request body is larger than this server accepts.")
    if isinstance(exception, TooManyFieldsSent | TooManyFilesSent):
        return 413, "too_large", _("The request has more fields or files than this server accepts.")
    if isinstance(exception, MultiPartParserError):
        return 400, "bad_request", _("The request body is not well-formed multipart form data.")
    if isinstance(exception, RawPostDataException):
        return 415, "unsupported_media_type", _("This route reads a JSON body: send it as application/json.")
    return None


def database_unavailable(exception) -> bool:
    from django.db import InterfaceError, OperationalError

    return isinstance(exception, OperationalError | InterfaceError)


def not_found(request, exception=None):
    """Django's 404 for a path no route serves: JSON under the API prefixes, else the page."""
    from django.views.defaults import page_not_found

    return api_error(request, 404, "not_found", _("Not found.")) or page_not_found(request, exception)


def bad_request(request, exception=None):
    """Django's 400 (an unreadable or oversized body, a bad host): in the API's shape under its prefixes."""
    from django.views.defaults import bad_request as page_bad_request

    status, code, message = body_error(exception) or (400, "bad_request", _("The request could not be read."))
    return api_error(request, status, code, message) or page_bad_request(request, exception)


def server_error(request):
    """Django's 500: a database outage is a 503 (try again), and the API answers in its own shape."""
    import sys

    from django.http import HttpResponse
    from django.views.defaults import server_error as page_server_error

    exception = sys.exc_info()[1]
    if database_unavailable(exception):
        message = _("The service is briefly unavailable. Please try again in a minute.")
        response = api_error(request, 503, "unavailable", message) or HttpResponse(
            str(message), status=503, content_type="text/plain; charset=utf-8"
        )
        response["Retry-After"] = "30"
        return response
    detail = _("Something went wrong on our side; it has been logged.")
    return api_error(request, 500, "server_error", detail) or page_server_error(request)
