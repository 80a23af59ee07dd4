"""Reserved idempotency keys, the waitlist after a booking elsewhere, malformed CSV, a lowered platform
maximum, audited listings and inactive resources on the dashboard."""

import datetime
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from laihua.audit.models import AuditEvent
from laihua.capacity import services
from laihua.capacity.models import Booking, BookingRequest, CapacityDay, WaitlistEntry
from laihua.capacity.tests.test_api import API, auth, post_booking
from laihua.errors import InvalidInput
from tests.builders import make_case

pytestmark = pytest.mark.django_db


@pytest.fixture
def full_day(users, scanner, accepted, mri, day):
    """One international place a day on the scanner, taken on `day` by `accepted`."""
    services.set_capacity(users["hospital_admin"], scanner, None, 10)
    return services.book_service(users["coordinator"], accepted, mri, day, idempotency_key="first")[0]


def test_a_client_may_not_send_a_key_laihua_makes_itself(client, users, accepted, day):
    for key in ("waitlist-7", "Itinerary-3-4"):
        response = post_booking(client, users["coordinator"], accepted, day, key)
        assert response.status_code == 422
        assert response.json()["field"] == "idempotency_key"
    response = post_booking(client, users["coordinator"], accepted, day, "my-waitlist-7")
    assert response.status_code == 201
    body = {"case": accepted.reference, "item": "MRI-01", "day": day.isoformat(), "idempotency_key": "waitlist-7"}
    response = client.post(
        f"{API}/bookings",
        body,
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="zh-hans",
        **auth(users["coordinator"]),
    )
    assert "幂等" in response.json()["detail"]


def test_a_waiting_entry_whose_key_is_taken_is_passed_over_not_a_server_error(
    users, patient, hospital, mri, scanner, day, full_day
):
    coordinator = users["coordinator"]
    blocked = make_case(patient, hospital, state="accepted", services=[mri])
    second = make_case(patient, hospital, state="accepted", services=[mri])
    entry = services.join_waitlist(coordinator, blocked, mri, day)
    services.join_waitlist(coordinator, second, mri, day)
    # A key stored before the prefixes were reserved.
    BookingRequest.objects.create(
        hospital=hospital,
        idempotency_key=f"waitlist-{entry.pk}",
        case=blocked,
        item=mri,
        start_day=day,
        created_by=coordinator,
    )
    services.cancel_booking(coordinator, full_day)
    assert WaitlistEntry.objects.get(pk=entry.pk).status == "waiting"
    assert Booking.objects.get(case=second, status="booked").day == day


def test_booking_the_service_on_another_day_takes_the_case_off_its_waitlist(
    users, patient, hospital, mri, scanner, day, full_day
):
    coordinator = users["coordinator"]
    waiting = make_case(patient, hospital, state="accepted", services=[mri])
    entry = services.join_waitlist(coordinator, waiting, mri, day)
    other_day = day + datetime.timedelta(days=1)
    services.book_service(coordinator, waiting, mri, other_day, idempotency_key="nearest")
    assert WaitlistEntry.objects.get(pk=entry.pk).status == "withdrawn"
    assert waiting.events.filter(kind="waitlist_left").exists()
    services.cancel_booking(coordinator, full_day)
    booked = Booking.objects.filter(case=waiting, status="booked")
    assert [b.day for b in booked] == [other_day]
    assert services.booked_units(scanner, day) == 0


@pytest.mark.parametrize(
    "text, loaded",
    [
        ("resource_code,day,capacity\rmri-1,{day},80\r", 1),  # old Mac line ends
        ('resource_code,day,capacity,closed,note\r\nmri-1,{day},0,yes,"Holiday\r\nall day"\r\n', 1),
    ],
)
def test_csv_with_cr_line_ends_loads(users, hospital, scanner, day, text, loaded):
    result = services.import_capacity_csv(users["hospital_admin"], hospital, text.format(day=day).encode())
    assert result["rows"] == loaded and CapacityDay.objects.filter(resource=scanner, day=day).exists()


def test_malformed_csv_is_refused_naming_the_row_not_a_server_error(client, users, hospital, scanner, day):
    huge = "x" * 200_000
    for text in (
        f"resource_code,day,capacity,closed,note\nmri-1,{day},80,no,{huge}\n",
        f"resource_code,day\rmri\n-1,{day}",
    ):
        with pytest.raises(InvalidInput) as refused:
            services.import_capacity_csv(users["hospital_admin"], hospital, text.encode())
        assert refused.value.field == "file" and "Row " in str(refused.value.message)
    response = client.post(
        f"{API}/capacity.csv",
        {
            "file": SimpleUploadedFile(
                "c.csv", f"resource_code,day,capacity,closed,note\nmri-1,{day},8,no,{huge}\n".encode()
            )
        },
        **auth(users["hospital_admin"]),
    )
    assert response.status_code == 422 and response.json()["field"] == "file"
    assert not CapacityDay.objects.exists()


def test_a_share_stored_above_a_lowered_platform_maximum_counts_at_the_maximum(scanner, day):
    assert scanner.intl_share == Decimal("0.10")
    with override_settings(LAIHUA_QUOTA_MAX_SHARE=0.05):
        caps = services.Capacities([scanner], day, day)
        assert caps.day_cap(scanner.pk, day) == 5
    assert services.Capacities([scanner], day, day).day_cap(scanner.pk, day) == 10


def test_listings_of_cases_over_the_cap_and_on_the_waitlist_are_audited(
    client, users, patient, hospital, mri, scanner, day, full_day, accepted
):
    coordinator = users["coordinator"]
    waiting = make_case(patient, hospital, state="accepted", services=[mri])
    services.join_waitlist(coordinator, waiting, mri, day)
    services.set_capacity(users["hospital_admin"], scanner, day, 0)  # the booking is now over the cap
    assert client.get(f"{API}/over-cap", **auth(coordinator)).status_code == 200
    assert client.get(f"{API}/waitlist", **auth(coordinator)).status_code == 200
    over = AuditEvent.objects.get(action="capacity.over_cap_list")
    listed = AuditEvent.objects.get(action="capacity.waitlist_list")
    assert over.detail["cases"] == [accepted.reference] and listed.detail["cases"] == [waiting.reference]
    assert over.actor == coordinator and over.hospital == hospital


def test_an_inactive_resource_with_bookings_stays_on_the_dashboard(users, hospital, scanner, day, full_day):
    services.update_resource(users["hospital_admin"], scanner, active=False)
    report = services.utilisation(users["hospital_admin"], hospital, day)
    assert [entry["resource"].code for entry in report["resources"]] == ["mri-1"]
    assert report["resources"][0]["month"]["booked"] == 1
    services.cancel_booking(users["coordinator"], full_day)
    assert services.utilisation(users["hospital_admin"], hospital, day)["resources"] == []


def test_a_service_bigger_than_a_days_whole_cap_says_so(users, patient, hospital, hip, day):
    item, theatre, _beds = hip
    services.set_capacity(users["hospital_admin"], theatre, None, 8)  # 10% of 8 hours: 0 international hours
    case = make_case(patient, hospital, state="accepted", services=[item])
    with pytest.raises(services.QuotaFull) as refused:
        services.book_service(users["coordinator"], case, item, day, idempotency_key="hip")
    assert refused.value.field == "item" and "theatre-1" in str(refused.value.message)
    assert "needs 3" in str(refused.value.message) and not Booking.objects.filter(case=case).exists()


def test_a_closed_day_reopens_to_its_usual_capacity_and_bad_closures_are_refused(users, scanner, day):
    admin = users["hospital_admin"]
    services.set_capacity(admin, scanner, day, None, closed=True, note="Holiday")
    assert services.Capacities([scanner], day, day).day(scanner.pk, day) == 0
    services.set_capacity(admin, scanner, day, "")
    assert not CapacityDay.objects.filter(resource=scanner, day=day).exists()
    assert services.Capacities([scanner], day, day).day(scanner.pk, day) == 100
    with pytest.raises(InvalidInput) as refused:
        services.set_capacity(admin, scanner, None, 50, closed=True)
    assert refused.value.field == "day"
    with pytest.raises(InvalidInput) as refused:
        services.set_capacity(admin, scanner, day, 50, note="x" * 201)
    assert refused.value.field == "note" and not CapacityDay.objects.exists()


def test_form_errors_name_the_field_in_the_pages_language_and_keep_what_was_typed(client, users):
    client.force_login(users["hospital_admin"])
    data = {"code": "ct-9", "name_en": "CT 9", "kind": "ct", "unit": "slot", "daily_capacity": "999999999"}
    response = client.post("/zh-hans/capacity/resources/new/", data)
    page = response.content.decode()
    assert response.status_code == 422 and "每日容量" in page and 'value="ct-9"' in page


def test_the_platform_view_of_an_unknown_hospital_is_not_found_and_small_use_is_not_zero(
    client, users, hospital, scanner, accepted, mri, day
):
    client.force_login(users["platform_admin"])
    assert client.get("/en/capacity/utilisation/", {"hospital": "nope"}).status_code == 404
    assert client.get("/en/capacity/utilisation/", {"hospital": hospital.slug}).status_code == 200
    services.set_capacity(users["hospital_admin"], scanner, None, 100_000)  # 10,000 places a day
    services.book_service(users["coordinator"], accepted, mri, day, idempotency_key="one")
    report = services.utilisation(users["hospital_admin"], hospital, day)
    row = next(r for r in report["resources"][0]["days"] if r["day"] == day)
    assert row["booked"] == 1 and row["percent"] == Decimal("0.1")
