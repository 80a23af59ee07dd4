"""The public report read from hand-set roll-up rows: shares, suppression of small numbers (page, JSON,
CSV alike), secondary suppression within a city, and nothing but counts in the open data."""

import csv
import io

import pytest

from laihua.fairness.services import report
from laihua.fairness.tests.conftest import use
from tests.builders import make_city, make_hospital

pytestmark = pytest.mark.django_db

PUBLIC_KEYS = {
    "month",
    "city",
    "hospital",
    "category",
    "unit",
    "capacity",
    "cap",
    "cap_percent",
    "used",
    "share_percent",
    "of_cap_percent",
    "patients",
    "suppressed",
}


@pytest.fixture
def shanghai(db, last_month):
    """Two hospitals in Shanghai: east with 12 MRI patients, north with 5 (suppressed)."""
    city = make_city()
    east = make_hospital("east", city=city)
    north = make_hospital("north", city=city, en="North Demo Hospital", zh="北方示范医院")
    # East: 1,860 of 31,000 slots (6.0%) against a cap of 3,100 (10.0%); 12 patients.
    use(east, last_month, "imaging", used=1860, capacity=31000, cap=3100, patients=12)
    # East: nobody in theatre: shown as 0%.
    use(east, last_month, "theatre_time", used=0, capacity=930, cap=93, patients=0)
    # North: 5 patients: suppressed, and so east's imaging is suppressed too (secondary).
    use(north, last_month, "imaging", used=40, capacity=12400, cap=1240, patients=5)
    return east, north


def test_shares_and_caps_are_hand_counted(shanghai, last_month):
    east, north = shanghai
    [city] = report.month_report(last_month)
    total = city.total.figures["imaging"]
    assert (total.used, total.capacity, total.cap, total.patients) == (1900, 43400, 4340, 17)
    assert total.share == report.percent(1900, 43400) and str(total.share) == "4.4"
    assert str(total.cap_share) == "10.0" and str(total.of_cap) == "43.8"
    theatre = city.hospitals[0].figures["theatre_time"]
    assert (theatre.share, theatre.cap_share, theatre.suppressed) == (0, 10, None)


def test_fewer_than_ten_patients_is_suppressed_and_its_neighbour_too(shanghai, last_month):
    [city] = report.month_report(last_month)
    east, north = city.hospitals
    assert north.figures["imaging"].suppressed == report.PRIMARY
    assert north.figures["imaging"].share is None
    # Shown alone, east's 1,860 would give north's 40 away from the city's 1,900.
    assert east.figures["imaging"].suppressed == report.SECONDARY
    assert city.total.figures["imaging"].suppressed is None


def test_ten_patients_are_shown_nine_are_not(db, last_month):
    hospital = make_hospital()
    use(hospital, last_month, "imaging", used=10, capacity=3100, cap=310, patients=10)
    use(hospital, last_month, "bed_days", used=9, capacity=3100, cap=310, patients=9)
    rows = {row["category"]: row for row in report.open_data(last_month) if row["hospital"]}
    assert rows["imaging"]["share_percent"] == 0.3 and rows["imaging"]["patients"] == 10
    assert rows["bed_days"]["share_percent"] is None and rows["bed_days"]["patients"] is None
    assert rows["bed_days"]["used"] is None and rows["bed_days"]["suppressed"] == "fewer_than_10"
    assert rows["bed_days"]["capacity"] == 3100 and rows["bed_days"]["cap_percent"] == 10.0


def test_page_in_both_languages_without_sign_in(client, shanghai, last_month):
    for language, share, hidden in (
        ("en", "4.4% of the 10.0% cap", "Not shown: fewer than 10 patients"),
        ("zh-hans", "4.4%", "10"),
    ):
        response = client.get(f"/{language}/fairness/?month={last_month:%Y-%m}")
        assert response.status_code == 200
        text = response.content.decode()
        assert share in text and hidden in text
        assert "North Demo Hospital" in text or "北方示范医院" in text
    english = client.get("/en/fairness/").content.decode()
    assert "Not shown, so that another hospital" in english  # east's imaging, the secondary suppression
    assert "17 patients" in english and "1900 of 43400 slots" in english
    assert "40 of 12400" not in english  # north's suppressed use


def test_page_defaults_to_last_whole_month_and_refuses_a_bad_month(client, shanghai, last_month):
    assert client.get("/en/fairness/").context["month"] == last_month
    assert client.get("/en/fairness/?month=2026-13").status_code == 422


def test_json_has_counts_only_and_suppresses(client, shanghai, last_month):
    response = client.get("/fairness.json")
    assert response.status_code == 200 and response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"title", "changed_at", "recounted_at", "fields", "rows"}
    assert all(set(row) == PUBLIC_KEYS for row in body["rows"])
    north = next(r for r in body["rows"] if r["hospital"] == "north")
    assert north["used"] is None and north["patients"] is None and north["share_percent"] is None
    assert north["suppressed"] == "fewer_than_10"
    city = next(r for r in body["rows"] if r["hospital"] is None and r["category"] == "imaging")
    assert (city["used"], city["patients"], city["share_percent"]) == (1900, 17, 4.4)
    assert client.get("/fairness.json?month=nope").status_code == 422


def test_csv_has_the_same_rows_with_empty_suppressed_cells(client, shanghai, last_month):
    response = client.get(f"/fairness.csv?month={last_month:%Y-%m}")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert set(rows[0]) == PUBLIC_KEYS
    north = next(r for r in rows if r["hospital"] == "north")
    assert (north["used"], north["patients"], north["share_percent"], north["suppressed"]) == (
        "",
        "",
        "",
        "fewer_than_10",
    )
    east = next(r for r in rows if r["hospital"] == "east" and r["category"] == "imaging")
    assert east["suppressed"] == "secondary" and east["used"] == ""
    assert len(rows) == len(client.get(f"/fairness.json?month={last_month:%Y-%m}").json()["rows"])


def test_the_open_data_is_read_only(client, shanghai):
    assert client.post("/fairness.json").status_code == 405
    assert client.post("/en/fairness/").status_code == 405


def test_the_api_gives_the_same_rows_without_sign_in(client, shanghai, last_month):
    response = client.get(f"/api/fairness?month={last_month:%Y-%m}")
    assert response.status_code == 200
    body = response.json()
    assert body["months"] == [f"{last_month:%Y-%m}"]
    assert body["rows"] == client.get(f"/fairness.json?month={last_month:%Y-%m}").json()["rows"]
    assert all(set(row) == PUBLIC_KEYS for row in body["rows"])
    refused = client.get("/api/fairness?month=2101-01")
    assert refused.status_code == 422 and refused.json()["field"] == "month"
