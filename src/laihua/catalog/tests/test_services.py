import datetime
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from laihua.audit.models import AuditEvent
from laihua.catalog import services
from laihua.catalog.models import Price
from laihua.errors import Conflict, InvalidInput, PermissionDenied
from laihua.kit import clock
from tests.builders import make_comparable, make_item, make_reference

pytestmark = pytest.mark.django_db


def test_search_finds_mri_in_chinese_and_in_english_across_hospitals(hospital, other_hospital):
    make_item(hospital)
    make_item(other_hospital, price=Decimal("650"))
    make_item(hospital, code="CT-01", en="CT scan", zh="计算机断层扫描", keywords="CT")
    for query in ("核磁", "MRI", "mri scan"):
        items, total, _exact = services.search(services.SearchQuery(q=query))
        assert total == 2, query
        assert {i.hospital.slug for i in items} == {"east", "west"}


def test_search_filters_by_city_department_and_cny_price(hospital, other_hospital):
    make_item(hospital, price=Decimal("486"))
    make_item(other_hospital, price=Decimal("900"))
    assert services.search(services.SearchQuery(city="beijing"))[1] == 1
    assert services.search(services.SearchQuery(department="orthopaedics"))[1] == 0
    cheap, total, _exact = services.search(services.SearchQuery(price_max_cny=Decimal("500")))
    assert total == 1 and cheap[0].hospital.slug == "east"


def test_an_item_keeps_its_hospitals_city_and_the_city_search_follows_a_move(hospital, other_hospital):
    from laihua.catalog.models import CatalogItem
    from tests.builders import make_city

    item = make_item(hospital, code="MRI-01", price=Decimal("486"))
    assert CatalogItem.objects.get(pk=item.pk).city_id == hospital.city_id
    assert services.search(services.SearchQuery(q="mri", city=hospital.city.slug))[1] == 1
    hangzhou = make_city("hangzhou", "Hangzhou", "杭州")
    hospital.city = hangzhou
    hospital.save()
    assert CatalogItem.objects.get(pk=item.pk).city_id == hangzhou.pk
    assert services.search(services.SearchQuery(q="mri", city=hangzhou.slug))[1] == 1
    assert services.search(services.SearchQuery(city="nowhere"))[1:] == (0, True)


def test_search_hides_inactive_and_unpriced_items(hospital):
    make_item(hospital, active=False)
    future = clock.today() + datetime.timedelta(days=5)
    make_item(hospital, code="MRI-02", effective_from=future)
    assert services.search(services.SearchQuery(q="mri"))[1] == 0


def test_price_in_force_on_a_past_date_is_kept(hospital, users):
    item = make_item(hospital, price=Decimal("500"), effective_from=datetime.date(2023, 1, 1))
    Price.objects.create(
        item=item,
        effective_from=datetime.date(2024, 1, 1),
        amount_min=Decimal("486"),
        amount_max=Decimal("486"),
    )
    assert item.price_on(datetime.date(2023, 6, 1)).amount_min == Decimal("500")
    assert item.price_on(datetime.date(2024, 6, 1)).amount_min == Decimal("486")
    assert item.price_on(datetime.date(2022, 6, 1)) is None
    past = services.published_item("east", item.code, datetime.date(2023, 6, 1))
    assert past.price_min == Decimal("500")


def test_set_price_refuses_a_past_start_and_a_second_price_on_one_day(hospital, users, mri):
    coordinator = users["coordinator"]
    yesterday = clock.today() - datetime.timedelta(days=1)
    with pytest.raises(InvalidInput) as caught:
        services.set_price(coordinator, mri, {"effective_from": yesterday, "amount_min": "500"})
    assert caught.value.field == "effective_from"
    services.set_price(coordinator, mri, {"effective_from": clock.today(), "amount_min": "520", "amount_max": "600"})
    with pytest.raises(Conflict):
        services.set_price(coordinator, mri, {"effective_from": clock.today(), "amount_min": "530"})
    assert mri.prices.count() == 2
    assert AuditEvent.objects.filter(action="catalog.price.create", object_id=str(mri.pk)).count() == 1


def test_set_price_refuses_an_upper_price_below_the_lower(users, mri):
    with pytest.raises(InvalidInput) as caught:
        services.set_price(
            users["coordinator"],
            mri,
            {"effective_from": clock.today(), "amount_min": "600", "amount_max": "500"},
        )
    assert caught.value.field == "amount_max"
    assert mri.prices.count() == 1


@pytest.mark.parametrize(
    "role", ["other_coordinator", "clinician", "finance", "patient", "insurer_agent", "platform_admin"]
)
def test_only_the_hospitals_own_admins_and_coordinators_edit_its_catalog(users, mri, role):
    with pytest.raises(PermissionDenied):
        services.set_price(users[role], mri, {"effective_from": clock.today(), "amount_min": "1"})
    with pytest.raises(PermissionDenied):
        services.save_item(users[role], mri.hospital, {}, item=mri)
    assert mri.prices.count() == 1


def test_save_item_names_the_bad_field_and_saves_nothing(users, hospital):
    data = {"code": "X-1", "kind": "not-a-kind", "name_en": "X", "name_zh-hans": "某", "waiting_days": 0}
    with pytest.raises(services.FormInvalid) as caught:
        services.save_item(users["coordinator"], hospital, data)
    assert caught.value.field == "kind"
    assert not hospital.catalog.exists()


def test_save_item_requires_both_languages(users, hospital):
    data = {"code": "X-1", "kind": "imaging", "name_en": "X", "waiting_days": 0}
    with pytest.raises(services.FormInvalid) as caught:
        services.save_item(users["coordinator"], hospital, data)
    assert caught.value.field == "name"


def test_compare_abroad_shows_the_saving_against_each_country(hospital):
    mri_service = make_comparable()
    item = make_item(hospital, comparable=mri_service)
    make_reference(mri_service, "US", Decimal("1119"), "USD", 2015)
    make_reference(mri_service, "GB", Decimal("788"), "USD", 2015)
    comparisons = services.compare_abroad(item, Decimal("486"))
    assert [c.reference.country for c in comparisons] == ["US", "GB"]
    us = comparisons[0]
    assert us.reference_cny > Decimal("5000")
    assert us.saving_cny == us.reference_cny - Decimal("486")
    assert 80 < us.saving_percent < 100


def test_compare_abroad_invents_nothing_without_a_reference(hospital):
    item = make_item(hospital, comparable=make_comparable("knee", "Knee replacement", "膝关节置换"))
    assert services.compare_abroad(item, Decimal("486")) == []
    assert services.compare_abroad(make_item(hospital, code="NOCMP"), Decimal("1")) == []


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    low=st.decimals(min_value=0, max_value=10**6, places=2),
    spread=st.decimals(min_value=0, max_value=10**5, places=2),
)
def test_price_filter_in_usd_keeps_items_whose_range_meets_the_bound(hospital, low, spread):
    item = make_item(hospital, code="H-1", price=low, price_max=low + spread)
    query, rate = services.search_query_from_params({"currency": "USD", "price_max": "100"})
    found = {i.pk for i in services.search(query)[0]}
    assert (item.pk in found) == (low <= query.price_max_cny)
    item.prices.all().delete()
    item.delete()
