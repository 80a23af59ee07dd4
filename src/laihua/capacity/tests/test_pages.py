import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from laihua.capacity.models import Booking, CapacityDay

pytestmark = pytest.mark.django_db


def signed_in(client, user):
    client.force_login(user)
    return client


def test_the_admin_sees_resources_and_sets_capacity_and_share(client, users, scanner, day):
    signed_in(client, users["hospital_admin"])
    page = client.get(reverse("capacity:resources"))
    assert page.status_code == 200 and "mri-1" in page.content.decode()
    url = reverse("capacity:resource_update", args=[scanner.pk])
    client.post(url, {"what": "day", "day": day.isoformat(), "capacity": "0", "closed": "1", "note": "Holiday"})
    assert CapacityDay.objects.get(resource=scanner, day=day).closed
    client.post(url, {"what": "share", "share": "0.05"})
    scanner.refresh_from_db()
    assert str(scanner.intl_share) == "0.050"
    response = client.post(url, {"what": "share", "share": "0.5"}, follow=True)
    assert "platform maximum" in response.content.decode()
    scanner.refresh_from_db()
    assert str(scanner.intl_share) == "0.050"


def test_a_coordinator_reads_resources_without_edit_forms_and_cannot_post(client, users, scanner):
    signed_in(client, users["coordinator"])
    page = client.get(reverse("capacity:resources")).content.decode()
    assert "mri-1" in page and 'name="share"' not in page
    response = client.post(reverse("capacity:resource_update", args=[scanner.pk]), {"what": "share", "share": "0.05"})
    assert response.status_code == 403


def test_other_hospitals_staff_and_patients_are_refused(client, users, scanner):
    signed_in(client, users["other_admin"])
    assert client.post(reverse("capacity:resource_update", args=[scanner.pk]), {"capacity": "1"}).status_code == 404
    assert "mri-1" not in client.get(reverse("capacity:resources")).content.decode()
    signed_in(client, users["patient"])
    assert client.get(reverse("capacity:resources")).status_code == 403
    assert client.get(reverse("capacity:book")).status_code == 403


def test_a_bad_csv_loads_nothing_and_shows_every_error(client, users, scanner, day):
    signed_in(client, users["hospital_admin"])
    text = f"resource_code,day,capacity,closed,note\nmri-1,{day},80,no,\nmri-1,not-a-day,5,maybe,\n"
    response = client.post(
        reverse("capacity:upload"), {"file": SimpleUploadedFile("c.csv", text.encode())}, follow=True
    )
    body = response.content.decode()
    assert "Row 3, column day" in body and "Row 3, column closed" in body and "Nothing was loaded" in body
    assert not CapacityDay.objects.exists()


def test_the_booking_form_books_and_offers_nearest_days_when_full(client, users, accepted, scanner, day):
    scanner.daily_capacity = 10  # one place a day
    scanner.save()
    signed_in(client, users["coordinator"])
    form = {"case": accepted.reference, "item": "MRI-01", "day": day.isoformat(), "key": "form-1"}
    response = client.post(reverse("capacity:book"), form)
    assert response.status_code == 200 and 'id="booked"' in response.content.decode()
    response = client.post(reverse("capacity:book"), form)  # a double submission books once
    assert Booking.objects.count() == 1
    response = client.post(reverse("capacity:book"), {**form, "key": "form-2"})
    body = response.content.decode()
    assert 'id="book-error"' in body
    assert (day - datetime.timedelta(days=1)).isoformat() in body and (
        day + datetime.timedelta(days=1)
    ).isoformat() in body
    assert Booking.objects.count() == 1


def test_the_booking_form_refuses_another_hospitals_case(client, users, accepted, day):
    signed_in(client, users["other_coordinator"])
    response = client.post(
        reverse("capacity:book"), {"case": accepted.reference, "item": "MRI-01", "day": day.isoformat(), "key": "x"}
    )
    assert 'id="book-error"' in response.content.decode()
    assert not Booking.objects.exists()


def test_the_dashboard_warns_and_exports_csv(client, users, accepted, mri, scanner, day):
    from laihua.capacity import services

    scanner.daily_capacity = 50
    scanner.save()
    for key in "abcd":
        services.book_service(users["coordinator"], accepted, mri, day, idempotency_key=key)
    signed_in(client, users["hospital_admin"])
    page = client.get(reverse("capacity:utilisation") + f"?month={day:%Y-%m}").content.decode()
    assert "level-warn" in page and "80% or more" in page
    csv = client.get(reverse("capacity:utilisation_csv") + f"?month={day:%Y-%m}")
    assert f"mri-1,slot,day,{day.isoformat()},50,5,4,80.0,warn" in csv.content.decode()
    signed_in(client, users["platform_admin"])
    page = client.get(reverse("capacity:utilisation") + f"?month={day:%Y-%m}&hospital=east")
    assert page.status_code == 200 and "level-warn" in page.content.decode()
    signed_in(client, users["patient"])
    assert client.get(reverse("capacity:utilisation")).status_code == 403


def test_the_dashboard_charts_each_resource_against_its_cap(client, users, accepted, mri, scanner, day):
    """The chart's data: the day's use as a share of its cap (4 of 5 places: 80%), with the 80% and 100% lines."""
    import json

    from laihua.capacity import services

    scanner.daily_capacity = 50
    scanner.save()
    for key in "abcd":
        services.book_service(users["coordinator"], accepted, mri, day, idempotency_key=key)
    signed_in(client, users["hospital_admin"])
    page = client.get(reverse("capacity:utilisation") + f"?month={day:%Y-%m}")
    charts = json.loads(json.dumps(page.context["charts"]))  # as the page serialises them
    chart = charts[f"resource-{scanner.pk}"]
    assert [line["value"] for line in chart["lines"]] == [80, 100]
    assert chart["series"][0]["data"][day.day - 1] == 80.0
    assert chart["categories"][day.day - 1] == f"{day:%d}"
    html = page.content.decode()
    assert f'data-chart="resource-{scanner.pk}"' in html and 'id="analytics-charts"' in html


def test_a_full_day_offers_the_waitlist_and_joining_it_from_the_form(client, users, accepted, scanner, day):
    scanner.daily_capacity = 10
    scanner.save()
    signed_in(client, users["coordinator"])
    form = {"case": accepted.reference, "item": "MRI-01", "day": day.isoformat()}
    client.post(reverse("capacity:book"), {**form, "key": "a"})
    body = client.post(reverse("capacity:book"), {**form, "key": "b"}).content.decode()
    assert 'id="join-waitlist"' in body
    page = client.post(reverse("capacity:book"), {**form, "waitlist": "1"}, follow=True).content.decode()
    assert 'id="waitlist"' in page and accepted.reference in page
    assert accepted.waitlist.get().status == "waiting"


def test_the_coordinator_cancels_a_booking_from_the_page_and_the_place_is_free_again(
    client, users, accepted, scanner, day
):
    scanner.daily_capacity = 10  # one place a day
    scanner.save()
    signed_in(client, users["coordinator"])
    form = {"case": accepted.reference, "item": "MRI-01", "day": day.isoformat(), "key": "form-1"}
    page = client.post(reverse("capacity:book"), form).content.decode()
    booking = Booking.objects.get()
    assert reverse("capacity:cancel", args=[booking.pk]) in page
    client.post(reverse("capacity:cancel", args=[booking.pk]))
    booking.refresh_from_db()
    assert booking.status == "cancelled"
    again = client.post(reverse("capacity:book"), {**form, "key": "form-2"}).content.decode()
    assert 'id="booked"' in again


def test_another_hospitals_coordinator_cannot_cancel_from_the_page(client, users, accepted, scanner, day):
    signed_in(client, users["coordinator"])
    form = {"case": accepted.reference, "item": "MRI-01", "day": day.isoformat(), "key": "form-1"}
    client.post(reverse("capacity:book"), form)
    booking = Booking.objects.get()
    signed_in(client, users["other_coordinator"])
    response = client.post(reverse("capacity:cancel", args=[booking.pk]))
    assert response.status_code in (403, 404)
    booking.refresh_from_db()
    assert booking.status == "booked"
