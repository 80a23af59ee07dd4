"""Who reads which analytics, on the page, in the CSV export and in the JSON API: a hospital's admin, coordinators
and finance their own hospital's (another hospital's is 404 and shows none of its figures), the city health
commission and platform admins every hospital's and the city's side by side; clinicians, insurer agents and
patients 403; the public nothing (the login page, or 401)."""

import pytest
from django.urls import reverse

from laihua.accounts.models import Role
from laihua.accounts.services import create_api_token
from laihua.analytics import services
from laihua.analytics.tests.conftest import PERIOD
from laihua.audit.models import AuditEvent
from tests.builders import make_user

pytestmark = pytest.mark.django_db

EAST = {
    "hospital_admin": 200,
    "coordinator": 200,
    "finance": 200,
    "clinician": 403,
    "patient": 403,
    "insurer_agent": 403,
    "other_admin": 404,
    "other_coordinator": 404,
    "platform_admin": 200,
    "city": 200,
}
CITY = {**EAST, "hospital_admin": 403, "coordinator": 403, "finance": 403, "other_admin": 403, "other_coordinator": 403}


@pytest.fixture
def people(users, history):
    services.refresh_all(only_changed=False)
    return {**users, "city": make_user("city", Role.CITY_HEALTH_COMMISSION)}


def bearer(user):
    return {"Authorization": f"Bearer {create_api_token(user, user, 'test')[1]}"}


@pytest.mark.parametrize(("who", "status"), EAST.items())
def test_east_hospital_page_csv_and_api(client, people, who, status):
    actor = people[who]
    api = client.get("/api/analytics/hospitals/east", PERIOD, headers=bearer(actor))
    assert api.status_code == status
    one = client.get("/api/analytics/hospitals/east/activity", PERIOD, headers=bearer(actor))
    assert one.status_code == status
    client.force_login(actor)
    page = client.get(reverse("analytics:hospital", args=["east"]), PERIOD)
    assert page.status_code == status
    csv = client.get(reverse("analytics:hospital_csv", args=["east", "activity"]), PERIOD)
    assert csv.status_code == status
    if status == 200:
        assert api.json()["views"][0]["rows"][0] == {
            "month": "2026-01",
            "inquiries": 2,
            "quotes": 2,
            "acceptances": 1,
            "arrivals": 0,
            "discharges": 0,
        }
        assert "East Demo Hospital" in page.content.decode()
        assert csv.content.decode().splitlines()[1] == "2026-01,2,2,1,0,0"
    else:
        assert "East Demo Hospital" not in page.content.decode()
        assert "2026-01,2,2,1" not in csv.content.decode()
        assert AuditEvent.objects.filter(action="access.refused", actor=actor).exists()


@pytest.mark.parametrize(("who", "status"), CITY.items())
def test_city_page_csv_and_api(client, people, who, status):
    actor = people[who]
    assert client.get("/api/analytics/city", PERIOD, headers=bearer(actor)).status_code == status
    client.force_login(actor)
    page = client.get(reverse("analytics:city"), PERIOD)
    assert page.status_code == status
    assert client.get(reverse("analytics:city_csv", args=["funnel"]), PERIOD).status_code == status
    if status == 200:
        text = page.content.decode()
        assert "East Demo Hospital" in text and "West Demo Hospital" in text


def test_own_page_without_a_slug(client, people):
    client.force_login(people["other_admin"])
    page = client.get(reverse("analytics:hospital_own"), PERIOD)
    assert page.status_code == 200
    text = page.content.decode()
    assert "West Demo Hospital" in text and "East Demo Hospital" not in text
    # Another hospital's slug in the query is refused, not quietly replaced by one's own.
    assert client.get(reverse("analytics:hospital_own"), {"hospital": "east"}).status_code == 404


def test_unknown_hospital_and_view(client, people):
    headers = bearer(people["city"])
    assert client.get("/api/analytics/hospitals/nowhere", headers=headers).status_code == 404
    assert client.get("/api/analytics/hospitals/east/nothing", headers=headers).status_code == 404
    assert client.get("/api/analytics/city/departments", headers=headers).status_code == 404
    bad = client.get("/api/analytics/city", {"country": "XX"}, headers=headers)
    assert bad.status_code == 422
    assert bad.json()["field"] == "country"


@pytest.mark.parametrize(
    "url",
    [
        "/en/analytics/",
        "/en/analytics/city/",
        "/en/analytics/hospitals/east/",
        "/en/analytics/hospitals/east/activity.csv",
        "/en/analytics/city/activity.csv",
    ],
)
def test_the_public_sees_nothing(client, people, url):
    response = client.get(url)
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


@pytest.mark.parametrize("url", ["/api/analytics/city", "/api/analytics/hospitals/east", "/api/analytics/city/times"])
def test_the_public_api_is_refused(client, people, url):
    response = client.get(url)
    assert response.status_code == 401
    assert "rows" not in response.content.decode()
