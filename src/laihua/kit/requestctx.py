"""The current request's client address, so that services can audit without taking the request."""

import contextvars

from django.conf import settings

client_ip: contextvars.ContextVar[str | None] = contextvars.ContextVar("client_ip", default=None)
channel: contextvars.ContextVar[str] = contextvars.ContextVar("channel", default="cli")


def client_address(request) -> str | None:
    """The client's address: behind the trusted proxy (LAIHUA_BEHIND_PROXY), the address that proxy
    appended last to X-Forwarded-For (earlier entries come from the client and prove nothing)."""
    if settings.BEHIND_PROXY:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        if forwarded and forwarded[-1]:
            return forwarded[-1]
    return request.META.get("REMOTE_ADDR")


class RequestContextMiddleware:
    """Records the client address and channel (web or api) for the duration of a request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        ip = client_address(request)
        ip_token = client_ip.set(ip)
        channel_token = channel.set("api" if request.path.startswith(("/api/", "/fhir/")) else "web")
        try:
            return self.get_response(request)
        finally:
            client_ip.reset(ip_token)
            channel.reset(channel_token)
