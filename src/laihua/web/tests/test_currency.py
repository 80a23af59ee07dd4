from decimal import Decimal

import pytest
from django.urls import reverse

from laihua.audit.models import AuditEvent
from laihua.kit import clock
from laihua.rates.models import ExchangeRate
from laihua.web.tests.helpers import page_text

pytestmark = pytest.mark.django_db

URL = "/en/currency/"


@pytest.fixture
def usd(db):
    return ExchangeRate.objects.create(currency="USD", rate_date=clock.today(), cny_per_unit=Decimal("7.2"))


def test_chosen_currency_is_remembered_and_the_visitor_goes_back(client, mri, usd):
    response = client.post(URL, {"currency": "usd", "next": "/en/prices/?q=MRI&currency=GBP"})
    assert response.status_code == 302
    assert response["Location"] == "/en/prices/?q=MRI"  # a stale ?currency= would override the choice
    assert client.session["currency"] == "USD"
    assert "$67.50" in page_text(client.get("/en/prices/", {"q": "MRI"}))


def test_query_string_currency_wins_for_one_page_only(client, mri, usd):
    assert "$67.50" in page_text(client.get("/en/hospitals/east/services/MRI-01/", {"currency": "USD"}))
    assert "$67.50" not in page_text(client.get("/en/hospitals/east/services/MRI-01/"))
    assert "currency" not in client.session


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/steal",
        "//evil.example/steal",
        "http://testserver.evil.example/",
        "javascript:alert(1)",
    ],
)
def test_external_next_is_refused(client, usd, target):
    response = client.post(URL, {"currency": "USD", "next": target})
    assert response.status_code == 302
    assert response["Location"] == reverse("web:home")


def test_next_on_this_site_is_followed(client, usd):
    response = client.post(URL, {"currency": "USD", "next": "/en/hospitals/"})
    assert response["Location"] == "/en/hospitals/"


@pytest.mark.parametrize(
    ("currency", "message"),
    [
        ("XYZ", "“XYZ” is not an ISO 4217 currency code."),
        ("AED", "No exchange rate is known for AED."),
        ("BRL", "BRL is not one of the currencies offered here."),
        ("", "is not an ISO 4217 currency code."),
    ],
)
def test_currency_without_a_rate_is_not_stored_and_the_page_says_why(client, mri, currency, message):
    response = client.post(URL, {"currency": currency, "next": "/en/prices/"}, follow=True)
    assert response.status_code == 200
    assert message in page_text(response)
    assert "currency" not in client.session


def test_signed_in_choice_is_saved_on_the_profile_and_audited(client, users, usd):
    patient = users["patient"]
    client.force_login(patient)
    client.post(URL, {"currency": "USD", "next": "/en/"})
    patient.refresh_from_db()
    assert patient.preferred_currency == "USD"
    assert AuditEvent.objects.filter(action="accounts.preferences.update", actor=patient).exists()


def test_cny_choice_needs_no_rate(client):
    client.post(URL, {"currency": "CNY", "next": "/en/"})
    assert client.session["currency"] == "CNY"


def test_currency_is_changed_by_post_only(client, usd):
    assert client.get(URL, {"currency": "USD"}).status_code == 405
    assert "currency" not in client.session
