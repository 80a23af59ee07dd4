import datetime

import pytest

from laihua.fairness.models import MonthlyUse
from laihua.kit import clock


@pytest.fixture
def last_month():
    return (clock.today().replace(day=1) - datetime.timedelta(days=1)).replace(day=1)


def use(hospital, month, category, *, used, capacity, cap, patients):
    return MonthlyUse.objects.create(
        hospital=hospital,
        month=month,
        category=category,
        used=used,
        capacity=capacity,
        cap=cap,
        patients=patients,
        updated_at=clock.now(),
    )


@pytest.fixture(autouse=True)
def _empty_cache():
    """The report's page is cached under the roll-up's version: start every test without it."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()
