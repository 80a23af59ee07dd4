"""Each item's copy of the price in force today (catalog.pricing), and the searches that rely on it."""

import datetime
import importlib
import threading
import time
from decimal import Decimal

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from laihua.catalog import services
from laihua.catalog.importer import import_catalog
from laihua.catalog.models import CatalogItem, Price
from laihua.catalog.pricing import refresh_current_prices, refresh_due_prices
from laihua.catalog.tests.test_import import export_csv
from laihua.catalog.tests.test_pricefiles import make_catalog
from laihua.kit import clock
from tests.builders import make_item

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 3, 2)


@pytest.fixture
def today(monkeypatch):
    """A movable clock: today() is TODAY until the test moves it with .move_to(day)."""

    class Clock:
        day = TODAY

        def move_to(self, day):
            self.day = day

    moving = Clock()
    monkeypatch.setattr(clock, "today", lambda: moving.day)
    return moving


def days(n: int) -> datetime.timedelta:
    return datetime.timedelta(days=n)


def copy_of(item) -> tuple:
    item.refresh_from_db()
    return (item.current_price_min, item.current_price_max, item.current_price_from, item.current_price_until)


def found(**query) -> dict[str, Decimal]:
    items, _total, _exact = services.search(services.SearchQuery(**query))
    return {item.code: item.price_min for item in items}


def test_a_future_price_takes_effect_in_todays_search_once_its_start_date_arrives(hospital, users, today):
    item = make_item(hospital, price=Decimal("500"), effective_from=datetime.date(2020, 1, 1))
    services.set_price(users["coordinator"], item, {"effective_from": TODAY + days(3), "amount_min": "300"})
    assert found(q="mri") == {"MRI-01": Decimal("500")}
    assert found(q="mri", price_max_cny=Decimal("400")) == {}

    today.move_to(TODAY + days(2))  # the day before: still the old price
    assert found(q="mri", price_max_cny=Decimal("400")) == {}
    today.move_to(TODAY + days(3))
    assert found(q="mri") == {"MRI-01": Decimal("300")}
    assert found(q="mri", price_max_cny=Decimal("400")) == {"MRI-01": Decimal("300")}
    assert copy_of(item) == (Decimal("300"), Decimal("300"), TODAY + days(3), None)
    page = services.published_item("east", "MRI-01")
    assert (page.price_min, page.price_from) == (Decimal("300"), TODAY + days(3))


def test_an_item_whose_first_price_has_not_started_appears_on_its_start_date(hospital, today):
    make_item(hospital, price=Decimal("700"), effective_from=TODAY + days(1))
    assert found(q="mri") == {}
    with pytest.raises(services.NotFound):
        services.published_item("east", "MRI-01")
    today.move_to(TODAY + days(1))
    assert found(q="mri") == {"MRI-01": Decimal("700")}


def test_a_clock_set_back_before_the_copied_price_uses_the_price_of_that_day(hospital, today):
    item = make_item(hospital, price=Decimal("500"), effective_from=datetime.date(2020, 1, 1))
    Price.objects.create(item=item, effective_from=TODAY, amount_min=Decimal("450"), amount_max=Decimal("450"))
    assert found(q="mri") == {"MRI-01": Decimal("450")}
    today.move_to(TODAY - days(1))
    assert found(q="mri") == {"MRI-01": Decimal("500")}


def test_the_copy_follows_set_price_and_price_deletion(hospital, users, today):
    item = make_item(hospital, price=Decimal("486"), effective_from=datetime.date(2020, 1, 1))
    assert copy_of(item) == (Decimal("486"), Decimal("486"), datetime.date(2020, 1, 1), None)

    coordinator = users["coordinator"]
    services.set_price(coordinator, item, {"effective_from": TODAY, "amount_min": "520", "amount_max": "600"})
    assert copy_of(item) == (Decimal("520"), Decimal("600"), TODAY, None)
    services.set_price(coordinator, item, {"effective_from": TODAY + days(10), "amount_min": "650"})
    assert copy_of(item) == (Decimal("520"), Decimal("600"), TODAY, TODAY + days(9))

    item.prices.get(effective_from=TODAY).delete()
    assert copy_of(item) == (Decimal("486"), Decimal("486"), datetime.date(2020, 1, 1), TODAY + days(9))
    Price.objects.filter(item=item, effective_from__lt=TODAY).delete()
    assert copy_of(item) == (None, None, None, TODAY + days(9))
    assert found(q="mri") == {}


def test_the_copy_is_per_item(hospital, other_hospital, users):
    east = make_item(hospital, price=Decimal("486"))
    west = make_item(other_hospital, price=Decimal("650"))
    services.set_price(users["coordinator"], east, {"effective_from": clock.today(), "amount_min": "400"})
    assert copy_of(east)[0] == Decimal("400") and copy_of(west)[0] == Decimal("650")
    items, total, _exact = services.search(services.SearchQuery(q="mri"))
    assert total == 2 and [(i.hospital.slug, i.price_min) for i in items] == [
        ("east", Decimal("400")),
        ("west", Decimal("650")),
    ]


def test_saving_an_item_read_before_a_price_change_keeps_the_new_copy(hospital, users, today):
    item = make_item(hospital, price=Decimal("486"))
    stale = CatalogItem.objects.get(pk=item.pk)
    services.set_price(users["coordinator"], item, {"effective_from": TODAY, "amount_min": "520"})
    stale.keywords = "MRI 核磁 磁共振"
    stale.save()
    services.save_item(users["coordinator"], hospital, {**form_data(stale), "waiting_days": "3"}, item=stale)
    assert copy_of(item)[:3] == (Decimal("520"), Decimal("520"), TODAY)
    assert item.keywords == "MRI 核磁 磁共振" and item.waiting_days == 3


def form_data(item) -> dict:
    return {
        "code": item.code,
        "kind": item.kind,
        "department": item.department_id or "",
        "name_en": item.name["en"],
        "name_zh-hans": item.name["zh-hans"],
        "keywords": item.keywords,
        "waiting_days": item.waiting_days,
        "active": "on",
    }


def test_search_on_a_past_day_uses_the_price_history(hospital, today):
    item = make_item(hospital, price=Decimal("500"), effective_from=datetime.date(2023, 1, 1))
    Price.objects.create(
        item=item, effective_from=datetime.date(2024, 1, 1), amount_min=Decimal("486"), amount_max=Decimal("486")
    )
    past = datetime.date(2023, 6, 1)
    items, total, _exact = services.search(services.SearchQuery(q="mri"), day=past)
    assert total == 1 and items[0].price_min == Decimal("500") and items[0].price_from == datetime.date(2023, 1, 1)
    assert services.search(services.SearchQuery(q="mri", price_max_cny=Decimal("490")), day=past)[1] == 0
    assert services.search(services.SearchQuery(q="mri", price_min_cny=Decimal("490")), day=past)[1] == 1
    assert services.search(services.SearchQuery(q="mri"), day=datetime.date(2022, 6, 1))[1] == 0
    assert found(q="mri", price_max_cny=Decimal("490")) == {"MRI-01": Decimal("486")}
    assert copy_of(item)[0] == Decimal("486")  # the past day's search left today's copy alone


def test_refresh_fills_items_whose_prices_were_loaded_without_signals(hospital, today):
    items = CatalogItem.objects.bulk_create(
        [
            CatalogItem(hospital=hospital, code=f"BULK-{n}", kind="imaging", name={"en": "MRI", "zh-hans": "核磁"})
            for n in range(3)
        ]
    )
    Price.objects.bulk_create(
        [
            Price(item=items[0], effective_from=TODAY - days(30), amount_min=Decimal("100"), amount_max=Decimal("150")),
            Price(item=items[1], effective_from=TODAY - days(30), amount_min=Decimal("200"), amount_max=Decimal("200")),
            Price(item=items[1], effective_from=TODAY + days(5), amount_min=Decimal("210"), amount_max=Decimal("210")),
            Price(item=items[2], effective_from=TODAY + days(5), amount_min=Decimal("300"), amount_max=Decimal("300")),
        ]
    )
    CatalogItem.objects.filter(pk__in=[i.pk for i in items]).update(search_text="bulk mri 核磁")
    assert found(q="bulk") == {}  # bulk_create sends no signal: nothing copied yet

    assert refresh_current_prices([i.pk for i in items]) == 3
    assert copy_of(items[0]) == (Decimal("100"), Decimal("150"), TODAY - days(30), None)
    assert copy_of(items[1]) == (Decimal("200"), Decimal("200"), TODAY - days(30), TODAY + days(4))
    assert copy_of(items[2]) == (None, None, None, TODAY + days(4))
    assert found(q="bulk") == {"BULK-0": Decimal("100"), "BULK-1": Decimal("200")}
    today.move_to(TODAY + days(5))
    assert refresh_due_prices() == 2 and refresh_due_prices() == 0
    assert found(q="bulk") == {"BULK-0": Decimal("100"), "BULK-1": Decimal("210"), "BULK-2": Decimal("300")}


def test_the_migration_fills_the_copy_of_existing_items(hospital):
    migration = importlib.import_module("laihua.catalog.migrations.0004_current_price")
    today = clock.today()
    item = make_item(hospital, price=Decimal("486"), effective_from=datetime.date(2020, 1, 1))
    Price.objects.create(item=item, effective_from=today + days(7), amount_min=Decimal("9"), amount_max=Decimal("9"))
    unpriced = CatalogItem.objects.create(hospital=hospital, code="NEW", kind="imaging", name={"en": "x"})
    CatalogItem.objects.update(
        current_price_min=None, current_price_max=None, current_price_from=None, current_price_until=None
    )
    assert found(q="mri") == {}

    migration.fill_current_prices(apps, None)
    assert copy_of(item) == (Decimal("486"), Decimal("486"), datetime.date(2020, 1, 1), today + days(6))
    assert copy_of(unpriced) == (None, None, None, None)
    assert found(q="mri") == {"MRI-01": Decimal("486")}


def test_the_catalog_import_leaves_the_copies_right(hospital, other_hospital, today):
    make_catalog(hospital)
    import_catalog(None, other_hospital, export_csv(hospital), effective_from=TODAY + days(2))
    imported = list(other_hospital.catalog.all())
    assert len(imported) == 4 and all(copy_of(item) == (None, None, None, TODAY + days(1)) for item in imported)
    assert services.hospital_catalog(other_hospital) == []
    today.move_to(TODAY + days(2))
    assert len(services.hospital_catalog(other_hospital)) == 4  # a read on the new day refreshes what is due
    for item in imported:
        price = item.price_on(TODAY + days(2))
        assert copy_of(item) == (price.amount_min, price.amount_max, TODAY + days(2), None)


def test_deleting_an_item_or_its_hospital_deletes_its_prices(hospital, other_hospital):
    item = make_item(hospital)
    make_item(other_hospital)
    item.delete()
    assert not Price.objects.filter(item_id=item.pk).exists()
    other_hospital.delete()
    assert not Price.objects.exists()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    starts=st.lists(st.integers(min_value=-30, max_value=30), min_size=1, max_size=5, unique=True),
    moves=st.lists(st.integers(min_value=-40, max_value=40), min_size=1, max_size=4),
)
def test_todays_price_in_search_is_always_the_price_in_force_in_the_history(hospital, today, starts, moves):
    CatalogItem.objects.filter(code="H-1").delete()  # left by an earlier example that failed
    today.move_to(TODAY)
    item = make_item(hospital, code="H-1", price=Decimal(1000), effective_from=TODAY + days(starts[0]))
    for n, start in enumerate(starts[1:], start=1):
        amount = Decimal(1000 + n)
        Price.objects.create(item=item, effective_from=TODAY + days(start), amount_min=amount, amount_max=amount)
    for move in moves:
        today.move_to(TODAY + days(move))
        in_force = item.price_on(clock.today())
        expected = {"H-1": in_force.amount_min} if in_force else {}
        assert found(q="mri") == expected


def test_the_search_api_answers_20_results_by_default_and_up_to_200_on_request(client, hospital):
    CatalogItem.objects.bulk_create(
        [
            CatalogItem(hospital=hospital, code=f"MRI-{n:02d}", kind="imaging", name={"en": "MRI", "zh-hans": "核磁"})
            for n in range(25)
        ]
    )
    items = list(hospital.catalog.all())
    Price.objects.bulk_create(
        [
            Price(item=item, effective_from=datetime.date(2020, 1, 1), amount_min=n, amount_max=n)
            for n, item in enumerate(items)
        ]
    )
    CatalogItem.objects.update(search_text="mri 核磁")
    refresh_current_prices([item.pk for item in items])
    body = client.get("/api/catalog/search", {"q": "mri"}).json()
    assert (body["total"], body["limit"], len(body["results"])) == (25, 20, 20)
    body = client.get("/api/catalog/search", {"q": "mri", "limit": "200"}).json()
    assert (body["limit"], len(body["results"])) == (200, 25)
    assert [Decimal(r["price_cny_min"]) for r in body["results"]] == list(range(25))


def test_a_search_result_carries_every_field_of_the_item(client, hospital, mri):
    mri.standard_codes = [{"system": "CPT", "code": "70551"}]
    mri.duration_minutes = 40
    mri.save()
    result = client.get("/api/catalog/search", {"q": "mri"}).json()["results"][0]
    assert result == {
        "id": mri.pk,
        "hospital": {
            "slug": "east",
            "name": {"en": "East Demo Hospital", "zh-hans": "东方示范医院"},
            "city": "shanghai",
        },
        "code": "MRI-01",
        "kind": "imaging",
        "department": "radiology",
        "name": {"en": "MRI scan, one region", "zh-hans": "核磁共振成像（单部位）"},
        "description": {},
        "included": {},
        "excluded": {},
        "standard_codes": [{"system": "CPT", "code": "70551"}],
        "comparable": "mri",
        "waiting_days": 0,
        "duration_minutes": 40,
        "stay_days": None,
        "price_cny_min": "486.00",
        "price_cny_max": "486.00",
        "price_effective_from": "2020-01-01",
        "converted": {
            "currency": "CNY",
            "amount_min": "486.00",
            "amount_max": "486.00",
            "cny_per_unit": "1",
            "rate_date": result["converted"]["rate_date"],
            "rate_source": result["converted"]["rate_source"],
        },
        "url": "/en/hospitals/east/services/MRI-01/",
    }


def test_the_demo_loader_leaves_every_copy_equal_to_the_price_history(db):
    call_command("load_demo", verbosity=0)
    items = list(CatalogItem.objects.all())
    assert len(items) >= 75
    for item in items:
        price = item.price_on(clock.today())
        assert copy_of(item)[:3] == (
            (price.amount_min, price.amount_max, price.effective_from) if price else (None,) * 3
        )
    assert services.search(services.SearchQuery(q="核磁"))[1] >= 3


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_refresh_waits_for_a_price_being_added_and_copies_it(hospital):
    """A search's refresh of an item while a new price of it is being saved must not copy the old price
    back after the new price's own refresh: the item's row lock orders them."""
    item = make_item(hospital, price=Decimal("486"), effective_from=datetime.date(2020, 1, 1))
    added, release = threading.Event(), threading.Event()
    errors = []

    def add_price():
        try:
            with transaction.atomic():
                Price.objects.create(
                    item=item, effective_from=clock.today(), amount_min=Decimal("400"), amount_max=Decimal("400")
                )
                added.set()
                release.wait(timeout=10)
        except Exception as exc:  # noqa: BLE001 - reported in the assertion below
            errors.append(repr(exc))
        finally:
            connection.close()

    def refresh():
        try:
            added.wait(timeout=10)
            refresh_current_prices([item.pk])
        except Exception as exc:  # noqa: BLE001
            errors.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=add_price), threading.Thread(target=refresh)]
    for thread in threads:
        thread.start()
    added.wait(timeout=10)
    time.sleep(0.5)  # the refresh is now waiting for the item's row
    release.set()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert copy_of(item)[:3] == (Decimal("400"), Decimal("400"), clock.today())
