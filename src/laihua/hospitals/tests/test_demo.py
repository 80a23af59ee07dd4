import datetime
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from laihua.accounts.models import Role, User
from laihua.catalog import pricefiles
from laihua.catalog import services as catalog
from laihua.catalog.models import CatalogItem, ComparableService, PackageComponent, Price, ReferencePrice
from laihua.demo import hospitals as demo
from laihua.hospitals.models import City, Department, Hospital
from laihua.kit import clock
from laihua.rates import services as rates
from laihua.rates.models import ExchangeRate
from tests.builders import make_user

pytestmark = pytest.mark.django_db

COUNTED = (
    City,
    Hospital,
    Department,
    CatalogItem,
    Price,
    PackageComponent,
    User,
    ExchangeRate,
    ComparableService,
    ReferencePrice,
)


def counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in COUNTED}


@pytest.fixture
def loaded(db):
    call_command("load_demo", verbosity=0)


def test_loading_the_demo_twice_leaves_the_same_rows(capsys):
    call_command("load_demo")
    first = counts()
    capsys.readouterr()
    call_command("load_demo")
    assert counts() == first
    assert first["Hospital"] == 3 and first["User"] == 19 and first["CatalogItem"] >= 75
    second = capsys.readouterr().out
    assert "(0 prices added), 0 users added, 0 exchange rates added, 0 reference prices added" in second


def test_demo_hospitals_are_fictional_labelled_and_in_two_cities(loaded):
    hospitals = list(Hospital.objects.select_related("city"))
    assert len(hospitals) >= 3
    assert {hospital.city.slug for hospital in hospitals} == {"shanghai", "beijing"}
    for hospital in hospitals:
        assert hospital.is_demo
        assert "Demo" in hospital.name["en"] and "示范" in hospital.name["zh-hans"]
        assert hospital.address["en"] and hospital.address["zh-hans"]
        assert hospital.intl_department["zh-hans"] and hospital.intl_hours["en"] and hospital.intl_phone
        assert hospital.intl_email.endswith(".example") and "en" in hospital.languages
    assert sum("JCI" in hospital.accreditations for hospital in hospitals) == 2


def test_department_codes_are_shared_across_hospitals(loaded):
    for code in (
        "radiology",
        "orthopaedics",
        "internal-medicine",
        "gastroenterology",
        "health-check",
        "laboratory",
    ):
        assert Department.objects.filter(code=code).count() == 3, code


def test_every_hospital_has_one_user_per_staff_role_and_the_platform_has_the_others(loaded):
    for hospital in Hospital.objects.all():
        staff = User.objects.filter(hospital=hospital)
        assert sorted(staff.values_list("role", flat=True)) == sorted(
            [Role.COORDINATOR, Role.CLINICIAN, Role.FINANCE, Role.HOSPITAL_ADMIN, Role.INTERPRETER]
        )
    admin = User.objects.get(username="platform-admin")
    assert admin.role == Role.PLATFORM_ADMIN and admin.is_staff and admin.is_superuser
    assert User.objects.get(username="insurer-agent").role == Role.INSURER_AGENT
    assert User.objects.get(username="demo-patient").role == Role.PATIENT
    assert not User.objects.filter(is_staff=True).exclude(username="platform-admin").exists()


@pytest.mark.parametrize("username", [user.username for user in demo.USERS])
def test_every_demo_login_works_with_the_documented_password(client, loaded, username):
    response = client.post("/en/accounts/login/", {"username": username, "password": demo.DEMO_PASSWORD})
    assert response.status_code == 302, username
    assert client.session["_auth_user_id"] == str(User.objects.get(username=username).pk)


def test_demo_logins_table_lists_every_demo_account():
    from pathlib import Path

    table = (Path(__file__).resolve().parents[4] / "docs" / "demo-logins.md").read_text()
    assert demo.DEMO_PASSWORD in table
    for user in demo.USERS:
        assert f"`{user.username}`" in table, user.username


def test_a_second_load_keeps_a_password_the_user_changed(loaded):
    user = User.objects.get(username="huangpu-coord")
    user.set_password("a-new-secret-of-mine")
    user.save()
    call_command("load_demo", verbosity=0)
    user.refresh_from_db()
    assert user.check_password("a-new-secret-of-mine") and not user.check_password(demo.DEMO_PASSWORD)


def test_search_finds_the_mri_at_every_demo_hospital_in_both_languages(loaded):
    for query in ("MRI", "核磁", "磁共振"):
        items, _total, _exact = catalog.search(catalog.SearchQuery(q=query))
        assert {item.hospital.slug for item in items} == {spec.slug for spec in demo.HOSPITALS}, query
    mri = catalog.compare(ComparableService.objects.get(key="mri"))
    prices = [item.price_min for item in mri]
    assert len(mri) == 3 and min(prices) == Decimal("486") and max(prices) <= Decimal("900")


def test_demo_mri_is_compared_with_sourced_prices_abroad(loaded):
    item = catalog.compare(ComparableService.objects.get(key="mri"))[0]
    comparisons = catalog.compare_abroad(item, item.price_min)
    countries = {comparison.reference.country for comparison in comparisons}
    assert {"US", "GB"} <= countries
    for comparison in comparisons:
        assert "Federation of Health Plans" in comparison.reference.source and comparison.reference.year == 2015
        assert comparison.saving_cny > 0


def test_search_api_prices_the_demo_mri_in_usd_with_the_rate_date(client, loaded):
    body = client.get("/api/catalog/search", {"q": "核磁", "currency": "USD", "kind": "imaging"}).json()
    hospitals = {result["hospital"]["slug"] for result in body["results"]}
    assert len(hospitals) == 3 and body["currency"] == "USD"
    converted = body["results"][0]["converted"]
    assert converted["currency"] == "USD" and converted["rate_date"] and Decimal(converted["amount_min"]) > 0


def test_price_history_shows_last_years_price_on_a_past_date(loaded):
    code = "PDMC-RAD-MRI-1"
    assert catalog.published_item("pudong-demo-medical-center", code, demo.CURRENT_PRICES_FROM).price_min == 486
    past = catalog.published_item("pudong-demo-medical-center", code, datetime.date(2025, 6, 1))
    assert past.price_min == Decimal("450")
    assert Price.objects.filter(item__code=code).count() == 2


def test_joint_replacements_are_priced_as_ranges_in_the_expected_band(loaded):
    for item in catalog.published().filter(comparable__key__in=["knee-replacement", "hip-replacement"]):
        assert item.price_max > item.price_min, item.code
        assert Decimal(30000) <= item.price_min and item.price_max <= Decimal(60000), item.code


def test_hip_replacement_package_lists_its_inpatient_days(loaded):
    package = CatalogItem.objects.get(code="PDMC-PKG-THR")
    components = {c.item.code: c.quantity for c in package.components.select_related("item")}
    assert components["PDMC-WARD-DAY"] == 5 and components["PDMC-ORTH-THR"] == 1
    for component in PackageComponent.objects.select_related("package", "item"):
        assert component.item.hospital_id == component.package.hospital_id


def test_every_demo_item_is_bilingual_and_searchable(loaded):
    for item in CatalogItem.objects.all():
        for field in ("name", "description", "included"):
            assert getattr(item, field).get("en") and getattr(item, field).get("zh-hans"), (item.code, field)
        assert item.keywords and item.department is not None


def test_demo_price_files_validate_against_the_cms_schema(loaded):
    for hospital in Hospital.objects.all():
        pricefile = pricefiles.price_file(hospital)
        assert len(pricefile.rows) >= 25
        assert pricefiles.schema_errors(pricefiles.json_document(pricefile)) == []


@pytest.mark.parametrize("currency", ["AED", "SAR", "KZT", "MNT", "RUB"])
def test_demo_rates_make_the_currencies_the_ecb_lacks_usable_today(loaded, currency):
    rate = rates.rate_for(currency)
    assert rate.rate_date == clock.today() - datetime.timedelta(days=demo.DEMO_RATE_AGE_DAYS)
    assert rate.source.startswith("Demo rate")


def test_demo_dirham_follows_the_dollar_peg(loaded):
    day = clock.today() - datetime.timedelta(days=demo.DEMO_RATE_AGE_DAYS)
    usd = rates.rate_for("USD", day)
    aed = rates.rate_for("AED", day)
    assert abs(aed.cny_per_unit * Decimal("3.6725") - usd.cny_per_unit) < Decimal("0.0001")


def test_load_demo_leaves_a_recent_rate_of_the_admin_alone(db):
    day = clock.today() - datetime.timedelta(days=1)
    ExchangeRate.objects.create(currency="RUB", rate_date=day, cny_per_unit=Decimal("0.0912"), source="Bank")
    call_command("load_demo", verbosity=0)
    assert list(ExchangeRate.objects.filter(currency="RUB").values_list("source", flat=True)) == ["Bank"]
    assert rates.rate_for("RUB").cny_per_unit == Decimal("0.0912")


def test_load_demo_refuses_a_database_with_real_hospitals_outside_demo_mode(db):
    Hospital.objects.create(
        slug="real",
        name={"en": "Real", "zh-hans": "真实"},
        city=City.objects.create(slug="wuhan", name={"en": "Wuhan", "zh-hans": "武汉"}),
        address={"en": "1 Road", "zh-hans": "1路"},
    )
    for demo_mode in (False, True):  # whatever LAIHUA_DEMO says
        with override_settings(DEMO_MODE=demo_mode), pytest.raises(CommandError, match="LAIHUA_DEMO=1"):
            call_command("load_demo", verbosity=0)
    assert not User.objects.exists() and CatalogItem.objects.count() == 0


def test_load_demo_refuses_a_database_with_real_accounts_outside_demo_mode(db):
    make_user("someone-real", Role.PATIENT)
    with override_settings(DEMO_MODE=False), pytest.raises(CommandError):
        call_command("load_demo", verbosity=0)
    assert not Hospital.objects.exists()


def test_load_demo_refuses_real_staff_accounts_even_in_demo_mode(db):
    make_user("real-admin", Role.PLATFORM_ADMIN)
    with override_settings(DEMO_MODE=True), pytest.raises(CommandError):
        call_command("load_demo", verbosity=0)
    assert not Hospital.objects.exists()


def test_patients_who_registered_on_the_demo_site_do_not_stop_a_reload(db):
    with override_settings(DEMO_MODE=True):
        call_command("load_demo", verbosity=0)
        make_user("visitor", Role.PATIENT)
        call_command("load_demo", verbosity=0)


def test_the_demo_will_not_start_on_a_database_with_real_data(db):
    from django.core.checks import run_checks

    make_user("real-admin", Role.PLATFORM_ADMIN)
    with override_settings(DEMO_MODE=True):
        assert [error.id for error in run_checks() if error.id.startswith("laihua.")] == ["laihua.demo.E001"]
    with override_settings(DEMO_MODE=False):
        assert "laihua.demo.E001" not in [error.id for error in run_checks()]
