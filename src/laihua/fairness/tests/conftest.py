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
