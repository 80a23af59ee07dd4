import datetime
from decimal import Decimal

import pytest

from laihua.errors import InvalidInput, PermissionDenied, RateUnavailable
from laihua.rates import services
from laihua.rates.models import ExchangeRate


@pytest.mark.django_db
def test_ecb_rate_converts_cny_to_usd_with_its_date():
    rate = services.rate_for("USD", datetime.date(2024, 6, 3))
    assert rate.rate_date == datetime.date(2024, 6, 3)
    assert Decimal("6.5") < rate.cny_per_unit < Decimal("8")
    assert services.convert_from_cny(Decimal("486"), rate) == (Decimal("486") / rate.cny_per_unit).quantize(
        Decimal("0.01")
    )


@pytest.mark.django_db
def test_weekend_uses_the_last_published_rate():
    rate = services.rate_for("GBP", datetime.date(2024, 6, 2))  # a Sunday
    assert rate.rate_date == datetime.date(2024, 5, 31)


@pytest.mark.django_db
def test_currency_without_any_rate_is_an_error_not_one_to_one():
    with pytest.raises(RateUnavailable) as caught:
        services.rate_for("AED", datetime.date(2024, 6, 3))
    assert caught.value.field == "currency"


@pytest.mark.django_db
def test_table_rate_serves_currencies_the_ecb_lacks():
    ExchangeRate.objects.create(currency="AED", rate_date=datetime.date(2024, 6, 1), cny_per_unit=Decimal("1.97"))
    rate = services.rate_for("AED", datetime.date(2024, 6, 3))
    assert rate.cny_per_unit == Decimal("1.97")
    assert services.convert_from_cny(Decimal("197"), rate) == Decimal("100.00")


@pytest.mark.django_db
def test_stale_ecb_rouble_is_refused_until_the_table_has_a_fresh_one():
    day = datetime.date(2024, 6, 3)
    with pytest.raises(RateUnavailable):
        services.rate_for("RUB", day)  # the ECB stopped publishing RUB in 2022
    ExchangeRate.objects.create(currency="RUB", rate_date=datetime.date(2024, 6, 1), cny_per_unit=Decimal("0.08"))
    assert services.rate_for("RUB", day).cny_per_unit == Decimal("0.08")


@pytest.mark.django_db
def test_unknown_currency_names_the_field():
    with pytest.raises(InvalidInput) as caught:
        services.rate_for("XYZ")
    assert caught.value.field == "currency"


@pytest.mark.django_db
def test_rate_import_rejects_the_whole_file_on_one_bad_row(users):
    text = "currency,date,cny_per_unit,source\nAED,2024-06-01,1.97,bank\nSAR,2024-06-01,-1,bank\n"
    with pytest.raises(InvalidInput) as caught:
        services.import_rates(users["platform_admin"], text)
    assert "Row 3" in str(caught.value.message) and caught.value.field == "cny_per_unit"
    assert not ExchangeRate.objects.exists()


@pytest.mark.django_db
def test_rate_import_is_for_the_platform_admin(users):
    with pytest.raises(PermissionDenied):
        services.import_rates(users["hospital_admin"], "currency,date,cny_per_unit\nAED,2024-06-01,1.97\n")
