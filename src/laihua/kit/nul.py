"""Text may not hold the NUL character (PostgreSQL cannot store it): a request carrying one in a query
parameter, a form field, a header or a JSON value is refused before any view runs, naming the field, in
the user's language; as JSON under /api/, as an OperationOutcome under /fhir/, else as a page."""

import json

from django.conf import settings
from django.utils.translation import gettext as _

from laihua.errors import InvalidInput
from laihua.kit.weberrors import JSON_PREFIXES, api_error, body_error, render_domain_error

NUL = "\x00"


def _in_pairs(pairs) -> str | None:
    for key, values in pairs:
        if NUL in key or any(NUL in value for value in values if isinstance(value, str)):
            return key.replace(NUL, "")
    return None


def _in_json(value, path: str = "") -> str | None:
    """The dotted path of the first string (or key) holding a NUL, or None."""
    if isinstance(value, str):
        return (path or "body") if NUL in value else None
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = ((str(index), item) for index, item in enumerate(value))
    else:
        return None
    for key, item in items:
        if NUL in key:
            return f"{path}.{key}".strip(".").replace(NUL, "")
        found = _in_json(item, f"{path}.{key}".strip("."))
        if found is not None:
            return found
    return None


def _fits_memory(request) -> bool:
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return False
    return length <= (settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0)


def nul_field(request) -> str | None:
    """The name of the first field of the request that holds a NUL, or None."""
    found = _in_pairs(request.GET.lists())
    if found is not None:
        return found
    for name, value in request.META.items():
        if name.startswith("HTTP_") and isinstance(value, str) and NUL in value:
            return name[5:].replace("_", "-").title()
    content_type = request.content_type or ""
    if content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        if content_type == "multipart/form-data" and request.path.startswith(JSON_PREFIXES) and _fits_memory(request):
            # Keep the raw body readable: a JSON route sent a multipart body must answer, not fail on a spent stream.
            request.body  # noqa: B018 - reading it caches it, and the form is then parsed from the cache
        return _in_pairs(request.POST.lists())
    if "json" in content_type and b"\\u0000" in request.body:
        try:
            return _in_json(json.loads(request.body))
        except (ValueError, RecursionError):  # not JSON, or nested too deep to parse: the route answers
            return None
    return None


class NulCharacterMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            field = nul_field(request)
        except Exception as exc:
            # A body Django cannot read (too large, malformed multipart): the API answers in its own shape;
            # a page gets Django's 400 (handler400).
            problem = body_error(exc)
            answer = api_error(request, *problem) if problem else None
            if answer is None:
                raise
            return answer
        if field is None:
            return self.get_response(request)
        error = InvalidInput(
            _("%(field)s holds the NUL character, which text may not contain.") % {"field": field}, field=field
        )
        return api_error(request, 422, error.code, error.message, field) or render_domain_error(request, error)
