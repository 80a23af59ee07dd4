"""The current request's client address, so that services can audit without taking the request, and its
request id, which every log line carries (laihua.kit.logs) and the jobs the request starts inherit."""

import contextvars
import logging
import re
import time
import uuid

from django.conf import settings

client_ip: contextvars.ContextVar[str | None] = contextvars.ContextVar("client_ip", default=None)
channel: contextvars.ContextVar[str] = contextvars.ContextVar("channel", default="cli")
request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")

REQUEST_ID_HEADER = "X-Request-ID"
# An id sent by the proxy or the client is kept when it is a plain token (a UUID, a trace id); anything else
# (too long, spaces, control characters that could forge log lines) is replaced by a new one.
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
logger = logging.getLogger("laihua.request")


def new_request_id() -> str:
    return uuid.uuid4().hex


def incoming_request_id(request) -> str:
    """The request's X-Request-ID when it is a plain token, else a new id."""
    sent = request.META.get("HTTP_X_REQUEST_ID", "")
    return sent if _REQUEST_ID.match(sent) else new_request_id()


def client_address(request) -> str | None:
    """The client's address: behind the trusted proxy (LAIHUA_BEHIND_PROXY), the address that proxy
    appended last to X-Forwarded-For (earlier entries come from the client and prove nothing)."""
    if settings.BEHIND_PROXY:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        if forwarded and forwarded[-1]:
            return forwarded[-1]
    return request.META.get("REMOTE_ADDR")


class RequestContextMiddleware:
    """Records the client address, channel (web or api) and request id for the duration of a request; the
    response carries the id in X-Request-ID, and one log line names the request, its status and time."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        ip = client_address(request)
        ip_token = client_ip.set(ip)
        channel_token = channel.set("api" if request.path.startswith(("/api/", "/fhir/")) else "web")
        request.request_id = incoming_request_id(request)
        id_token = request_id.set(request.request_id)
        started = time.monotonic()
        try:
            response = self.get_response(request)
            response[REQUEST_ID_HEADER] = request.request_id
            logger.info(
                "%s %s %s",
                request.method,
                request.path,
                response.status_code,
                extra={
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": round((time.monotonic() - started) * 1000, 1),
                },
            )
            return response
        finally:
            client_ip.reset(ip_token)
            channel.reset(channel_token)
            request_id.reset(id_token)
