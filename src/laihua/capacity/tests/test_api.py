import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from laihua.accounts.services import create_api_token
from laihua.capacity.models import Booking, CapacityDay, Resource

pytestmark = pytest.mark.django_db

API = "/api/capacity"


def auth(user):
    return {"HTTP_AUTHORIZATION": f"Bearer {create_api_token(user, user, 'test')[1]}"}


def post_booking(client, user, case, day, key="k1", header=False, **extra):
    body = {"case": case.reference, "item": "MRI-01", "day": day.isoformat(), **extra}
    headers = auth(user)
    if header:
        headers["HTTP_IDEMPOTENCY_KEY"] = key
    else:
        body["idempotency_key"] = key
    return client.post(f"{API}/bookings", body, content_type="application/json", **headers)


def test_booking_over_the_api_and_a_retry_with_the_header_books_once(client, users, accepted, day):
    first = post_booking(client, users["coordinator"], accepted, day, "abc", header=True)
    assert first.status_code == 201, first.content
    again = post_booking(client, users["coordinator"], accepted, day, "abc", header=True)
    assert again.status_code == 201 and again.json() == first.json()
    assert first.json()[0]["resource"] == "mri-1" and first.json()[0]["status"] == "booked"
    assert Booking.objects.count() == 1


def test_a_full_day_answers_409_quota_full_with_the_nearest_days(client, users, accepted, scanner, day):
    scanner.daily_capacity = 10  # one international place a day
    scanner.save()
    assert post_booking(client, users["coordinator"], accepted, day, "a").status_code == 201
    full = post_booking(client, users["coordinator"], accepted, day, "b")
    assert full.status_code == 409
    body = full.json()
    assert body["error"] == "quota_full" and body["field"] == "day"
    assert body["nearest_days"][:2] == [
        (day - datetime.timedelta(days=1)).isoformat(),
        (day + datetime.timedelta(days=1)).isoformat(),
    ]


def test_other_hospitals_staff_get_404_and_patients_403(client, users, accepted, day):
    assert post_booking(client, users["other_coordinator"], accepted, day).status_code == 404
    assert post_booking(client, users["patient"], accepted, day).status_code == 403
    assert post_booking(client, users["clinician"], accepted, day).status_code == 403
    assert client.post(f"{API}/bookings", {}, content_type="application/json").status_code == 401
    assert not Booking.objects.exists()


def test_a_booking_without_a_key_is_refused(client, users, accepted, day):
    response = post_booking(client, users["coordinator"], accepted, day, "")
    assert response.status_code == 422 and response.json()["field"] == "idempotency_key"


def test_cancel_over_the_api_only_for_own_hospital(client, users, accepted, day):
    booking_id = post_booking(client, users["coordinator"], accepted, day).json()[0]["id"]
    assert client.delete(f"{API}/bookings/{booking_id}", **auth(users["other_coordinator"])).status_code == 404
    response = client.delete(f"{API}/bookings/{booking_id}", **auth(users["coordinator"]))
    assert response.status_code == 200 and response.json()[0]["status"] == "cancelled"


def test_resources_created_listed_and_capacity_set_by_the_admin(client, users, hospital, day):
    admin = auth(users["hospital_admin"])
    body = {"code": "ct-1", "kind": "ct", "unit": "slot", "name": {"en": "CT", "zh-hans": "CT"}, "daily_capacity": 50}
    created = client.post(f"{API}/resources", body, content_type="application/json", **admin)
    assert created.status_code == 201, created.content
    resource_id = created.json()["id"]
    refused = client.post(
        f"{API}/resources", {**body, "code": "ct-2"}, content_type="application/json", **auth(users["coordinator"])
    )
    assert refused.status_code == 403
    listed = client.get(f"{API}/resources", **auth(users["coordinator"]))
    assert [r["code"] for r in listed.json()] == ["ct-1"]
    assert client.get(f"{API}/resources", **auth(users["other_coordinator"])).json() == []
    put = client.put(
        f"{API}/resources/{resource_id}/capacity",
        {"day": day.isoformat(), "capacity": 0, "closed": True},
        content_type="application/json",
        **admin,
    )
    assert put.status_code == 200 and put.json() == []
    assert CapacityDay.objects.get(resource_id=resource_id, day=day).closed
    other = client.put(
        f"{API}/resources/{resource_id}/capacity",
        {"capacity": 1},
        content_type="application/json",
        **auth(users["other_admin"]),
    )
    assert other.status_code == 404
    share = client.put(
        f"{API}/resources/{resource_id}/share", {"share": "0.2"}, content_type="application/json", **admin
    )
    assert share.status_code == 422 and share.json()["field"] == "intl_share"


def test_capacity_put_lists_bookings_over_the_new_cap(client, users, accepted, scanner, day):
    for key in ("a", "b", "c"):
        post_booking(client, users["coordinator"], accepted, day, key)
    response = client.put(
        f"{API}/resources/{scanner.pk}/capacity",
        {"day": day.isoformat(), "capacity": 20},
        content_type="application/json",
        **auth(users["hospital_admin"]),
    )
    over = response.json()
    assert over[0]["cap"] == 2 and over[0]["booked"] == 3 and len(over[0]["bookings"]) == 1
    assert client.get(f"{API}/over-cap", **auth(users["coordinator"])).json()[0]["day"] == day.isoformat()


def test_csv_upload_loads_all_rows_or_none_and_names_row_and_column(client, users, scanner, day):
    admin = auth(users["hospital_admin"])
    tomorrow = day + datetime.timedelta(days=1)
    good = f"resource_code,day,capacity,closed,note\nmri-1,{day},80,no,\nmri-1,{tomorrow},0,yes,Holiday\n"
    bad = good + f"mri-1,{day + datetime.timedelta(days=2)},lots,no,\nct-9,{day},5,no,\n"
    response = client.post(f"{API}/capacity.csv", {"file": SimpleUploadedFile("c.csv", bad.encode())}, **admin)
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert "Row 4, column capacity" in detail and "Row 5, column resource_code" in detail
    assert not CapacityDay.objects.exists()
    response = client.post(f"{API}/capacity.csv", {"file": SimpleUploadedFile("c.csv", good.encode())}, **admin)
    assert response.status_code == 200 and response.json()["rows"] == 2
    assert CapacityDay.objects.get(day=day).capacity == 80
    response = client.post(
        f"{API}/capacity.csv", {"file": SimpleUploadedFile("c.csv", good.encode())}, **auth(users["coordinator"])
    )
    assert response.status_code == 403


def test_utilisation_json_and_csv_with_warnings(client, users, accepted, scanner, day):
    scanner.daily_capacity = 50  # 5 a day
    scanner.save()
    for key in "abcd":
        post_booking(client, users["coordinator"], accepted, day, key)
    month = day.strftime("%Y-%m")
    response = client.get(f"{API}/utilisation?month={month}", **auth(users["coordinator"]))
    assert response.status_code == 200
    entry = response.json()["resources"][0]
    row = next(r for r in entry["days"] if r["day"] == day.isoformat())
    assert (row["cap"], row["booked"], row["percent"], row["level"]) == (5, 4, 80.0, "warn")
    post_booking(client, users["coordinator"], accepted, day, "e")
    entry = client.get(f"{API}/utilisation?month={month}", **auth(users["coordinator"])).json()["resources"][0]
    assert next(r for r in entry["days"] if r["day"] == day.isoformat())["level"] == "full"
    csv = client.get(f"{API}/utilisation.csv?month={month}", **auth(users["hospital_admin"]))
    assert csv["Content-Type"].startswith("text/csv")
    assert f"mri-1,slot,day,{day.isoformat()},50,5,5,100.0,full" in csv.content.decode()
    assert client.get(f"{API}/utilisation?month={month}", **auth(users["other_coordinator"])).json()["resources"] == []
    assert (
        client.get(f"{API}/utilisation?month={month}&hospital=east", **auth(users["other_coordinator"])).status_code
        == 403
    )
    assert (
        client.get(f"{API}/utilisation?month={month}&hospital=east", **auth(users["platform_admin"])).status_code == 200
    )
    assert client.get(f"{API}/utilisation?month={month}", **auth(users["patient"])).status_code == 403
    assert client.get(f"{API}/utilisation?month=2026-13", **auth(users["coordinator"])).status_code == 422


def test_usage_added_over_the_api(client, users, hospital, scanner):
    from tests.builders import make_item

    make_item(hospital, code="CT-01")
    response = client.post(
        f"{API}/resources/{scanner.pk}/usages",
        {"item": "CT-01", "units": 2},
        content_type="application/json",
        **auth(users["hospital_admin"]),
    )
    assert response.status_code == 201 and response.json()["units"] == 2
    assert Resource.objects.get(pk=scanner.pk).usages.count() == 1


def test_waitlist_over_the_api(client, users, accepted, day):
    body = {"case": accepted.reference, "item": "MRI-01", "day": day.isoformat()}
    assert (
        client.post(
            f"{API}/waitlist", body, content_type="application/json", **auth(users["other_coordinator"])
        ).status_code
        == 404
    )
    joined = client.post(f"{API}/waitlist", body, content_type="application/json", **auth(users["coordinator"]))
    assert joined.status_code == 201 and joined.json()["status"] == "waiting"
    entry_id = joined.json()["id"]
    assert [e["id"] for e in client.get(f"{API}/waitlist", **auth(users["coordinator"])).json()] == [entry_id]
    assert client.delete(f"{API}/waitlist/{entry_id}", **auth(users["other_coordinator"])).status_code == 404
    left = client.delete(f"{API}/waitlist/{entry_id}", **auth(users["coordinator"]))
    assert left.json()["status"] == "withdrawn"


def test_the_platform_view_across_hospitals_is_for_platform_admins_only(client, users, accepted, scanner, day):
    post_booking(client, users["coordinator"], accepted, day, "a")
    month = day.strftime("%Y-%m")
    rows = client.get(f"{API}/utilisation/platform?month={month}", **auth(users["platform_admin"])).json()
    assert [(r["hospital"], r["resource"], r["booked"]) for r in rows] == [("east", "mri-1", 1)]
    assert client.get(f"{API}/utilisation/platform?month={month}", **auth(users["hospital_admin"])).status_code == 403
