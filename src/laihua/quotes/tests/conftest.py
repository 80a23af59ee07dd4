"""Quotes' fixtures: a case in triage, dated rates, a range-priced item, a package, drafts and sent quotes."""

import datetime
from decimal import Decimal

import pytest

from laihua.cases.services import move
from laihua.catalog.models import PackageComponent
from laihua.kit import clock
from laihua.quotes import services
from laihua.rates.models import ExchangeRate
from tests.builders import make_item

USD = Decimal("7.12345678")
EUR = Decimal("7.80000000")


@pytest.fixture
def rates_today(db):
    """Table rates for today, so that conversions do not depend on the ECB file's last date."""
    today = clock.today()
    ExchangeRate.objects.create(currency="USD", rate_date=today, cny_per_unit=USD, source="Test rates")
    ExchangeRate.objects.create(currency="EUR", rate_date=today, cny_per_unit=EUR, source="Test rates")
    return {"USD": USD, "EUR": EUR}


@pytest.fixture
def triage_case(case, users):
    """The patient's MRI inquiry, triaged by the coordinator."""
    return move(users["coordinator"], case, "triage")


@pytest.fixture
def knee(hospital):
    """A procedure priced as a range: the coordinator picks the unit price within it."""
    return make_item(
        hospital,
        code="KNEE-01",
        kind="procedure",
        price=Decimal("30000.00"),
        price_max=Decimal("45000.00"),
        en="Knee arthroscopy",
        zh="膝关节镜手术",
        department="orthopaedics",
        keywords="knee 膝",
        excluded={"en": "Implants", "zh-hans": "植入物"},
    )


@pytest.fixture
def checkup(hospital, mri):
    """A package of which the MRI is a component."""
    package = make_item(
        hospital,
        code="PKG-CHECK",
        kind="package",
        price=Decimal("2800.00"),
        en="Executive check-up",
        zh="高端体检套餐",
        keywords="check-up 体检",
        included={"en": "Blood tests, MRI, report", "zh-hans": "血液检查、核磁共振、报告"},
    )
    PackageComponent.objects.create(package=package, item=mri, quantity=1)
    return package


@pytest.fixture
def draft(triage_case, users, rates_today, mri):
    """A draft with the MRI twice, valid for 30 days, with a 300 CNY deposit."""
    quote = services.create_draft(
        users["coordinator"],
        triage_case,
        {"valid_until": clock.today() + datetime.timedelta(days=30), "deposit": "300"},
    )
    services.add_line(users["coordinator"], quote, {"item": mri.pk, "quantity": 2})
    quote.refresh_from_db()
    return quote


@pytest.fixture
def sent(draft, users):
    return services.send_quote(users["coordinator"], draft)
