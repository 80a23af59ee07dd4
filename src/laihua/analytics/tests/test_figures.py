"""Every figure of the hand-counted history (see conftest.py), read back through the services."""

import datetime
from decimal import Decimal

import pytest

from laihua.accounts.models import Role
from laihua.analytics import services
from laihua.analytics.tests.conftest import PERIOD
from tests.builders import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def built(history, hospital, other_hospital):
    services.refresh_all(only_changed=False)
    return history


def view(report, key):
    return next(v for v in report["views"] if v["key"] == key)


def by_first(rows, column):
    return {row[column]: row for row in rows}


def test_activity_by_month(built, users):
    report = services.hospital_dashboard(users["hospital_admin"], **PERIOD)
    rows = by_first(view(report, "activity")["rows"], "month")
    assert list(rows) == ["2026-01", "2026-02", "2026-03"]
    counts = {
        m: [r[k] for k in ("inquiries", "quotes", "acceptances", "arrivals", "discharges")] for m, r in rows.items()
    }
    assert counts == {"2026-01": [2, 2, 1, 0, 0], "2026-02": [2, 1, 1, 1, 1], "2026-03": [0, 0, 0, 1, 1]}


def test_funnel(built, users):
    rows = view(services.hospital_dashboard(users["coordinator"], **PERIOD), "funnel")["rows"]
    assert [(r["cases"], r["share"]) for r in rows] == [
        (4, Decimal("100.0")),
        (3, Decimal("75.0")),
        (2, Decimal("50.0")),
        (2, Decimal("50.0")),
    ]


def test_times_median_and_90th_percentile(built, users):
    rows = view(services.hospital_dashboard(users["finance"], **PERIOD), "times")["rows"]
    whole = rows[-1]
    assert whole["responses"] == 3
    assert whole["response_median_h"] == Decimal("10.0")  # 120, 600, 1800 minutes
    assert whole["response_p90_h"] == Decimal("30.0")
    assert whole["on_time"] == Decimal("66.7")
    assert (whole["quote_median_d"], whole["quote_p90_d"]) == (2, 5)  # 2, 5, 2 days
    assert (whole["arrival_median_d"], whole["arrival_p90_d"]) == (36, 40)
    january = rows[0]
    assert (january["responses"], january["on_time"], january["response_median_h"]) == (
        2,
        Decimal("50.0"),
        Decimal("2.0"),
    )


def test_revenue_invoiced_and_collected(built, users):
    rows = by_first(view(services.hospital_dashboard(users["finance"], **PERIOD), "revenue")["rows"], "month")
    assert rows["2026-02"]["invoiced_cny"] == Decimal("1000.00")
    assert rows["2026-02"]["invoiced_self_pay_cny"] == Decimal("400.00")
    assert rows["2026-02"]["invoiced_insurer_cny"] == Decimal("600.00")
    assert rows["2026-02"]["collected_cny"] == Decimal("400.00")
    assert rows["2026-03"]["invoiced_cny"] == Decimal("30000.50")
    assert rows["2026-03"]["collected_cny"] == Decimal("30600.00")  # 600 + 30,000.50 - 0.50 refunded
    assert rows["2026-03"]["collected_self_pay_cny"] == Decimal("30000.00")
    assert rows["2026-03"]["collected_insurer_cny"] == Decimal("600.00")
    assert rows["Total"]["invoiced_cny"] == Decimal("31000.50")
    assert rows["Total"]["collected_cny"] == Decimal("31000.00")


def test_days_to_payment_and_stay(built, users):
    report = services.hospital_dashboard(users["hospital_admin"], **PERIOD)
    assert view(report, "payment_days")["rows"] == [
        {"insurer": "Global Care", "payments": 1, "median_days": 30, "p90_days": 30, "mean_days": Decimal("30.0")}
    ]
    stay = view(report, "stay")
    assert stay["rows"] == [{"days": 4, "discharges": 1}, {"days": 8, "discharges": 1}]
    assert "Median 4 days, 90th percentile 8 days, mean 6.0 days." in stay["note"]


def test_breakdowns(built, users):
    report = services.hospital_dashboard(users["hospital_admin"], **PERIOD)
    countries = view(report, "countries")["rows"]
    assert [(r["country"], r["inquiries"], r["arrivals"], r["invoiced_cny"]) for r in countries] == [
        ("United States of America (US)", 2, 1, Decimal("1000.00")),
        ("Germany (DE)", 1, 1, Decimal("30000.50")),
        ("United Kingdom (GB)", 1, 0, Decimal("0.00")),
    ]
    departments = {r["department"]: r["inquiries"] for r in view(report, "departments")["rows"]}
    assert departments == {"Radiology": 2, "Orthopaedics": 1, "Not given": 1}
    service_rows = {r["service"]: r["quotes"] for r in view(report, "services")["rows"]}
    assert service_rows == {"MRI scan, one region": 1, "Hip replacement": 1, "Not given": 1}


def test_filters_narrow_every_view(built, users):
    report = services.hospital_dashboard(users["hospital_admin"], country="US", **PERIOD)
    rows = by_first(view(report, "activity")["rows"], "month")
    assert [rows[m]["inquiries"] for m in ("2026-01", "2026-02", "2026-03")] == [1, 1, 0]
    assert view(report, "revenue")["rows"][-1]["invoiced_cny"] == Decimal("1000.00")
    by_service = services.hospital_dashboard(users["hospital_admin"], service="HIP-01", **PERIOD)
    assert view(by_service, "funnel")["rows"][0]["cases"] == 1
    by_department = services.hospital_dashboard(users["hospital_admin"], department="radiology", **PERIOD)
    assert view(by_department, "times")["rows"][-1]["responses"] == 1


def test_period_outside_the_history_is_empty(built, users):
    report = services.hospital_dashboard(users["hospital_admin"], start="2025-01", end="2025-12")
    assert sum(r["inquiries"] for r in view(report, "activity")["rows"]) == 0
    assert view(report, "countries")["rows"] == []


def test_city_side_by_side(built, users, hospital, other_hospital):
    hospital.pilot = True
    hospital.save()
    commission = make_user("city", Role.CITY_HEALTH_COMMISSION)
    report = services.city_dashboard(commission, **PERIOD)
    rows = view(report, "activity")["rows"]
    assert [(r["hospital"], r["inquiries"], r["quotes"]) for r in rows] == [
        ("East Demo Hospital ★", 4, 3),
        ("West Demo Hospital", 1, 1),
    ]
    times = view(report, "times")["rows"]
    assert times[-1]["responses"] == 4  # the city's: 60, 120, 600 and 1800 minutes
    assert times[-1]["response_median_h"] == Decimal("2.0")
    assert [r["country"] for r in view(report, "countries")["rows"]][0] == "United States of America (US)"


def test_interpreter_hours_empty_state(built, users):
    interpreters = view(services.hospital_dashboard(users["hospital_admin"], **PERIOD), "interpreters")
    assert interpreters["rows"] == []
    assert "interpret" in interpreters["empty"]


def test_interpreter_hours_by_language_from_confirmed_trips(built, users, hospital, other_hospital):
    """Case A's confirmed trip: English in person 09:00-10:30 and 14:00-14:45, by video 11:00-11:30; Russian by
    phone 08:00-09:00. Not counted: a replaced plan's visit, a visit with no interpreter free, a visit outside
    the period, and the other hospital's trip."""
    from laihua.interpreters.models import Interpreter
    from laihua.planning.models import ItemKind, Itinerary, ItineraryItem, ItineraryStatus

    east = built["cases"][0]
    west = other_hospital.cases.get()
    anna = Interpreter.objects.create(hospital=hospital, name="Anna", languages=["en"])

    def trip(case, status):
        return Itinerary.objects.create(
            case=case, status=status, earliest_arrival=datetime.date(2026, 2, 1), created_by=users["coordinator"]
        )

    def visit(itinerary, day, start, end, language, mode, interpreter=None):
        ItineraryItem.objects.create(
            itinerary=itinerary,
            day=datetime.date.fromisoformat(day),
            kind=ItemKind.VISIT,
            starts_at=datetime.time.fromisoformat(start),
            ends_at=datetime.time.fromisoformat(end),
            interpreter=interpreter,
            interpreter_language=language,
            interpreter_mode=mode,
        )

    confirmed = trip(east, ItineraryStatus.ACTIVE)
    visit(confirmed, "2026-02-10", "09:00", "10:30", "en", "in_person", anna)
    visit(confirmed, "2026-02-11", "14:00", "14:45", "en", "in_person", anna)
    visit(confirmed, "2026-02-11", "11:00", "11:30", "en", "video")
    visit(confirmed, "2026-02-12", "08:00", "09:00", "ru", "phone")
    visit(confirmed, "2026-02-12", "10:00", "11:00", "ru", "none")
    visit(confirmed, "2026-05-12", "10:00", "11:00", "en", "in_person", anna)
    replaced = trip(east, ItineraryStatus.REVOKED)
    visit(replaced, "2026-02-10", "09:00", "12:00", "en", "in_person", anna)
    visit(trip(west, ItineraryStatus.ACTIVE), "2026-02-10", "09:00", "12:00", "en", "video")

    rows = view(services.hospital_dashboard(users["hospital_admin"], **PERIOD), "interpreters")["rows"]
    assert [(r["language"], r["hours"], r["in_person"], r["remote"], r["visits"]) for r in rows] == [
        ("English (en)", Decimal("2.8"), Decimal("2.3"), Decimal("0.5"), 3),
        ("Russian (ru)", Decimal("1.0"), Decimal("0.0"), Decimal("1.0"), 1),
    ]


def test_csv_has_every_row(built, users):
    report = services.hospital_dashboard(users["hospital_admin"], view="revenue", **PERIOD)
    lines = services.view_csv(report["views"][0]).splitlines()
    assert lines[0].startswith("Month,Invoiced (CNY)")
    assert lines[-1] == "Total,31000.50,30400.50,600.00,31000.00,30400.00,600.00"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"start": "2026-13"}, "start"),
        ({"start": "2026-05", "end": "2026-01"}, "start"),
        ({"start": "2000-01", "end": "2026-01"}, "start"),
        ({"country": "XX"}, "country"),
        ({"department": "nope"}, "department"),
        ({"service": "NOPE"}, "service"),
    ],
)
def test_bad_filters_name_their_field(built, users, params, field):
    from laihua.errors import InvalidInput

    with pytest.raises(InvalidInput) as caught:
        services.hospital_dashboard(users["hospital_admin"], **params)
    assert caught.value.field == field
