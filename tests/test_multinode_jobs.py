"""Two application servers and a job worker as separate processes on one PostgreSQL database and one Redis
(tests/multinode_harness.py): a rate saved through one server shows through the other at once, and an e-mail
queued by a request is sent exactly once although its worker is killed in the middle and started again.

Skipped without PostgreSQL (like every postgres_only test) or without Redis at 127.0.0.1:6379; under
LAIHUA_REQUIRE_POSTGRES=1 (CI) a Redis that cannot be reached fails the test instead."""

import json
import os
import time

import pytest

from tests.multinode_harness import Cluster, SmtpSink, post_form, redis_reachable, signed_in_client, wait_until

pytestmark = [pytest.mark.postgres_only]

PASSWORD = "correct-horse-battery-staple"
SEED = f"""
import datetime
from decimal import Decimal
from laihua.accounts.models import Role, User
from tests.builders import make_hospital, make_item, make_user

hospital = make_hospital()
make_item(hospital, price=Decimal("1000.00"))
make_user("patient1", Role.PATIENT)  # e-mail patient1@example.test
User.objects.create_superuser("root", "root@example.test", "{PASSWORD}", role=Role.PLATFORM_ADMIN)
"""


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    url = os.environ.get("LAIHUA_TEST_DATABASE_URL", "")
    if not url.startswith("postgres"):
        pytest.skip("needs PostgreSQL: set LAIHUA_TEST_DATABASE_URL")
    if not redis_reachable():
        if os.environ.get("LAIHUA_REQUIRE_POSTGRES") == "1":
            pytest.fail("Redis at 127.0.0.1:6379 cannot be reached; the multi-node test needs it.")
        pytest.skip("needs Redis at 127.0.0.1:6379")
    folder = tmp_path_factory.mktemp("multinode")
    # A job a dead worker took is given back after 3 s instead of an hour, so that its restart takes it again.
    with Cluster(folder, url, extra_env={"LAIHUA_JOB_VISIBILITY_SECONDS": "3"}) as running:
        running.run_python(SEED)
        yield running


def converted_rate(server, currency: str) -> str | None:
    import httpx

    response = httpx.get(f"{server.url}/api/catalog/search", params={"currency": currency}, timeout=30)
    assert response.status_code == 200, response.text
    (item,) = response.json()["results"]
    return str(item["converted"]["cny_per_unit"])


def test_a_rate_saved_through_one_server_shows_through_the_other_at_once(cluster):
    first, second = cluster.start_server("server-a"), cluster.start_server("server-b")
    admin = signed_in_client(first.url, "root", PASSWORD)
    today = time.strftime("%Y-%m-%d")
    added = post_form(
        admin,
        "/en/admin/rates/exchangerate/add/",
        {"currency": "AED", "rate_date": today, "cny_per_unit": "1.95", "source": "Bank of the test"},
    )
    listing = "/en/admin/rates/exchangerate/"
    assert (added.status_code, added.headers.get("location")) == (302, listing), added.text[-2000:]
    assert converted_rate(second, "AED") == "1.95000000"  # read, and kept in the shared cache, by the second

    rate_id = cluster.run_python(
        "from laihua.rates.models import ExchangeRate; print(ExchangeRate.objects.get(currency='AED').pk)"
    ).strip()
    changed = post_form(
        admin,
        f"/en/admin/rates/exchangerate/{rate_id}/change/",
        {"currency": "AED", "rate_date": today, "cny_per_unit": "2.05", "source": "Bank of the test"},
    )
    assert (changed.status_code, changed.headers.get("location")) == (302, listing)
    assert converted_rate(second, "AED") == "2.05000000"  # at once: no minute of the old rate
    assert converted_rate(first, "AED") == "2.05000000"


def test_an_email_is_sent_exactly_once_when_its_worker_is_killed_mid_job(cluster):
    import httpx

    server = cluster.start_server("server-mail")
    with SmtpSink(slow_first=60) as sink:
        env = {"LAIHUA_EMAIL_HOST": "127.0.0.1", "LAIHUA_EMAIL_PORT": str(sink.port)}
        worker = cluster.start_worker("worker-1", env=env)
        client = httpx.Client(base_url=server.url, timeout=30)
        asked = post_form(
            client,
            "/en/accounts/password/reset/",
            {"email": "patient1@example.test"},
            headers={"X-Request-ID": "reset-1"},
        )
        assert asked.status_code == 302, asked.text[-2000:]
        assert asked.headers["X-Request-ID"] == "reset-1"

        # The worker took the job and waits for the slow mail server: it dies there, before the server took it.
        wait_until(sink.slowed.is_set, 60, "the worker to reach the mail server", logs=cluster.logs())
        worker.kill()
        assert sink.messages == []
        row = json.loads(
            cluster.run_python(
                "import json\nfrom laihua.jobs.models import OutgoingEmail\n"
                "row = OutgoingEmail.objects.get()\n"
                "print(json.dumps({'status': row.status, 'key': str(row.key), 'request_id': row.request_id}))"
            )
        )
        assert row["status"] == "pending" and row["request_id"] == "reset-1"

        time.sleep(4)  # past the visibility time-out: the job the dead worker held is given back at the restart
        restarted = cluster.start_worker("worker-2", env=env)
        wait_until(lambda: len(sink.messages) >= 1, 60, "the e-mail to be sent", logs=cluster.logs())
        # Time for any second delivery to happen (the job again, the sweeper): there is none.
        time.sleep(6)
        assert len(sink.messages) == 1
        message = sink.messages[0]
        assert message["To"] == "patient1@example.test"
        assert message["Message-ID"] == f"<{row['key']}@laihua>"
        state = cluster.run_python(
            "from laihua.jobs.models import OutgoingEmail\nrow = OutgoingEmail.objects.get()\n"
            "print(row.status, row.attempts, row.sent_at is not None)"
        ).split()
        assert state == ["sent", "1", "True"]
        # The restarted worker's log lines about the job carry the request's id.
        lines = [json.loads(line) for line in restarted.output().splitlines() if line.startswith("{")]
        assert any(line.get("request_id") == "reset-1" and "sent" in line["message"] for line in lines)
        restarted.stop()
