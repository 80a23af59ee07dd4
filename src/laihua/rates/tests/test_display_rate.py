"""The rate shown with prices is kept a minute per process, and a rate saved shows at once."""

import datetime
from decimal import Decimal

import pytest

from laihua.errors import RateUnavailable
from laihua.kit import clock
from laihua.rates import services
from laihua.rates.models import ExchangeRate

pytestmark = pytest.mark.django_db


def add(currency: str, value: str, day: datetime.date | None = None) -> ExchangeRate:
    return ExchangeRate.objects.create(
        currency=currency, rate_date=day or clock.today(), cny_per_unit=Decimal(value), source="Test table"
    )


def test_the_shown_rate_is_the_rate_and_is_asked_for_once(django_assert_num_queries):
    add("AED", "1.95")
    assert services.display_rate("AED") == services.rate_for("AED")
    with django_assert_num_queries(0):
        assert services.display_rate("aed").cny_per_unit == Decimal("1.95")


def test_a_saved_rate_shows_at_once():
    row = add("AED", "1.95")
    assert services.display_rate("AED").cny_per_unit == Decimal("1.95")
    row.cny_per_unit = Decimal("1.97")
    row.save()
    assert services.display_rate("AED").cny_per_unit == Decimal("1.97")
    row.delete()
    with pytest.raises(RateUnavailable):
        services.display_rate("AED")


def test_a_missing_rate_is_refused_every_time_until_one_is_added():
    with pytest.raises(RateUnavailable):
        services.display_rate("SAR")
    add("SAR", "1.90")
    assert services.display_rate("SAR").cny_per_unit == Decimal("1.90")


def test_quotes_and_payments_never_take_a_kept_rate():
    row = add("KZT", "0.0140")
    services.display_rate("KZT")
    type(row).objects.filter(pk=row.pk).update(cny_per_unit=Decimal("0.0150"))  # no signal: another process
    assert services.display_rate("KZT").cny_per_unit == Decimal("0.0140")  # shown within the minute
    assert services.rate_for("KZT").cny_per_unit == Decimal("0.0150")  # what a quote freezes
