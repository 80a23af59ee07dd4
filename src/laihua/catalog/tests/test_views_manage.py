import datetime
import json
from decimal import Decimal

import pytest

from laihua.accounts.services import create_api_token
from laihua.audit.models import AuditEvent
from laihua.catalog.models import CatalogItem, Price
from laihua.kit import clock
from tests.builders import make_item

pytestmark = pytest.mark.django_db


def item_data(item=None, **changes):
    """The edit form's fields, as the page posts them."""
    data = {
        "code": "CT-01",
        "kind": "imaging",
        "department": "",
        "name_en": "CT scan, chest",
        "name_zh-hans": "胸部CT",
        "description_en": "",
        "description_zh-hans": "",
        "included_en": "Report in English",
        "included_zh-hans": "英文报告",
        "excluded_en": "",
        "excluded_zh-hans": "",
        "keywords": "CT 胸部",
        "comparable": "",
        "waiting_days": "2",
        "duration_minutes": "20",
        "stay_days": "",
        "active": "on",
    }
    if item is not None:
        data.update(
            {
                "code": item.code,
                "kind": item.kind,
                "name_en": item.name["en"],
                "name_zh-hans": item.name["zh-hans"],
                "keywords": item.keywords,
                "department": item.department_id or "",
                "waiting_days": str(item.waiting_days),
            }
        )
    data.update(changes)
    return data


def test_coordinator_sees_only_their_own_catalog_with_the_price_in_force(client, users, mri, other_hospital):
    make_item(other_hospital, code="WEST-MRI", en="West MRI")
    client.force_login(users["coordinator"])
    response = client.get("/en/manage/catalog/")
    page = response.content.decode()
    assert response.status_code == 200
    assert "MRI-01" in page and "¥486.00" in page
    assert "WEST-MRI" not in page
    assert [item.code for item in response.context["items"]] == ["MRI-01"]


def test_catalog_page_renders_in_chinese(client, users, mri):
    client.force_login(users["hospital_admin"])
    page = client.get("/zh-hans/manage/catalog/").content.decode()
    assert "核磁共振成像（单部位）" in page


def test_item_form_labels_each_language(client, users, mri):
    client.force_login(users["coordinator"])
    page = client.get(f"/en/manage/catalog/{mri.pk}/").content.decode()
    assert 'name="name_en"' in page and 'name="name_zh-hans"' in page
    assert 'for="id_name_0"' in page and 'for="id_name_1"' in page
    assert "English" in page and "Simplified Chinese" in page
    assert 'value="核磁共振成像（单部位）"' in page


def test_coordinator_adds_an_item_and_the_change_is_audited(client, users, hospital):
    client.force_login(users["coordinator"])
    response = client.post("/en/manage/catalog/new/", item_data())
    item = CatalogItem.objects.get(hospital=hospital, code="CT-01")
    assert response["Location"] == f"/en/manage/catalog/{item.pk}/#prices"
    assert item.name == {"en": "CT scan, chest", "zh-hans": "胸部CT"}
    event = AuditEvent.objects.get(action="catalog.item.create")
    assert event.actor == users["coordinator"] and event.hospital == hospital
    assert event.object_id == str(item.pk)


def test_coordinator_edits_an_item_and_the_change_is_audited(client, users, mri):
    client.force_login(users["coordinator"])
    response = client.post(f"/en/manage/catalog/{mri.pk}/", item_data(mri, **{"name_en": "MRI, one body region"}))
    assert response["Location"] == f"/en/manage/catalog/{mri.pk}/"
    mri.refresh_from_db()
    assert mri.name["en"] == "MRI, one body region"
    event = AuditEvent.objects.get(action="catalog.item.update")
    assert event.actor == users["coordinator"] and "name" in event.detail["changed"]


def test_bad_item_input_is_shown_beside_its_fields_and_nothing_is_saved(client, users, mri, hospital):
    make_item(hospital, code="MRI-02")
    client.force_login(users["coordinator"])
    response = client.post(
        f"/en/manage/catalog/{mri.pk}/",
        item_data(mri, **{"code": "MRI-02", "name_zh-hans": "", "waiting_days": "-1"}),
    )
    assert response.status_code == 422
    errors = response.context["form"].errors
    assert set(errors) >= {"code", "name", "waiting_days"}
    page = response.content.decode()
    assert "Another item of this hospital already has this code." in page
    mri.refresh_from_db()
    assert mri.code == "MRI-01" and mri.name["zh-hans"]
    assert not AuditEvent.objects.filter(action__startswith="catalog.item").exists()


def test_new_price_keeps_the_history(client, users, mri):
    client.force_login(users["hospital_admin"])
    today = clock.today()
    response = client.post(
        f"/en/manage/catalog/{mri.pk}/prices/",
        {"effective_from": today.isoformat(), "amount_min": "520", "amount_max": ""},
    )
    assert response["Location"] == f"/en/manage/catalog/{mri.pk}/#prices"
    assert mri.price_on(today).amount_min == Decimal("520.00")
    assert mri.price_on(today - datetime.timedelta(days=1)).amount_min == Decimal("486.00")
    page = client.get(f"/en/manage/catalog/{mri.pk}/").content.decode()
    assert "¥520.00" in page and "¥486.00" in page
    event = AuditEvent.objects.get(action="catalog.price.create")
    assert event.actor == users["hospital_admin"] and Decimal(event.detail["min"]) == Decimal("520")


def test_price_in_the_past_is_refused_naming_the_date_field(client, users, mri):
    client.force_login(users["coordinator"])
    yesterday = clock.today() - datetime.timedelta(days=1)
    response = client.post(
        f"/en/manage/catalog/{mri.pk}/prices/", {"effective_from": yesterday.isoformat(), "amount_min": "100"}
    )
    assert response.status_code == 422
    form = response.context["price_form"]
    assert list(form.errors) == ["effective_from"]
    assert "past prices are kept" in response.content.decode()
    assert Price.objects.filter(item=mri).count() == 1


def test_second_price_on_one_day_and_a_reversed_range_are_refused_by_field(client, users, mri):
    client.force_login(users["coordinator"])
    day = (clock.today() + datetime.timedelta(days=7)).isoformat()
    client.post(f"/en/manage/catalog/{mri.pk}/prices/", {"effective_from": day, "amount_min": "500"})
    again = client.post(f"/en/manage/catalog/{mri.pk}/prices/", {"effective_from": day, "amount_min": "510"})
    assert list(again.context["price_form"].errors) == ["effective_from"]
    reversed_range = client.post(
        f"/en/manage/catalog/{mri.pk}/prices/",
        {"effective_from": clock.today().isoformat(), "amount_min": "900", "amount_max": "800"},
    )
    assert list(reversed_range.context["price_form"].errors) == ["amount_max"]
    assert Price.objects.filter(item=mri).count() == 2


@pytest.mark.parametrize(
    "role",
    [
        "other_coordinator",
        "other_admin",
        "clinician",
        "finance",
        "patient",
        "insurer_agent",
        "platform_admin",
    ],
)
def test_nobody_else_opens_or_edits_the_hospitals_catalog(client, users, mri, role):
    client.force_login(users[role])
    assert client.get(f"/en/manage/catalog/{mri.pk}/").status_code == 403
    edit = client.post(f"/en/manage/catalog/{mri.pk}/", item_data(mri, **{"name_en": "Hacked"}))
    assert edit.status_code == 403
    price = client.post(
        f"/en/manage/catalog/{mri.pk}/prices/",
        {"effective_from": clock.today().isoformat(), "amount_min": "1"},
    )
    assert price.status_code == 403
    mri.refresh_from_db()
    assert mri.name["en"] != "Hacked" and Price.objects.filter(item=mri).count() == 1
    assert not AuditEvent.objects.filter(action__startswith="catalog.").exists()


@pytest.mark.parametrize("role", ["clinician", "patient", "insurer_agent", "platform_admin"])
def test_roles_without_a_catalog_are_refused_the_list_and_the_new_item_form(client, users, role):
    client.force_login(users[role])
    assert client.get("/en/manage/catalog/").status_code == 403
    refused = client.post("/en/manage/catalog/new/", item_data())
    assert refused.status_code == 403
    assert "Not allowed" in refused.content.decode()
    assert not CatalogItem.objects.exists()


def test_other_hospitals_coordinator_adds_to_their_own_catalog_only(client, users, mri, other_hospital):
    client.force_login(users["other_coordinator"])
    client.post("/en/manage/catalog/new/", item_data(code="MRI-01"))
    assert CatalogItem.objects.get(hospital=other_hospital).code == "MRI-01"
    assert CatalogItem.objects.filter(hospital=mri.hospital).count() == 1


def test_unknown_item_is_a_404_page(client, users):
    client.force_login(users["coordinator"])
    response = client.get("/en/manage/catalog/999999/")
    assert response.status_code == 404
    assert "Not found" in response.content.decode()


def test_anonymous_visitors_are_sent_to_sign_in(client, mri):
    response = client.post(f"/en/manage/catalog/{mri.pk}/", item_data(mri, **{"name_en": "Hacked"}))
    assert response["Location"].startswith("/en/accounts/login/")
    mri.refresh_from_db()
    assert mri.name["en"] != "Hacked"


@pytest.mark.parametrize("role", ["other_coordinator", "clinician", "patient"])
def test_api_refuses_an_edit_by_anyone_but_the_hospitals_editors(client, users, mri, role):
    user = users[role]
    _token, secret = create_api_token(user, user, "test")
    payload = {"code": "MRI-01", "kind": "imaging", "name": {"en": "Hacked", "zh-hans": "被改"}}
    response = client.put(
        f"/api/catalog/manage/items/{mri.pk}",
        data=json.dumps(payload),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {secret}",
    )
    assert response.status_code == 403
    assert response.json()["error"] == "forbidden"
    mri.refresh_from_db()
    assert mri.name["en"] != "Hacked"


def test_api_edit_by_the_hospitals_coordinator_works(client, users, mri):
    user = users["coordinator"]
    _token, secret = create_api_token(user, user, "test")
    payload = {"code": "MRI-01", "kind": "imaging", "name": {"en": "MRI, one region", "zh-hans": "核磁"}}
    response = client.put(
        f"/api/catalog/manage/items/{mri.pk}",
        data=json.dumps(payload),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {secret}",
    )
    assert response.status_code == 200
    mri.refresh_from_db()
    assert mri.name["en"] == "MRI, one region"
