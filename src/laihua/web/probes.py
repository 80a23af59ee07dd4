"""What the infrastructure asks: /healthz for load balancers and operators, /metrics for Prometheus."""

import hmac
import ipaddress

from django.conf import settings
from django.http import Http404, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from laihua import __name__ as app_name
from laihua.kit import health, metrics
from laihua.kit.requestctx import client_address


@never_cache
@require_GET
def healthz(request):
    """The database, cache, broker and storage, each with its state: 503 only when the database is down."""
    body, status = health.report()
    return JsonResponse({"application": app_name, **body}, status=status)


def _from_allowed_network(request) -> bool:
    networks = settings.LAIHUA_METRICS_NETWORKS
    if not networks:
        return False
    try:
        address = ipaddress.ip_address(client_address(request) or "")
    except ValueError:
        return False
    return any(address in network for network in networks)


def _has_token(request) -> bool:
    token = settings.LAIHUA_METRICS_TOKEN
    scheme, _space, given = request.headers.get("Authorization", "").partition(" ")
    return bool(token) and scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


@never_cache
@require_GET
def metrics_view(request):
    """Prometheus' text format, to the bearer token LAIHUA_METRICS_TOKEN or an address in LAIHUA_METRICS_NETWORKS;
    with neither configured there is no such page (404)."""
    if not settings.LAIHUA_METRICS_TOKEN and not settings.LAIHUA_METRICS_NETWORKS:
        raise Http404("metrics are not enabled")
    if not (_has_token(request) or _from_allowed_network(request)):
        response = HttpResponse("metrics need a bearer token or an allowed address\n", status=401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        response["Content-Type"] = "text/plain; charset=utf-8"
        return response
    return HttpResponse(metrics.exposition(), content_type="text/plain; version=0.0.4; charset=utf-8")
