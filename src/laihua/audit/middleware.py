"""Pages: a refused access escaping a view is audited (`record_refusal`) before the page shows the refusal.

Listed after `kit.weberrors.DomainErrorMiddleware` in MIDDLEWARE, so that its `process_exception` runs first
and lets that one render the page. /api/ and /fhir/ record in their own error handlers (api.py, fhir_api.py)."""

from laihua.audit.services import record_refusal
from laihua.errors import DomainError
from laihua.kit.weberrors import JSON_PREFIXES


class RefusedAccessMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, DomainError) and not request.path.startswith(JSON_PREFIXES):
            record_refusal(request, exception)
        return None
