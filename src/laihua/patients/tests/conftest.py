from decimal import Decimal

import pytest

from laihua.kit import clock
from laihua.rates.models import ExchangeRate


@pytest.fixture
def rates(db):
    """Today's rates for the currencies the tests choose, so that no test depends on the ECB data's age."""
    for currency, cny in (("USD", "7.10"), ("EUR", "7.70"), ("GBP", "9.00")):
        ExchangeRate.objects.create(currency=currency, rate_date=clock.today(), cny_per_unit=Decimal(cny))
