"""What a service takes (list, add, remove), a resource's opening hours and active flag, and its closures:
over the API and on the resource's page. Staff of the hospital read; only its admin changes."""

import datetime

import pytest
from django.urls import reverse

from laihua.audit.models import AuditEvent
from laihua.capacity import services
from laihua.capacity.models import ServiceUsage
from laihua.errors import InvalidInput, NotFound, PermissionDenied
from laihua.kit import clock
from tests.builders import make_item

from .conftest import make_resource
from .test_api import API, auth

pytestmark = pytest.mark.django_db


# --- usages ---------------------------------------------------------------------------------------


def test_usages_are_listed_and_removed_over_the_api(client, users, mri, scanner, mri_usage):
    listed = client.get(f"{API}/resources/{scanner.pk}/usages", **auth(users["coordinator"]))
    assert listed.status_code == 200
    assert listed.json() == [
        {"id": mri_usage.pk, "item": "MRI-01", "resource": "mri-1", "units": 1, "day_offset": 0, "days": 1}
    ]
    refused = client.delete(f"{API}/resources/{scanner.pk}/usages/{mri_usage.pk}", **auth(users["coordinator"]))
    assert refused.status_code == 403
    other = client.delete(f"{API}/resources/{scanner.pk}/usages/{mri_usage.pk}", **auth(users["other_admin"]))
    assert other.status_code == 404
    assert client.get(f"{API}/resources/{scanner.pk}/usages", **auth(users["other_coordinator"])).status_code == 404
    assert client.get(f"{API}/resources/{scanner.pk}/usages", **auth(users["patient"])).status_code == 403
    removed = client.delete(f"{API}/resources/{scanner.pk}/usages/{mri_usage.pk}", **auth(users["hospital_admin"]))
    assert removed.status_code == 204
    assert not ServiceUsage.objects.exists()
    assert AuditEvent.objects.filter(action="capacity.usage_remove").count() == 1
    gone = client.delete(f"{API}/resources/{scanner.pk}/usages/{mri_usage.pk}", **auth(users["hospital_admin"]))
    assert gone.status_code == 404


def test_a_usage_of_another_resource_is_not_removed_through_this_one(client, users, hospital, mri_usage):
    ct = make_resource(hospital, "ct-1", "ct")
    response = client.delete(f"{API}/resources/{ct.pk}/usages/{mri_usage.pk}", **auth(users["hospital_admin"]))
    assert response.status_code == 404
    assert ServiceUsage.objects.filter(pk=mri_usage.pk).exists()


def test_removing_the_only_usage_makes_the_service_unbookable_but_keeps_bookings(
    users, accepted, mri, scanner, mri_usage, day
):
    booking = services.book_service(users["coordinator"], accepted, mri, day, idempotency_key="k")[0]
    services.remove_usage(users["hospital_admin"], mri_usage)
    booking.refresh_from_db()
    assert booking.status == "booked"
    with pytest.raises(InvalidInput):
        services.book_service(users["coordinator"], accepted, mri, day, idempotency_key="k2")


def test_the_resource_page_lists_adds_and_removes_usages(client, users, hospital, mri, scanner, mri_usage):
    ct_item = make_item(hospital, code="CT-01", en="CT scan", zh="CT")
    client.force_login(users["hospital_admin"])
    url = reverse("capacity:resource", args=[scanner.pk])
    page = client.get(url).content.decode()
    assert 'id="usages"' in page and "MRI-01" in page
    assert reverse("capacity:usage_remove", args=[mri_usage.pk]) in page
    response = client.post(
        reverse("capacity:usage_add", args=[scanner.pk]),
        {"item": "CT-01", "units": "2", "day_offset": "0", "days": "1"},
    )
    assert response.status_code == 302 and response["Location"] == url
    assert ServiceUsage.objects.get(item=ct_item).units == 2
    bad = client.post(
        reverse("capacity:usage_add", args=[scanner.pk]),
        {"item": "CT-01", "units": "1", "day_offset": "0", "days": "100000000"},
        follow=True,
    )
    assert bad.status_code == 200 and "days" in bad.content.decode()
    assert ServiceUsage.objects.filter(item=ct_item).count() == 1
    client.post(reverse("capacity:usage_remove", args=[mri_usage.pk]))
    assert not ServiceUsage.objects.filter(pk=mri_usage.pk).exists()


def test_a_coordinator_reads_usages_on_the_page_but_cannot_change_them(client, users, hospital, scanner, mri_usage):
    make_item(hospital, code="CT-01")
    client.force_login(users["coordinator"])
    page = client.get(reverse("capacity:resource", args=[scanner.pk])).content.decode()
    assert "MRI-01" in page and reverse("capacity:usage_remove", args=[mri_usage.pk]) not in page
    assert client.post(reverse("capacity:usage_remove", args=[mri_usage.pk])).status_code == 403
    assert (
        client.post(reverse("capacity:usage_add", args=[scanner.pk]), {"item": "CT-01", "units": "1"}).status_code
        == 403
    )
    client.force_login(users["other_admin"])
    assert client.post(reverse("capacity:usage_remove", args=[mri_usage.pk])).status_code == 404
    assert client.get(reverse("capacity:resource", args=[scanner.pk])).status_code == 404
    assert ServiceUsage.objects.count() == 1


# --- opening hours and active --------------------------------------------------------------------


def test_opening_hours_and_deactivation_over_the_api(client, users, accepted, mri, scanner, day):
    booking = services.book_service(users["coordinator"], accepted, mri, day, idempotency_key="k")[0]
    admin = auth(users["hospital_admin"])
    url = f"{API}/resources/{scanner.pk}"
    response = client.patch(url, {"opening_hours": "08:00-18:00"}, content_type="application/json", **admin)
    assert response.status_code == 200, response.content
    assert response.json()["opening_hours"] == "08:00-18:00" and response.json()["active"] is True
    response = client.patch(url, {"active": False}, content_type="application/json", **admin)
    body = response.json()
    assert body["active"] is False and body["opening_hours"] == "08:00-18:00"
    assert body["bookings_kept"] == [booking.pk]  # deactivating cancels nothing; it lists what remains
    scanner.refresh_from_db()
    assert not scanner.active
    booking.refresh_from_db()
    assert booking.status == "booked"
    with pytest.raises(InvalidInput):
        services.book_service(users["coordinator"], accepted, mri, day, idempotency_key="k2")
    assert client.patch(url, {"active": True}, content_type="application/json", **admin).json()["active"] is True
    assert AuditEvent.objects.filter(action="capacity.resource_update").count() == 3


def test_opening_hours_longer_than_200_characters_are_refused(client, users, scanner):
    response = client.patch(
        f"{API}/resources/{scanner.pk}",
        {"opening_hours": "x" * 201},
        content_type="application/json",
        **auth(users["hospital_admin"]),
    )
    assert response.status_code == 422 and response.json()["field"] == "opening_hours"


@pytest.mark.parametrize(("who", "status"), [("coordinator", 403), ("other_admin", 404), ("patient", 403)])
def test_only_the_hospitals_admin_patches_a_resource(client, users, scanner, who, status):
    response = client.patch(
        f"{API}/resources/{scanner.pk}", {"active": False}, content_type="application/json", **auth(users[who])
    )
    assert response.status_code == status
    scanner.refresh_from_db()
    assert scanner.active


def test_the_service_refuses_other_hospitals_admins(users, scanner):
    with pytest.raises(PermissionDenied):
        services.update_resource(users["other_admin"], scanner, active=False)
    with pytest.raises(NotFound):
        services.get_resource(users["other_admin"], scanner.pk)


def test_the_resource_page_changes_opening_hours_and_deactivates(client, users, scanner):
    client.force_login(users["hospital_admin"])
    url = reverse("capacity:resource", args=[scanner.pk])
    response = client.post(url, {"what": "settings", "opening_hours": "07:00-19:00", "next": "resource"})
    assert response.status_code == 302 and response["Location"] == url
    scanner.refresh_from_db()
    assert scanner.opening_hours == "07:00-19:00" and not scanner.active  # the box was not ticked
    page = client.get(url).content.decode()
    assert "07:00-19:00" in page and "inactive" in page
    client.post(url, {"what": "settings", "opening_hours": "07:00-19:00", "active": "1"})
    scanner.refresh_from_db()
    assert scanner.active
    client.force_login(users["coordinator"])
    assert client.post(url, {"what": "settings", "opening_hours": ""}).status_code == 403
    scanner.refresh_from_db()
    assert scanner.opening_hours == "07:00-19:00" and scanner.active


# --- closures -------------------------------------------------------------------------------------


def test_closures_are_listed_on_the_page_and_over_the_api(client, users, scanner, day):
    admin = users["hospital_admin"]
    later = day + datetime.timedelta(days=3)
    services.set_capacity(admin, scanner, day, 0, closed=True, note="Spring Festival")
    services.set_capacity(admin, scanner, later, 50, note="Half the sessions")  # not a closure
    yesterday = clock.today() - datetime.timedelta(days=1)
    services.set_capacity(admin, scanner, yesterday, 0, closed=True, note="Yesterday")  # past: not listed
    listed = client.get(f"{API}/resources/{scanner.pk}/closures", **auth(users["coordinator"])).json()
    assert listed == [{"day": day.isoformat(), "note": "Spring Festival"}]
    assert client.get(f"{API}/resources/{scanner.pk}/closures", **auth(users["other_coordinator"])).status_code == 404
    client.force_login(users["coordinator"])
    page = client.get(reverse("capacity:resource", args=[scanner.pk])).content.decode()
    assert 'id="closures"' in page and "Spring Festival" in page
    assert "Half the sessions" not in page and "Yesterday" not in page


def test_the_resources_list_links_to_each_resource_page(client, users, scanner):
    client.force_login(users["coordinator"])
    page = client.get(reverse("capacity:resources")).content.decode()
    assert reverse("capacity:resource", args=[scanner.pk]) in page
