import datetime
from decimal import Decimal

import pytest

from laihua.accounts.services import create_api_token
from laihua.audit.models import AuditEvent
from laihua.catalog.models import CatalogItem
from laihua.kit import clock
from laihua.rates.models import ExchangeRate
from tests.builders import make_item

pytestmark = pytest.mark.django_db


def bearer(user):
    return {"Authorization": f"Bearer {create_api_token(user, user, 'test')[1]}"}


def test_hospitals_are_listed_with_their_slugs(client, hospital, other_hospital):
    body = client.get("/api/hospitals").json()
    assert [h["slug"] for h in body] == ["west", "east"]  # Beijing before Shanghai
    assert body[1]["name"]["zh-hans"] == "东方示范医院"
    assert body[1]["price_file_json"] == "/prices/east.json"


def test_unknown_hospital_is_a_json_404(client):
    response = client.get("/api/hospitals/nowhere")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def test_search_returns_cny_and_converted_price_with_rate_and_date(client, hospital, other_hospital):
    make_item(hospital)
    make_item(other_hospital, price=Decimal("650"))
    body = client.get("/api/catalog/search", {"q": "核磁", "currency": "USD"}).json()
    assert body["total"] == 2 and body["currency"] == "USD"
    first = body["results"][0]
    assert first["hospital"]["slug"] == "east"
    assert Decimal(first["price_cny_min"]) == Decimal("486.00")
    converted = first["converted"]
    assert converted["currency"] == "USD" and converted["rate_date"]
    expected = (Decimal("486") / Decimal(converted["cny_per_unit"])).quantize(Decimal("0.01"))
    assert Decimal(converted["amount_min"]) == expected


def test_search_in_gbp_filters_price_in_that_currency(client, hospital, other_hospital):
    make_item(hospital, price=Decimal("486"))
    make_item(other_hospital, price=Decimal("5000"))
    body = client.get("/api/catalog/search", {"q": "MRI", "currency": "GBP", "price_max": "100"}).json()
    assert [r["hospital"]["slug"] for r in body["results"]] == ["east"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"currency": "XYZ"}, "currency"),
        ({"currency": "AED"}, "currency"),
        ({"limit": "500"}, "limit"),
        ({"price_min": "-3"}, "price_min"),
        ({"sort": "nonsense"}, "sort"),
        ({"limit": "many"}, "limit"),
    ],
)
def test_bad_search_parameters_name_the_field(client, params, field):
    response = client.get("/api/catalog/search", params)
    assert response.status_code == 422
    body = response.json()
    assert body["field"] == field and body["detail"] and body["error"]


def test_errors_speak_the_clients_language(client):
    response = client.get("/api/catalog/search", {"currency": "XYZ"}, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 422
    assert "货币" in response.json()["detail"]


def test_admin_table_rate_serves_aed(client, hospital):
    make_item(hospital)
    ExchangeRate.objects.create(currency="AED", rate_date=clock.today(), cny_per_unit=Decimal("1.944"))
    result = client.get("/api/catalog/search", {"q": "mri", "currency": "AED"}).json()["results"][0]
    assert Decimal(result["converted"]["amount_min"]) == Decimal("250.00")


def test_item_detail_is_public(client, mri):
    body = client.get(f"/api/catalog/items/east/{mri.code}", {"currency": "EUR"}).json()
    assert body["code"] == mri.code and body["converted"]["currency"] == "EUR"


def test_api_creates_and_updates_an_item_for_the_tokens_own_hospital(client, users, hospital):
    headers = bearer(users["coordinator"])
    payload = {
        "code": "US-01",
        "kind": "imaging",
        "department": "radiology",
        "name": {"en": "Ultrasound", "zh-hans": "超声检查"},
        "keywords": "B超",
        "waiting_days": 1,
    }
    response = client.post("/api/catalog/manage/items", payload, content_type="application/json", headers=headers)
    assert response.status_code == 201, response.content
    item = CatalogItem.objects.get(hospital=hospital, code="US-01")
    price = {"effective_from": clock.today().isoformat(), "amount_min": "180.00"}
    response = client.post(
        f"/api/catalog/manage/items/{item.pk}/prices", price, content_type="application/json", headers=headers
    )
    assert response.status_code == 201
    assert client.get("/api/catalog/search", {"q": "超声"}).json()["total"] == 1
    assert AuditEvent.objects.filter(action="catalog.item.create", object_id=str(item.pk)).exists()


def test_api_refuses_another_hospitals_item_and_anonymous_edits(client, users, mri):
    payload = {"code": mri.code, "kind": "imaging", "name": {"en": "Hacked", "zh-hans": "篡改"}}
    response = client.put(
        f"/api/catalog/manage/items/{mri.pk}",
        payload,
        content_type="application/json",
        headers=bearer(users["other_coordinator"]),
    )
    assert response.status_code == 403 and response.json()["error"] == "forbidden"
    response = client.put(f"/api/catalog/manage/items/{mri.pk}", payload, content_type="application/json")
    assert response.status_code == 401 and response.json()["error"] == "unauthenticated"
    mri.refresh_from_db()
    assert mri.name["en"] != "Hacked"


def test_api_price_in_the_past_is_refused_with_the_field(client, users, mri):
    past = (clock.today() - datetime.timedelta(days=3)).isoformat()
    response = client.post(
        f"/api/catalog/manage/items/{mri.pk}/prices",
        {"effective_from": past, "amount_min": "1"},
        content_type="application/json",
        headers=bearer(users["hospital_admin"]),
    )
    assert response.status_code == 422 and response.json()["field"] == "effective_from"


def test_malformed_json_body_is_a_json_error_not_a_500(client, users):
    response = client.post(
        "/api/catalog/manage/items",
        "{not json",
        content_type="application/json",
        headers=bearer(users["coordinator"]),
    )
    assert response.status_code in (400, 422)
    assert "error" in response.json()


def test_openapi_document_lists_the_routes(client):
    spec = client.get("/api/openapi.json").json()
    assert "/api/catalog/search" in spec["paths"] and "/api/hospitals" in spec["paths"]
    assert client.get("/api/docs").status_code == 200
