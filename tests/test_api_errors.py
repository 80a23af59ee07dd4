"""Clients' mistakes answer in the JSON error shape, in the user's language, never as an HTML 500; the
client's address is the one the trusted proxy saw."""

import pytest
from django.test import Client, override_settings

from laihua.audit.models import AuditEvent

pytestmark = pytest.mark.django_db


def error_of(response) -> dict:
    assert response["Content-Type"].startswith(("application/json", "application/fhir+json"))
    return response.json()


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"offset": "99999999999999999999999"}, "offset"),
        ({"limit": "0"}, "limit"),
        ({"limit": "201"}, "limit"),
    ],
)
def test_search_paging_out_of_range_is_refused_naming_the_field(client, params, field):
    response = client.get("/api/catalog/search", {"q": "mri", **params})
    assert response.status_code == 422 and error_of(response)["field"] == field


def test_a_page_number_out_of_range_is_a_message_not_a_server_error(client):
    response = client.get("/en/prices/", {"page": "99999999999999999999999"})
    assert response.status_code == 422 and b"page number" in response.content


def test_input_errors_speak_the_users_language(client):
    english = error_of(client.get("/api/catalog/search", {"limit": "abc"}))
    chinese = error_of(client.get("/api/catalog/search", {"limit": "abc"}, HTTP_ACCEPT_LANGUAGE="zh-hans"))
    assert english == {"error": "invalid", "detail": "Enter a whole number.", "field": "limit"}
    assert chinese["field"] == "limit" and chinese["detail"] != english["detail"]
    assert all("\u4e00" <= ch <= "\u9fff" for ch in chinese["detail"].rstrip("。."))


def test_a_rate_date_before_any_rate_is_a_clear_error(client):
    response = client.get("/api/rates/convert", {"amount": "1", "currency": "USD", "date": "0001-01-01"})
    assert response.status_code in (404, 409, 422) and error_of(response)["field"] == "currency"


def test_writing_without_credentials_is_unauthenticated_not_a_csrf_failure(client):
    response = client.post("/api/catalog/manage/items", {}, content_type="application/json")
    assert response.status_code == 401 and error_of(response)["error"] == "unauthenticated"


def test_a_signed_in_browser_without_the_csrf_token_is_told_so(users):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(users["coordinator"])
    response = browser.post("/api/catalog/manage/items", {}, content_type="application/json")
    assert response.status_code == 403 and error_of(response)["error"] == "csrf"


def test_unknown_api_paths_answer_json(client):
    api = client.get("/api/no-such-thing")
    assert api.status_code == 404 and error_of(api)["error"] == "not_found"
    fhir = client.get("/fhir/NoSuchResource/1")
    assert fhir.status_code == 404 and error_of(fhir)["resourceType"] == "OperationOutcome"
    page = client.get("/en/no-such-page/")
    assert page.status_code == 404 and page["Content-Type"].startswith("text/html")


@pytest.mark.parametrize(("behind_proxy", "expected"), [(True, "203.0.113.9"), (False, "10.0.0.2")])
def test_the_audited_address_is_the_clients_behind_the_trusted_proxy(users, behind_proxy, expected):
    browser = Client(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="198.51.100.1, 203.0.113.9")
    browser.force_login(users["hospital_admin"])
    with override_settings(BEHIND_PROXY=behind_proxy):
        assert browser.get("/en/manage/audit/").status_code == 200
    assert AuditEvent.objects.order_by("-pk").values_list("ip_address", flat=True).first() == expected


@pytest.mark.parametrize(
    ("path", "kwargs", "field"),
    [
        ("/api/catalog/search", {"data": {"q": "mri\x00"}}, "q"),
        ("/api/catalog/search", {"data": {"q": "mri"}, "HTTP_IDEMPOTENCY_KEY": "a\x00b"}, "Idempotency-Key"),
    ],
)
def test_a_nul_character_in_a_query_or_header_is_refused_naming_it(client, path, kwargs, field):
    response = client.get(path, **kwargs)
    assert response.status_code == 422 and error_of(response)["field"] == field
    response = client.get(path, HTTP_ACCEPT_LANGUAGE="zh-hans", **kwargs)
    assert "NUL" in error_of(response)["detail"] and "字符" in error_of(response)["detail"]


def test_a_nul_character_in_json_names_its_path_and_saves_nothing(client, users):
    from laihua.accounts.services import create_api_token

    token = create_api_token(users["coordinator"], users["coordinator"], "t")[1]
    before = AuditEvent.objects.count()
    response = client.post(
        "/api/capacity/bookings",
        '{"case": "LH-1", "item": "MRI-01", "day": "2030-01-01", "notes": [{"text": "a\\u0000"}]}',
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == 422 and error_of(response)["field"] == "notes.0.text"
    assert AuditEvent.objects.count() == before
    fhir = client.post("/fhir/Bundle", '{"resourceType": "Bundle\\u0000"}', content_type="application/fhir+json")
    assert fhir.status_code == 422 and error_of(fhir)["issue"][0]["expression"] == ["resourceType"]


def test_a_nul_character_in_a_form_is_a_message_on_the_page(client):
    response = client.post("/en/accounts/login/", {"username": "a\x00", "password": "x"})
    assert response.status_code == 422 and b"username" in response.content


def test_deeply_nested_json_with_a_nul_is_not_a_server_error(client):
    body = "[" * 100_000 + '"\\u0000"' + "]" * 100_000
    response = client.post("/api/capacity/bookings", body, content_type="application/json")
    assert response.status_code < 500
