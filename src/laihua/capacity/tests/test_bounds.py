"""Bad input is a JSON error naming the field (422), never a server error, an integer overflow or a hang."""

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from laihua.capacity import services
from laihua.capacity.models import Booking, CapacityDay, ServiceUsage, WaitlistEntry
from laihua.errors import InvalidInput
from laihua.kit import clock

from .test_api import API, auth, post_booking

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_day_service(hospital, scanner, accepted, mri_usage):
    """The MRI now takes its scanner on two days: stepping from 9999-12-31 would overflow."""
    mri_usage.days = 2
    mri_usage.save()
    return mri_usage


def test_a_booking_on_the_last_representable_day_is_refused_naming_the_day(client, users, accepted, two_day_service):
    response = post_booking(client, users["coordinator"], accepted, datetime.date.max, "far")
    assert response.status_code == 422, response.content
    body = response.json()
    assert body["error"] == "invalid" and body["field"] == "day"
    assert str(services.MAX_DAYS_AHEAD) in body["detail"]
    assert not Booking.objects.exists()


def test_the_horizon_is_the_last_day_that_may_be_booked(users, accepted, mri, scanner, mri_usage):
    last = clock.today() + datetime.timedelta(days=services.MAX_DAYS_AHEAD)
    assert services.book_service(users["coordinator"], accepted, mri, last, idempotency_key="last")
    with pytest.raises(InvalidInput) as refused:
        services.book_service(
            users["coordinator"], accepted, mri, last + datetime.timedelta(days=1), idempotency_key="after"
        )
    assert refused.value.field == "day"


def test_the_waitlist_refuses_a_day_beyond_the_horizon(client, users, accepted, two_day_service):
    body = {"case": accepted.reference, "item": "MRI-01", "day": datetime.date.max.isoformat()}
    response = client.post(f"{API}/waitlist", body, content_type="application/json", **auth(users["coordinator"]))
    assert response.status_code == 422 and response.json()["field"] == "day"
    assert not WaitlistEntry.objects.exists()


def test_nearest_days_never_step_past_the_last_date(users, mri, scanner, two_day_service):
    services.set_capacity(users["hospital_admin"], scanner, None, 10)
    assert services.nearest_days_with_room(mri, datetime.date.max) == []
    assert services.nearest_days_with_room(mri, datetime.date.max - datetime.timedelta(days=3)) == []
    # Near the horizon, only days up to the horizon are offered.
    last = clock.today() + datetime.timedelta(days=services.MAX_DAYS_AHEAD)
    offered = services.nearest_days_with_room(mri, last, n=3)
    assert offered == [last - datetime.timedelta(days=n) for n in (1, 2, 3)]


@pytest.mark.parametrize("capacity", [100_001, 2**31, 10**30])
def test_a_capacity_over_the_bound_is_refused_over_the_api(client, users, scanner, day, capacity):
    admin = auth(users["hospital_admin"])
    for body in ({"capacity": capacity}, {"day": day.isoformat(), "capacity": capacity}):
        response = client.put(f"{API}/resources/{scanner.pk}/capacity", body, content_type="application/json", **admin)
        assert response.status_code == 422, response.content
        assert response.json()["field"] == "capacity"
    scanner.refresh_from_db()
    assert scanner.daily_capacity == 100 and not CapacityDay.objects.exists()


def test_the_largest_capacity_is_accepted(client, users, scanner, day):
    response = client.put(
        f"{API}/resources/{scanner.pk}/capacity",
        {"day": day.isoformat(), "capacity": services.MAX_CAPACITY},
        content_type="application/json",
        **auth(users["hospital_admin"]),
    )
    assert response.status_code == 200
    assert CapacityDay.objects.get(resource=scanner, day=day).capacity == services.MAX_CAPACITY


def test_a_new_resource_with_too_large_a_capacity_is_refused(client, users, hospital):
    body = {"code": "ct-1", "kind": "ct", "unit": "slot", "name": {"en": "CT"}, "daily_capacity": 2**40}
    response = client.post(f"{API}/resources", body, content_type="application/json", **auth(users["hospital_admin"]))
    assert response.status_code == 422 and response.json()["field"] == "daily_capacity"
    assert not hospital.resources.exists()


def test_a_csv_row_over_the_bound_is_named_and_nothing_is_loaded(client, users, scanner, day):
    later = day + datetime.timedelta(days=1)
    text = f"resource_code,day,capacity,closed,note\nmri-1,{day},80,no,\nmri-1,{later},{2**40},no,\n"
    response = client.post(
        f"{API}/capacity.csv", {"file": SimpleUploadedFile("c.csv", text.encode())}, **auth(users["hospital_admin"])
    )
    assert response.status_code == 422
    assert "Row 3, column capacity" in response.json()["detail"]
    assert not CapacityDay.objects.exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("days", 100_000_000),
        ("days", 91),
        ("day_offset", 91),
        ("units", 1001),
        ("units", 0),
        ("days", 0),
        ("day_offset", -1),
    ],
)
def test_a_usage_out_of_bounds_is_refused_naming_the_field(client, users, hospital, scanner, field, value):
    from tests.builders import make_item

    make_item(hospital, code="CT-01")
    response = client.post(
        f"{API}/resources/{scanner.pk}/usages",
        {"item": "CT-01", field: value},
        content_type="application/json",
        **auth(users["hospital_admin"]),
    )
    assert response.status_code == 422, response.content
    assert response.json()["field"] == field
    assert not ServiceUsage.objects.exists()


def test_a_usage_at_the_bounds_is_accepted(users, hospital, scanner):
    from tests.builders import make_item

    item = make_item(hospital, code="CT-01")
    usage = services.set_usage(
        users["hospital_admin"],
        item,
        scanner,
        units=services.MAX_USAGE_UNITS,
        day_offset=services.MAX_USAGE_OFFSET,
        days=services.MAX_USAGE_DAYS,
    )
    assert (usage.units, usage.day_offset, usage.days) == (1000, 90, 90)


def test_a_month_out_of_range_is_refused_on_the_page_and_the_api(client, users, scanner):
    response = client.get(f"{API}/utilisation?month=9999-12", **auth(users["coordinator"]))
    assert response.status_code == 422 and response.json()["field"] == "month"
    client.force_login(users["coordinator"])
    from django.urls import reverse

    page = client.get(reverse("capacity:utilisation") + "?month=9999-12")
    assert page.status_code == 422
