"""The pages' views kept in the cache: a refresh shows the new figures at once, the interpreter hours are read
afresh, each language has its own copy; and the histograms merged as stored give what a row-by-row merge gives."""

import datetime

import pytest
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from laihua.accounts.models import Role
from laihua.analytics import services
from laihua.analytics.services import stats
from laihua.analytics.tests.conftest import PERIOD, at, open_case
from tests.builders import make_patient, make_user


def view(report, key):
    return next(v for v in report["views"] if v["key"] == key)


def inquiries(report) -> int:
    return sum(row["inquiries"] for row in view(report, "activity")["rows"])


@pytest.mark.django_db
def test_a_refresh_shows_new_figures_on_a_cached_page(history, users, hospital):
    services.refresh_all(only_changed=False)
    admin = users["hospital_admin"]
    assert inquiries(services.hospital_dashboard(admin, **PERIOD)) == 4
    patient = make_patient(make_user("p-fr", Role.PATIENT), nationality="FR")
    open_case(patient, hospital, at("2026-03-04"), answered_after_h=1)
    assert inquiries(services.hospital_dashboard(admin, **PERIOD)) == 4  # the roll-ups are not rebuilt yet
    services.refresh_all()
    report = services.hospital_dashboard(admin, **PERIOD)
    assert inquiries(report) == 5
    assert view(report, "times")["rows"][-1]["responses"] == 4
    commission = make_user("city", Role.CITY_HEALTH_COMMISSION)
    city = services.city_dashboard(commission, **PERIOD)
    assert [row["inquiries"] for row in view(city, "activity")["rows"]] == [5, 1]


@pytest.mark.django_db
def test_interpreter_hours_are_read_afresh_under_cached_figures(history, users, hospital):
    from laihua.planning.models import ItemKind, Itinerary, ItineraryItem, ItineraryStatus

    services.refresh_all(only_changed=False)
    admin = users["hospital_admin"]
    assert view(services.hospital_dashboard(admin, **PERIOD), "interpreters")["rows"] == []
    trip = Itinerary.objects.create(
        case=history["cases"][0],
        status=ItineraryStatus.ACTIVE,
        earliest_arrival=datetime.date(2026, 2, 1),
        created_by=users["coordinator"],
    )
    ItineraryItem.objects.create(
        itinerary=trip,
        day=datetime.date(2026, 2, 10),
        kind=ItemKind.VISIT,
        starts_at=datetime.time(9),
        ends_at=datetime.time(10),
        interpreter_language="ru",
        interpreter_mode="phone",
    )
    rows = view(services.hospital_dashboard(admin, **PERIOD), "interpreters")["rows"]
    assert [(row["language"], row["visits"]) for row in rows] == [("Russian (ru)", 1)]


@pytest.mark.django_db
def test_each_language_and_filter_has_its_own_copy(history, users):
    services.refresh_all(only_changed=False)
    admin = users["hospital_admin"]
    with translation.override("en"):
        english = view(services.hospital_dashboard(admin, **PERIOD), "times")
    with translation.override("zh-hans"):
        chinese = view(services.hospital_dashboard(admin, **PERIOD), "times")
    assert english["title"] == "Response and waiting times"
    assert chinese["title"] != english["title"]
    assert inquiries(services.hospital_dashboard(admin, country="US", **PERIOD)) == 2


histograms = st.lists(st.dictionaries(st.integers(0, 5000).map(str), st.integers(1, 50), max_size=30), max_size=8)


@given(histograms)
def test_merging_as_stored_equals_merging_row_by_row(rows):
    raw: dict = {}
    one_by_one: dict = {}
    for histogram in rows:
        stats.add_raw(raw, histogram)
        stats.merge(one_by_one, histogram)
    merged = stats.keyed(raw)
    assert merged == one_by_one
    for share in (0.5, 0.9):
        assert stats.percentile(merged, share) == stats.percentile(one_by_one, share)
