"""The refresh job's snapshots of the default pages: read in one query instead of the roll-ups, the same views
as the roll-ups give (amounts exact), one per page and language, replaced at each refresh."""

import datetime
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from laihua.accounts.models import Role
from laihua.analytics import services
from laihua.analytics.models import RefreshState, ViewSnapshot
from laihua.analytics.services import figures
from laihua.kit import clock
from tests.builders import make_user

pytestmark = pytest.mark.django_db


def built_afresh(report_of) -> list[dict]:
    """The page's views built from the roll-ups: no cached copy, no snapshot."""
    keys = list(ViewSnapshot.objects.values_list("key", flat=True))
    saved = list(ViewSnapshot.objects.all())
    ViewSnapshot.objects.all().delete()
    cache.clear()
    try:
        return report_of()["views"]
    finally:
        ViewSnapshot.objects.bulk_create(saved)
        assert set(ViewSnapshot.objects.values_list("key", flat=True)) == set(keys)


def roll_up_reads(queries) -> list[str]:
    return [q["sql"] for q in queries if "analytics_hospitalmonth" in q["sql"] or "analytics_cubemonth" in q["sql"]]


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_default_hospital_page_is_read_from_its_snapshot(history, users, hospital, language):
    services.refresh_all(only_changed=False)
    admin = users["hospital_admin"]
    with translation.override(language):
        cache.clear()
        with CaptureQueriesContext(connection) as queries:
            report = services.hospital_dashboard(admin)
        assert roll_up_reads(queries.captured_queries) == []
        assert sum(1 for q in queries.captured_queries if "analytics_viewsnapshot" in q["sql"]) == 1
        assert report["views"] == built_afresh(lambda: services.hospital_dashboard(admin))
    revenue = next(v for v in report["views"] if v["key"] == "revenue")
    amounts = [row["invoiced_cny"] for row in revenue["rows"]]
    assert amounts and all(isinstance(amount, Decimal) for amount in amounts)
    assert sum(amounts) > 0


def test_the_city_page_is_read_from_its_snapshot(history, users):
    services.refresh_all(only_changed=False)
    commission = make_user("city-snap", Role.CITY_HEALTH_COMMISSION)
    with translation.override("en"):
        cache.clear()
        with CaptureQueriesContext(connection) as queries:
            report = services.city_dashboard(commission)
        assert roll_up_reads(queries.captured_queries) == []
        assert report["views"] == built_afresh(lambda: services.city_dashboard(commission))


def test_a_filtered_page_is_built_from_the_roll_ups(history, users):
    services.refresh_all(only_changed=False)
    cache.clear()
    with translation.override("en"), CaptureQueriesContext(connection) as queries:
        services.hospital_dashboard(users["hospital_admin"], country="US")
    assert roll_up_reads(queries.captured_queries) != []


def test_each_refresh_replaces_the_snapshots(history, users, hospital, other_hospital):
    services.refresh_all(only_changed=False)
    languages = {"en", "zh-hans"}
    by_owner = {}
    for owner, language in ViewSnapshot.objects.values_list("hospital_id", "language"):
        by_owner.setdefault(owner, set()).add(language)
    assert by_owner == {hospital.pk: languages, other_hospital.pk: languages, None: languages}
    before = set(ViewSnapshot.objects.filter(hospital=hospital).values_list("key", flat=True))
    services.refresh(hospital)
    after = set(ViewSnapshot.objects.filter(hospital=hospital).values_list("key", flat=True))
    assert len(after) == 2 and not (after & before)
    # The page under the new stamp is read from the new snapshot.
    states = {hospital.pk: RefreshState.objects.get(hospital=hospital).refreshed_at}
    scope = figures.Scope([hospital], services.parse_filters(hospital), "month")
    key = figures.views_cache_key(scope, figures.stored_view_keys(figures.HOSPITAL_VIEWS), "en", states)
    assert key.removeprefix(figures.CACHE_PREFIX) in after


def test_amounts_keep_their_exact_value_and_type():
    stored = {"revenue": {"rows": [{"month": "2026-01", "invoiced_cny": Decimal("1280.50"), "count": 3}]}}
    decoded = figures.decode_views(figures.encode_views(stored))
    assert decoded == stored
    assert type(decoded["revenue"]["rows"][0]["invoiced_cny"]) is Decimal
    assert str(decoded["revenue"]["rows"][0]["invoiced_cny"]) == "1280.50"


def test_an_old_snapshot_is_not_read_and_the_job_renews_it(history, users, hospital):
    """A snapshot is read for as long as a cached copy would be kept (a renamed department shows within that
    time); the refresh job renews older ones even when no case changed."""
    services.refresh_all(only_changed=False)
    long_ago = clock.now() - datetime.timedelta(seconds=figures.VIEWS_CACHE_SECONDS + 60)
    ViewSnapshot.objects.update(built_at=long_ago)
    admin = users["hospital_admin"]
    with translation.override("en"):
        cache.clear()
        with CaptureQueriesContext(connection) as queries:
            services.hospital_dashboard(admin)
        assert roll_up_reads(queries.captured_queries) != []
    stamps = dict(RefreshState.objects.values_list("hospital_id", "refreshed_at"))
    services.refresh_all(hospitals=[])  # a run that rebuilds no hospital still renews the old snapshots
    assert dict(RefreshState.objects.values_list("hospital_id", "refreshed_at")) == stamps
    assert not ViewSnapshot.objects.filter(built_at=long_ago).exists()
    assert ViewSnapshot.objects.filter(hospital=None).count() == 2
    with translation.override("en"):
        cache.clear()
        with CaptureQueriesContext(connection) as queries:
            services.hospital_dashboard(admin)
        assert roll_up_reads(queries.captured_queries) == []
