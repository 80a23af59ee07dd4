"""Prometheus metrics: requests (count and latency by route name and status), background jobs (count by task
and outcome, from Celery's signals when Celery is installed) and the broker's queue lengths (read from Redis at
each scrape). Served on /metrics to a bearer token or to listed networks (laihua.web.probes).

Several worker processes (gunicorn) each count their own requests: with PROMETHEUS_MULTIPROC_DIR set (an empty
folder, emptied at each start, shared by the processes of one host) prometheus_client writes every process's
values there and a scrape adds them up. See docs/operations.md, "Metrics"."""

import time

from django.conf import settings
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily

from laihua.kit import health

REQUESTS = Counter(
    "laihua_http_requests_total",
    "HTTP requests answered, by route name, method and status.",
    ["route", "method", "status"],
)
LATENCY = Histogram(
    "laihua_http_request_duration_seconds",
    "Time to answer an HTTP request, by route name and status.",
    ["route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5, 10),
)
JOBS = Counter("laihua_jobs_total", "Background jobs finished, by task and outcome.", ["task", "outcome"])
# Kombu's Redis transport keeps a queue's prioritised messages in lists named QUEUE, QUEUE\x06\x163, ...
PRIORITY_SUFFIXES = ("", "\x06\x163", "\x06\x166", "\x06\x169")


def route_of(request) -> str:
    """The URL pattern's name (a bounded set of labels), never the path with its ids."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        return "unmatched"
    return match.view_name or match.route or "unnamed"


class MetricsMiddleware:
    """Counts and times every request; first in MIDDLEWARE so that the time is the whole answer's."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        route, status = route_of(request), str(response.status_code)
        REQUESTS.labels(route, request.method, status).inc()
        LATENCY.labels(route, status).observe(time.perf_counter() - started)
        return response


def queue_names() -> list[str]:
    names = [getattr(settings, "CELERY_TASK_DEFAULT_QUEUE", "celery")]
    for queue in getattr(settings, "CELERY_TASK_QUEUES", None) or ():
        name = getattr(queue, "name", queue)
        if name not in names:
            names.append(name)
    return names


class QueueLengthCollector:
    """The broker queues' lengths at the moment of the scrape (Redis LLEN), when a broker is configured."""

    def collect(self):
        url = health.broker_url()
        if not url:
            return
        family = GaugeMetricFamily("laihua_queue_length", "Jobs waiting in the broker's queue.", labels=["queue"])
        up = GaugeMetricFamily("laihua_broker_up", "1 when the broker answered the scrape's question.")
        try:
            client = health.redis_client(url)
            try:
                for name in queue_names():
                    family.add_metric([name], sum(client.llen(name + suffix) for suffix in PRIORITY_SUFFIXES))
            finally:
                client.close()
        except Exception:  # noqa: BLE001 - a broker down is a value, not a failed scrape
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield family


def exposition() -> bytes:
    """The text every scrape gets: this process's (or, in multiprocess mode, every process's) values."""
    from prometheus_client import REGISTRY

    queues = CollectorRegistry()
    queues.register(QueueLengthCollector())
    if settings.PROMETHEUS_MULTIPROC_DIR:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=settings.PROMETHEUS_MULTIPROC_DIR)
        return generate_latest(registry) + generate_latest(queues)
    return generate_latest(REGISTRY) + generate_latest(queues)


def _task_name(sender=None, task=None, **_ignored) -> str:
    chosen = task or sender
    return getattr(chosen, "name", None) or str(chosen or "unknown")


def connect_job_signals() -> bool:
    """Count Celery's jobs by outcome, when Celery is installed; returns whether it is."""
    try:
        from celery import signals
    except ImportError:
        return False

    def succeeded(sender=None, **kwargs):
        JOBS.labels(_task_name(sender), "success").inc()

    def failed(sender=None, **kwargs):
        JOBS.labels(_task_name(sender), "failure").inc()

    def retried(sender=None, request=None, **kwargs):
        JOBS.labels(getattr(request, "task", None) or _task_name(sender), "retry").inc()

    def rejected(sender=None, message=None, **kwargs):
        JOBS.labels("unknown", "rejected").inc()

    def revoked(sender=None, request=None, **kwargs):
        JOBS.labels(getattr(request, "task", None) or _task_name(sender), "revoked").inc()

    signals.task_success.connect(succeeded, weak=False, dispatch_uid="laihua.metrics.success")
    signals.task_failure.connect(failed, weak=False, dispatch_uid="laihua.metrics.failure")
    signals.task_retry.connect(retried, weak=False, dispatch_uid="laihua.metrics.retry")
    signals.task_rejected.connect(rejected, weak=False, dispatch_uid="laihua.metrics.rejected")
    signals.task_revoked.connect(revoked, weak=False, dispatch_uid="laihua.metrics.revoked")
    return True
