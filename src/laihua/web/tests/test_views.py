import datetime
from decimal import Decimal

import pytest

from laihua.catalog.models import PackageComponent, Price
from laihua.kit import clock
from laihua.rates import services as rates
from laihua.rates.models import ExchangeRate
from laihua.web.tests.helpers import element_text, local_date, page_text
from tests.builders import make_city, make_comparable, make_hospital, make_item, make_reference

pytestmark = pytest.mark.django_db


@pytest.fixture
def mri_at_two(hospital, other_hospital):
    """The same MRI at two hospitals (486 CNY in Shanghai, 650 CNY in Beijing) and an unrelated service."""
    service = make_comparable()
    east = make_item(hospital, comparable=service)
    west = make_item(other_hospital, comparable=service, price=Decimal("650"))
    make_item(
        hospital,
        code="HIP-01",
        kind="procedure",
        en="Hip replacement",
        zh="髋关节置换术",
        keywords="hip",
        department="orthopaedics",
        price=Decimal("32000"),
    )
    return east, west


@pytest.fixture
def usd_at_seven(db):
    """A dated USD rate from the platform table, newer than any ECB rate, so the figures are exact."""
    return ExchangeRate.objects.create(
        currency="USD", rate_date=clock.today(), cny_per_unit=Decimal("7.2"), source="Test bank"
    )


# Search


@pytest.mark.parametrize("words", ["核磁", "MRI", "mri scan", "磁共振"])
def test_search_in_either_language_finds_the_mri_at_both_hospitals(client, mri_at_two, words):
    response = client.get("/en/prices/", {"q": words})
    assert response.status_code == 200
    text = page_text(response)
    assert "East Demo Hospital" in text and "West Demo Hospital" in text
    assert "Hip replacement" not in text
    assert "2 services and packages found" in text


def test_search_results_are_cheapest_first_with_cny_prices(client, mri_at_two):
    text = page_text(client.get("/en/prices/", {"q": "MRI"}))
    assert text.index("CN¥486.00") < text.index("CN¥650.00")
    reversed_text = page_text(client.get("/en/prices/", {"q": "MRI", "sort": "-price"}))
    assert reversed_text.index("CN¥650.00") < reversed_text.index("CN¥486.00")


def test_search_filters_by_city(client, mri_at_two):
    text = page_text(client.get("/en/prices/", {"q": "MRI", "city": "beijing"}))
    assert "West Demo Hospital" in text and "East Demo Hospital" not in text


def test_search_filters_by_department_shown_by_name(client, mri_at_two):
    response = client.get("/en/prices/", {"department": "orthopaedics"})
    text = page_text(response)
    assert "Hip replacement" in text and "MRI scan" not in text
    assert '<option value="orthopaedics" selected>Orthopaedics</option>' in response.content.decode()


def test_search_filters_by_kind(client, mri_at_two):
    text = page_text(client.get("/en/prices/", {"kind": "procedure"}))
    assert "Hip replacement" in text and "MRI scan" not in text


def test_price_filter_is_in_the_display_currency(client, mri_at_two, usd_at_seven):
    # 486 CNY = 67.50 USD and 650 CNY = 90.28 USD at 7.2
    text = page_text(client.get("/en/prices/", {"q": "MRI", "currency": "USD", "price_max": "80"}))
    assert "East Demo Hospital" in text and "West Demo Hospital" not in text
    text = page_text(client.get("/en/prices/", {"q": "MRI", "currency": "USD", "price_min": "80"}))
    assert "West Demo Hospital" in text and "East Demo Hospital" not in text
    text = page_text(client.get("/en/prices/", {"q": "MRI", "price_max": "500"}))  # CNY
    assert "East Demo Hospital" in text and "West Demo Hospital" not in text


def test_usd_prices_show_the_rate_its_source_and_date(client, mri_at_two, usd_at_seven):
    text = page_text(client.get("/en/prices/", {"q": "MRI", "currency": "USD"}))
    assert "$67.50" in text and "$90.28" in text and "CN¥486.00" in text
    assert f"1 USD = 7.2000 CNY, Test bank, {local_date(clock.today())}" in text


def test_ecb_rate_is_named_and_dated(client, mri_at_two, monkeypatch):
    monkeypatch.setattr(clock, "today", lambda: datetime.date(2024, 6, 3))
    rate = rates.rate_for("GBP")
    text = page_text(client.get("/en/prices/", {"q": "MRI", "currency": "GBP"}))
    assert f"European Central Bank reference rate, {local_date(datetime.date(2024, 6, 3))}" in text
    expected = (Decimal("486") / rate.cny_per_unit).quantize(Decimal("0.01"))
    assert f"£{expected}" in text


@pytest.mark.parametrize(
    ("currency", "message"),
    [("XYZ", "“XYZ” is not an ISO 4217 currency code."), ("AED", "No exchange rate is known for AED.")],
)
def test_currency_without_a_rate_shows_a_message_and_cny_only(client, mri_at_two, currency, message):
    response = client.get("/en/prices/", {"q": "MRI", "currency": currency})
    assert response.status_code == 200
    text = page_text(response)
    assert message in text and "Prices are shown in Chinese yuan (CNY) only." in text
    assert "CN¥486.00" in text
    assert f"In {currency}" not in text  # no converted column, never a silent 1:1


def test_remembered_currency_that_lost_its_rate_shows_a_message(client, mri_at_two):
    session = client.session
    session["currency"] = "SAR"
    session.save()
    text = page_text(client.get("/en/hospitals/east/services/MRI-01/"))
    assert "No exchange rate is known for SAR." in text and "CN¥486.00" in text


def test_currency_outside_the_offered_list_is_refused_with_a_message(client, mri_at_two):
    text = page_text(client.get("/en/prices/", {"currency": "BRL"}))
    assert "BRL is not one of the currencies offered here." in text


def test_bad_price_filter_names_the_problem_without_a_server_error(client, mri_at_two):
    response = client.get("/en/prices/", {"price_min": "-5"})
    assert response.status_code == 422
    assert "An amount must be zero or more." in page_text(response)


def test_htmx_request_gets_the_results_partial_and_plain_get_the_page(client, mri_at_two):
    partial = client.get("/en/prices/", {"q": "核磁"}, HTTP_HX_REQUEST="true")
    assert partial.status_code == 200
    body = partial.content.decode()
    assert "<html" not in body and 'id="results"' not in body
    assert "East Demo Hospital" in body and "West Demo Hospital" in body
    assert "HX-Request" in partial["Vary"]
    full = client.get("/en/prices/", {"q": "核磁"})
    assert "<html" in full.content.decode() and 'hx-get="/en/prices/"' in full.content.decode()


def test_htmx_history_restore_gets_the_whole_page(client, mri_at_two):
    response = client.get("/en/prices/", {"q": "MRI"}, HTTP_HX_REQUEST="true", HTTP_HX_HISTORY_RESTORE_REQUEST="true")
    assert "<html" in response.content.decode()


def test_htmx_request_with_bad_input_swaps_in_the_message(client, mri_at_two):
    response = client.get("/en/prices/", {"price_max": "lots"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200  # htmx swaps only successful responses
    assert "is not an amount" in page_text(response)


def test_search_pages_through_results(client, hospital):
    for number in range(22):
        make_item(
            hospital,
            code=f"LAB-{number:02}",
            kind="laboratory",
            en=f"Blood test {number:02}",
            zh="血检",
            keywords="blood",
            price=Decimal(100 + number),
        )
    first = page_text(client.get("/en/prices/", {"q": "blood"}))
    assert "22 services and packages found" in first and "showing 1–20" in first and "Page 1 of 2" in first
    assert "Blood test 19" in first and "Blood test 20" not in first
    second = page_text(client.get("/en/prices/", {"q": "blood", "page": "2"}))
    assert "Blood test 20" in second and "Blood test 21" in second and "Blood test 19" not in second
    assert client.get("/en/prices/", {"page": "0"}).status_code == 422


# Home and hospitals


def test_home_shows_search_cities_hospitals_and_featured_comparison(client, mri_at_two):
    response = client.get("/en/")
    text = page_text(response)
    assert 'action="/en/prices/"' in response.content.decode()
    assert "Shanghai" in text and "Beijing" in text
    assert "East Demo Hospital" in text and "West Demo Hospital" in text
    assert "MRI scan from CN¥486.00 at 2 hospitals" in text
    assert 'href="/en/compare/mri/"' in response.content.decode()


def test_hospital_list_filters_by_city(client, hospital, other_hospital):
    text = page_text(client.get("/en/hospitals/", {"city": "beijing"}))
    assert "West Demo Hospital" in text and "East Demo Hospital" not in text


def test_hospital_profile_shows_names_contacts_departments_catalog_and_price_files(client, mri_at_two, hospital):
    hospital.intl_hours = {"en": "Mon-Fri 8:00-17:00", "zh-hans": "周一至周五 8:00-17:00"}
    hospital.intl_department = {"en": "International Medical Center", "zh-hans": "国际医疗部"}
    hospital.languages = ["en", "zh", "ru"]
    hospital.save()
    response = client.get("/en/hospitals/east/")
    body, text = response.content.decode(), page_text(response)
    assert 'href="/prices/east.json"' in body and 'href="/prices/east.csv"' in body
    assert "East Demo Hospital" in text and "东方示范医院" in text
    assert '<span class="badge jci"' in body
    assert "International Medical Center" in text and "Mon-Fri 8:00-17:00" in text
    assert "+86 21 0000 0000" in text and "intl@east.example" in text
    assert "English, Chinese, Russian" in text
    assert "1 Demo Road" in text and "示范路1号" in text
    # the catalog, grouped by department, with prices
    assert text.index("Orthopaedics Service") < text.index("Hip replacement") < text.index("Radiology Service")
    assert "CN¥32,000.00" in text and "CN¥486.00" in text
    assert "West Demo Hospital" not in text


# Service page


def test_item_page_shows_details_and_price_in_cny_and_display_currency(client, hospital, usd_at_seven):
    make_item(
        hospital,
        code="MRI-02",
        price=Decimal("1000"),
        price_max=Decimal("1440"),
        waiting_days=3,
        duration_minutes=45,
        standard_codes=[{"system": "LOINC", "code": "24590-2"}],
        description={"en": "Brain MRI without contrast.", "zh-hans": "头颅平扫"},
        included={"en": "Radiologist's report in English"},
        excluded={"en": "Contrast agent"},
    )
    response = client.get("/en/hospitals/east/services/MRI-02/", {"currency": "USD"})
    text = page_text(response)
    assert element_text(response, "price big") == "CN¥1,000.00 – CN¥1,440.00"
    assert element_text(response, "converted big") == "≈ $138.89 – $200.00"
    assert f"1 USD = 7.2000 CNY, Test bank, {local_date(clock.today())}" in text
    for fact in (
        "Brain MRI without contrast.",
        "Radiologist's report in English",
        "Contrast agent",
        "Radiology",
        "Imaging",
        "about 3 days",
        "45 minutes",
        "Hospital code MRI-02",
        "LOINC 24590-2",
    ):
        assert fact in text


def test_item_page_shows_reference_price_abroad_with_source_and_saving(client, hospital, usd_at_seven):
    service = make_comparable()
    make_item(hospital, comparable=service)
    make_reference(service)  # US 1,119 USD, iFHP 2015
    response = client.get("/en/hospitals/east/services/MRI-01/", {"currency": "USD"})
    text = page_text(response)
    assert "What it costs abroad" in text
    source = "International Federation of Health Plans, 2015 Comparative Price Report, 2015"
    assert f"United States $1,119.00 {source}" in text
    # 1,119 USD x 7.2 = 8,056.80 CNY; saving 8,056.80 - 486 = 7,570.80 CNY (94%)
    assert "CN¥8,056.80" in text and "CN¥7,570.80 less (94%)" in text and "$1,051.50" in text
    assert 'href="/en/compare/mri/"' in response.content.decode()


def test_item_page_invents_nothing_without_a_reference_price(client, hospital):
    make_item(hospital, comparable=make_comparable())
    make_item(hospital, code="XR-01", en="Chest X-ray", zh="胸片", keywords="xray")
    for code in ("MRI-01", "XR-01"):
        text = page_text(client.get(f"/en/hospitals/east/services/{code}/"))
        assert "What it costs abroad" not in text and "Saving" not in text and "International Federation" not in text
    assert "Compare this service across hospitals" not in page_text(client.get("/en/hospitals/east/services/XR-01/"))


def test_price_on_a_past_date_shows_the_price_then_in_force(client, hospital):
    item = make_item(hospital, price=Decimal("400"), effective_from=datetime.date(2020, 1, 1))
    Price.objects.create(
        item=item,
        effective_from=datetime.date(2024, 1, 1),
        amount_min=Decimal("486"),
        amount_max=Decimal("486"),
    )
    now = client.get("/en/hospitals/east/services/MRI-01/")
    assert element_text(now, "price big") == "CN¥486.00"
    then = client.get("/en/hospitals/east/services/MRI-01/", {"on": "2021-06-01"})
    assert element_text(then, "price big") == "CN¥400.00"
    text = page_text(then)
    assert f"Price in force on {local_date(datetime.date(2021, 6, 1))}" in text
    # the history lists both periods, the older ending the day before the newer began
    assert f"{local_date(datetime.date(2020, 1, 1))} {local_date(datetime.date(2023, 12, 31))} CN¥400.00" in text
    assert f"{local_date(datetime.date(2024, 1, 1))} now CN¥486.00" in text
    assert "?on=2024-01-01" in then.content.decode()


def test_price_before_the_first_one_says_none_was_in_force(client, hospital):
    make_item(hospital, effective_from=datetime.date(2020, 1, 1))
    response = client.get("/en/hospitals/east/services/MRI-01/", {"on": "2019-12-31"})
    assert response.status_code == 200
    assert f"No price was in force on {local_date(datetime.date(2019, 12, 31))}." in page_text(response)


def test_badly_written_date_is_an_html_message(client, hospital):
    make_item(hospital)
    response = client.get("/en/hospitals/east/services/MRI-01/", {"on": "yesterday"})
    assert response.status_code == 422
    assert "Give the date as YYYY-MM-DD." in page_text(response)


def test_package_page_lists_its_components(client, hospital):
    blood = make_item(hospital, code="LAB-01", kind="laboratory", en="Full blood count", zh="血常规", keywords="")
    mri = make_item(hospital)
    package = make_item(
        hospital,
        code="PKG-01",
        kind="package",
        en="Executive check-up",
        zh="高端体检",
        keywords="checkup",
        price=Decimal("6800"),
        department="radiology",
    )
    PackageComponent.objects.create(package=package, item=blood, quantity=2)
    PackageComponent.objects.create(package=package, item=mri, quantity=1)
    text = page_text(client.get("/en/hospitals/east/services/PKG-01/"))
    assert "What the package contains" in text
    assert "Full blood count LAB-01 2" in text and "MRI scan, one region MRI-01 1" in text


def test_unknown_or_unpublished_service_is_an_html_404(client, hospital):
    make_item(hospital, active=False)
    response = client.get("/en/hospitals/east/services/MRI-01/")
    assert response.status_code == 404
    assert "No such service in this hospital's catalog." in page_text(response)
    assert "<html" in response.content.decode()


# Comparison


def test_compare_lists_every_hospital_cheapest_first_with_references(client, mri_at_two, usd_at_seven):
    make_reference(make_comparable())
    third = make_hospital("north", city=make_city(), en="North Demo Hospital", zh="北方示范医院")
    make_item(third, comparable=make_comparable(), price=Decimal("300"))
    text = page_text(client.get("/en/compare/mri/", {"currency": "USD"}))
    assert "3 published prices, cheapest first." in text
    assert text.index("North Demo Hospital") < text.index("East Demo Hospital") < text.index("West Demo Hospital")
    assert "$41.67" in text  # 300 / 7.2
    assert "International Federation of Health Plans, 2015 Comparative Price Report, 2015" in text
    assert "the cheapest here" in text and "Hip replacement" not in text


def test_compare_unknown_service_is_an_html_404(client):
    response = client.get("/en/compare/nothing/")
    assert response.status_code == 404
    assert "No such service to compare." in page_text(response)


# Languages


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/prices/?q=核磁",
        "/hospitals/",
        "/hospitals/east/",
        "/hospitals/east/services/MRI-01/",
        "/compare/mri/",
    ],
)
def test_pages_render_in_english_and_chinese(client, mri_at_two, path):
    english = client.get(f"/en{path}")
    chinese = client.get(f"/zh-hans{path}")
    assert english.status_code == chinese.status_code == 200
    assert '<html lang="en">' in english.content.decode()
    assert '<html lang="zh-hans">' in chinese.content.decode()
    assert "East Demo Hospital" in page_text(english)
    assert "东方示范医院" in page_text(chinese)


def test_chinese_pages_show_bilingual_data_and_money_in_chinese(client, mri_at_two):
    response = client.get("/zh-hans/hospitals/east/services/MRI-01/")
    assert element_text(response, "price big") == "¥486.00"
    text = page_text(response)
    assert "核磁共振成像（单部位）" in text and "放射科" in text and "2020年1月1日" in text
