"""The current request's client address, so that services can audit without taking the request."""

import contextvars

client_ip: contextvars.ContextVar[str | None] = contextvars.ContextVar("client_ip", default=None)
channel: contextvars.ContextVar[str] = contextvars.ContextVar("channel", default="cli")


class RequestContextMiddleware:
    """Records the client address and channel (web or api) for the duration of a request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        ip = request.META.get("REMOTE_ADDR")
        ip_token = client_ip.set(ip)
        channel_token = channel.set("api" if request.path.startswith(("/api/", "/fhir/")) else "web")
        try:
            return self.get_response(request)
        finally:
            client_ip.reset(ip_token)
            channel.reset(channel_token)
