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


def not_found(request, exception=None):
    """Django's 404 for a path no route serves: JSON under the API prefixes, else the page."""
    from django.http import JsonResponse
    from django.views.defaults import page_not_found

    if request.path.startswith("/fhir/"):
        outcome = {
            "resourceType": "OperationOutcome",
            "issue": [{"severity": "error", "code": "not-found", "diagnostics": str(_("Not found."))}],
        }
        return JsonResponse(outcome, status=404, content_type="application/fhir+json")
    if request.path.startswith(JSON_PREFIXES):
        return JsonResponse({"error": "not_found", "detail": str(_("Not found.")), "field": None}, status=404)
    return page_not_found(request, exception)
