"""Signed-in sessions end after an idle time (staff sooner than patients) and at an absolute limit; every page
carries a Content-Security-Policy that allows no inline script."""

import datetime

import pytest
from django.test import override_settings

from laihua.kit import clock

pytestmark = pytest.mark.django_db


@pytest.fixture
def frozen(monkeypatch):
    """A clock the test moves by hand."""
    moment = {"now": clock.now()}
    monkeypatch.setattr(clock, "now", lambda: moment["now"])

    def advance(**delta):
        moment["now"] += datetime.timedelta(**delta)

    return advance


def signed_in_status(client) -> int:
    return client.get("/api/me").status_code


@override_settings(LAIHUA_STAFF_IDLE_MINUTES=30, LAIHUA_PATIENT_IDLE_MINUTES=120)
def test_a_staff_session_ends_after_30_idle_minutes(client, users, frozen):
    client.force_login(users["coordinator"])
    assert signed_in_status(client) == 200
    frozen(minutes=29)
    assert signed_in_status(client) == 200  # activity keeps it alive
    frozen(minutes=29)
    assert signed_in_status(client) == 200
    frozen(minutes=31)
    assert signed_in_status(client) == 401
    page = client.get("/en/cases/")
    assert page.status_code == 302 and "/accounts/login/" in page["Location"]


@override_settings(LAIHUA_STAFF_IDLE_MINUTES=30, LAIHUA_PATIENT_IDLE_MINUTES=120)
def test_a_patient_may_stay_idle_longer_than_staff(client, patient, frozen):
    client.force_login(patient.user)
    assert signed_in_status(client) == 200
    frozen(minutes=90)
    assert signed_in_status(client) == 200
    frozen(minutes=121)
    assert signed_in_status(client) == 401


@override_settings(LAIHUA_STAFF_IDLE_MINUTES=30, LAIHUA_SESSION_MAX_HOURS=12)
def test_a_session_ends_at_its_absolute_limit_however_active(client, users, frozen):
    client.force_login(users["coordinator"])
    for _step in range(12 * 4):
        assert signed_in_status(client) == 200
        frozen(minutes=15)
    frozen(minutes=1)  # 12 hours and a minute after signing in
    assert signed_in_status(client) == 401


def test_the_signed_out_page_says_why(client, users, frozen):
    client.force_login(users["coordinator"])
    client.get("/en/cases/")
    frozen(hours=1)
    response = client.get("/en/accounts/login/")
    assert "without activity" in response.content.decode()


def test_pages_carry_a_policy_without_inline_script(client):
    response = client.get("/en/")
    policy = response["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    assert directives["script-src"] == "'self'" and "unsafe" not in directives["script-src"]
    assert directives["frame-ancestors"] == "'none'" and directives["object-src"] == "'none'"
    html = response.content.decode()
    assert "<script>" not in html and " onchange=" not in html and "hx-on" not in html
    assert '"allowEval": false' in html
