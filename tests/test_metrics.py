"""/metrics: Prometheus' text for requests, jobs and the broker's queues, only to the bearer token or an allowed
network (absent both: no such page); several worker processes' counts add up with PROMETHEUS_MULTIPROC_DIR."""

import ipaddress
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from laihua.kit import metrics

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "metrics-token-for-the-tests-only-0123456789"
REDIS = "redis://127.0.0.1:6379/0"

pytestmark = pytest.mark.django_db


def scrape(client) -> dict[tuple[str, tuple], float]:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/plain; version=0.0.4")
    return parse(response.content.decode())


def parse(text: str) -> dict[tuple[str, tuple], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples, name, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture
def token(settings):
    settings.LAIHUA_METRICS_TOKEN = TOKEN


def test_without_a_token_or_a_network_there_is_no_metrics_page(client, settings):
    settings.LAIHUA_METRICS_TOKEN, settings.LAIHUA_METRICS_NETWORKS = "", []
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 404


def test_only_the_bearer_token_opens_the_metrics(client, token):
    assert client.get("/metrics").status_code == 401
    refused = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}x")
    assert refused.status_code == 401 and refused["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Basic {TOKEN}").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200


def test_an_allowed_network_opens_the_metrics_without_a_token(client, settings):
    settings.LAIHUA_METRICS_TOKEN = ""
    settings.LAIHUA_METRICS_NETWORKS = [ipaddress.ip_network("10.0.0.0/8")]
    assert client.get("/metrics").status_code == 401  # the test client is 127.0.0.1
    settings.LAIHUA_METRICS_NETWORKS = [ipaddress.ip_network("127.0.0.0/8")]
    assert client.get("/metrics").status_code == 200


def test_requests_are_counted_and_timed_by_route_name_and_status(client, token):
    before = scrape(client)
    client.get("/healthz")
    client.get("/healthz")
    client.get("/en/no-such-page-at-all/")
    after = scrape(client)
    counted = {"route": "healthz", "method": "GET", "status": "200"}
    assert (
        value(after, "laihua_http_requests_total", **counted)
        == value(before, "laihua_http_requests_total", **counted) + 2
    )
    timed = {"route": "healthz", "status": "200"}
    assert (
        value(after, "laihua_http_request_duration_seconds_count", **timed)
        == value(before, "laihua_http_request_duration_seconds_count", **timed) + 2
    )
    assert value(after, "laihua_http_request_duration_seconds_sum", **timed) > value(
        before, "laihua_http_request_duration_seconds_sum", **timed
    )
    missing = {"route": "unmatched", "method": "GET", "status": "404"}
    assert (
        value(after, "laihua_http_requests_total", **missing)
        == value(before, "laihua_http_requests_total", **missing) + 1
    )
    assert not any("no-such-page" in str(labels) for _name, labels in after)


def test_jobs_are_counted_by_task_and_outcome(client, token):
    Celery = pytest.importorskip("celery").Celery  # a dependency of the background jobs

    app = Celery("laihua-metrics-test", broker="memory://", set_as_current=False)
    app.conf.task_always_eager = True

    @app.task(name="laihua.tests.metrics.adds", shared=False)
    def adds(a, b):
        return a + b

    @app.task(name="laihua.tests.metrics.fails", shared=False)
    def fails():
        raise ValueError("on purpose")

    before = scrape(client)
    assert adds.delay(2, 3).get() == 5
    fails.delay()  # an eager failure is kept in the result, not raised
    after = scrape(client)
    for task, outcome in (("laihua.tests.metrics.adds", "success"), ("laihua.tests.metrics.fails", "failure")):
        labels = {"task": task, "outcome": outcome}
        assert value(after, "laihua_jobs_total", **labels) == value(before, "laihua_jobs_total", **labels) + 1


def test_the_queues_lengths_are_read_from_the_broker(client, token, settings):
    import redis

    queue = f"laihua-test-{uuid.uuid4().hex[:8]}"
    settings.BROKER_URL, settings.CELERY_TASK_DEFAULT_QUEUE = REDIS, queue
    server = redis.Redis.from_url(REDIS)
    try:
        server.rpush(queue, "a", "b", "c")
        server.rpush(queue + "\x06\x166", "urgent")
        samples = scrape(client)
        assert value(samples, "laihua_broker_up") == 1
        assert value(samples, "laihua_queue_length", queue=queue) == 4
        server.lpop(queue)
        assert value(scrape(client), "laihua_queue_length", queue=queue) == 3
    finally:
        server.delete(queue, queue + "\x06\x166")
        server.close()


def test_a_broker_down_is_a_value_not_a_failed_scrape(client, token, settings):
    from tests.objectstore import free_port

    settings.BROKER_URL = f"redis://127.0.0.1:{free_port()}/0"
    samples = scrape(client)
    assert value(samples, "laihua_broker_up") == 0
    assert not any(name == "laihua_queue_length" for name, _labels in samples)


def test_without_a_broker_no_queue_is_reported(client, token, settings):
    settings.BROKER_URL = ""
    assert not any(name.startswith(("laihua_queue", "laihua_broker")) for name, _labels in scrape(client))


COUNT_IN_ANOTHER_PROCESS = (
    "from laihua.kit import metrics; "
    "metrics.REQUESTS.labels('healthz', 'GET', '200').inc(); metrics.LATENCY.labels('healthz', '200').observe(0.02)"
)


def test_several_processes_counts_add_up_in_multiprocess_mode(client, token, settings, tmp_path):
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT / "src"),
        "DJANGO_SETTINGS_MODULE": "laihua.settings",
        "LAIHUA_TESTING": "1",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
    }
    processes = [subprocess.Popen([sys.executable, "-c", COUNT_IN_ANOTHER_PROCESS], env=env) for _ in range(2)]
    assert [process.wait(timeout=60) for process in processes] == [0, 0]
    settings.PROMETHEUS_MULTIPROC_DIR = str(tmp_path)
    samples = parse(metrics.exposition().decode())
    assert value(samples, "laihua_http_requests_total", route="healthz", method="GET", status="200") == 2
    assert value(samples, "laihua_http_request_duration_seconds_count", route="healthz", status="200") == 2
