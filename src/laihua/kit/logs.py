"""Log records carry the current request id (laihua.kit.requestctx.request_id): set by the request's
middleware in the application servers, and by the job's headers in the workers (laihua.jobs.signals)."""

import logging

from laihua.kit.requestctx import request_id


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to every record ("" outside a request or a job a request started)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", ""):
            # Django logs a failed response after the middleware that holds the id has returned: its record
            # carries the request itself.
            request = getattr(record, "request", None)
            record.request_id = request_id.get() or getattr(request, "request_id", "")
        return True
