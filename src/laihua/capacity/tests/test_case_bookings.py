"""A case's bookings and waitlist entries: read (audited) over the API and on a capacity page of the case,
with cancel and leave-the-waitlist buttons; only the case hospital's coordinators and admins."""

import pytest
from django.urls import reverse

from laihua.audit.models import AuditEvent
from laihua.capacity import services
from laihua.capacity.models import WaitlistEntry
from tests.builders import make_case

from .test_api import API, auth

pytestmark = pytest.mark.django_db


@pytest.fixture
def booked(users, accepted, mri, scanner, day):
    return services.book_service(users["coordinator"], accepted, mri, day, idempotency_key="k1")[0]


def test_the_case_bookings_are_listed_over_the_api_and_the_read_is_audited(client, users, accepted, booked, day):
    before = AuditEvent.objects.filter(action="capacity.case_bookings").count()
    response = client.get(f"{API}/bookings?case={accepted.reference}", **auth(users["coordinator"]))
    assert response.status_code == 200, response.content
    assert response.json() == [
        {
            "id": booked.pk,
            "case": accepted.reference,
            "item": "MRI-01",
            "resource": "mri-1",
            "day": day.isoformat(),
            "units": 1,
            "status": "booked",
        }
    ]
    events = AuditEvent.objects.filter(action="capacity.case_bookings")
    assert events.count() == before + 1
    event = events.latest("pk")
    assert event.object_id == str(accepted.pk) and event.actor == users["coordinator"]
    services.cancel_booking(users["coordinator"], booked)
    listed = client.get(f"{API}/bookings?case={accepted.reference}", **auth(users["hospital_admin"])).json()
    assert [row["status"] for row in listed] == ["cancelled"]


def test_other_hospitals_staff_get_404_and_the_patient_and_clinician_403(client, users, accepted, booked):
    url = f"{API}/bookings?case={accepted.reference}"
    assert client.get(url, **auth(users["other_coordinator"])).status_code == 404
    assert client.get(url, **auth(users["other_admin"])).status_code == 404
    assert client.get(url, **auth(users["patient"])).status_code == 403  # the case's own patient
    assert client.get(url, **auth(users["clinician"])).status_code == 403
    assert client.get(url).status_code == 401
    assert not AuditEvent.objects.filter(action="capacity.case_bookings").exists()


def test_a_case_reference_is_required(client, users):
    response = client.get(f"{API}/bookings", **auth(users["coordinator"]))
    assert response.status_code == 422 and response.json()["field"] == "case"


def test_the_case_waitlist_over_the_api_and_leaving_it_twice(client, users, accepted, mri, day):
    entry = services.join_waitlist(users["coordinator"], accepted, mri, day)
    response = client.get(f"{API}/waitlist?case={accepted.reference}", **auth(users["coordinator"]))
    assert [row["id"] for row in response.json()] == [entry.pk]
    assert AuditEvent.objects.filter(action="capacity.case_waitlist").count() == 1
    assert (
        client.get(f"{API}/waitlist?case={accepted.reference}", **auth(users["other_coordinator"])).status_code == 404
    )
    assert client.delete(f"{API}/waitlist/{entry.pk}", **auth(users["coordinator"])).json()["status"] == "withdrawn"
    again = client.delete(f"{API}/waitlist/{entry.pk}", **auth(users["coordinator"]))  # idempotent
    assert again.status_code == 200 and again.json()["status"] == "withdrawn"
    listed = client.get(f"{API}/waitlist?case={accepted.reference}", **auth(users["coordinator"])).json()
    assert [row["status"] for row in listed] == ["withdrawn"]


# --- the page -------------------------------------------------------------------------------------


def test_the_case_page_lists_bookings_and_waitlist_with_buttons_and_is_audited(
    client, users, patient, hospital, accepted, mri, booked, day
):
    entry = services.join_waitlist(users["coordinator"], accepted, mri, day)
    client.force_login(users["coordinator"])
    page = client.get(reverse("capacity:case", args=[accepted.reference]))
    assert page.status_code == 200
    body = page.content.decode()
    assert reverse("capacity:cancel", args=[booked.pk]) in body
    assert reverse("capacity:leave_waitlist", args=[entry.pk]) in body
    assert day.isoformat() in body and "mri-1" in body
    assert reverse("cases:detail", args=[accepted.reference]) in body
    assert AuditEvent.objects.filter(action="capacity.case_bookings", object_id=str(accepted.pk)).count() == 1
    assert AuditEvent.objects.filter(action="capacity.case_waitlist", object_id=str(accepted.pk)).count() == 1


def test_cancelling_and_leaving_from_the_case_page_come_back_to_it(client, users, accepted, mri, booked, day):
    entry = services.join_waitlist(users["coordinator"], accepted, mri, day)
    client.force_login(users["coordinator"])
    case_url = reverse("capacity:case", args=[accepted.reference])
    response = client.post(reverse("capacity:cancel", args=[booked.pk]), {"next": "case"})
    assert response.status_code == 302 and response["Location"] == case_url
    booked.refresh_from_db()
    assert booked.status == "cancelled"
    entry.refresh_from_db()
    assert entry.status == "booked"  # the freed place went to the waitlist at once
    other = make_case(accepted.patient, accepted.hospital, state="accepted", services=[mri])
    waiting = services.join_waitlist(users["coordinator"], other, mri, day)
    response = client.post(reverse("capacity:leave_waitlist", args=[waiting.pk]), {"next": "case"})
    assert response.status_code == 302
    assert response["Location"] == reverse("capacity:case", args=[other.reference])
    waiting.refresh_from_db()
    assert waiting.status == "withdrawn"
    page = client.get(reverse("capacity:case", args=[other.reference])).content.decode()
    assert reverse("capacity:leave_waitlist", args=[waiting.pk]) not in page  # withdrawn: no button


def test_the_case_page_is_refused_to_other_hospitals_and_patients(client, users, accepted, booked):
    url = reverse("capacity:case", args=[accepted.reference])
    client.force_login(users["other_coordinator"])
    assert client.get(url).status_code == 404
    client.force_login(users["patient"])
    assert client.get(url).status_code == 403
    client.force_login(users["clinician"])
    assert client.get(url).status_code == 403
    assert not AuditEvent.objects.filter(action="capacity.case_bookings").exists()


def test_leaving_the_waitlist_from_the_page_is_refused_to_other_hospitals(client, users, accepted, mri, day):
    entry = services.join_waitlist(users["coordinator"], accepted, mri, day)
    client.force_login(users["other_coordinator"])
    assert client.post(reverse("capacity:leave_waitlist", args=[entry.pk])).status_code == 404
    client.force_login(users["patient"])
    assert client.post(reverse("capacity:leave_waitlist", args=[entry.pk])).status_code == 403
    assert WaitlistEntry.objects.get(pk=entry.pk).status == "waiting"
    client.force_login(users["coordinator"])
    assert client.get(reverse("capacity:leave_waitlist", args=[entry.pk])).status_code == 405


def test_the_booking_and_resources_pages_link_to_the_case_page(client, users, accepted, mri, scanner, booked, day):
    services.join_waitlist(users["coordinator"], accepted, mri, day)
    case_url = reverse("capacity:case", args=[accepted.reference])
    client.force_login(users["coordinator"])
    book_page = client.get(reverse("capacity:book")).content.decode()
    assert case_url in book_page  # from the waitlist
    services.set_capacity(users["hospital_admin"], scanner, day, 0)  # the booking is now over the cap
    resources_page = client.get(reverse("capacity:resources")).content.decode()
    assert case_url in resources_page
