"""A refused access to patient data leaves an `access.refused` event, whichever door it was asked through."""

import pytest

from laihua.accounts.services import create_api_token
from laihua.audit.models import AuditEvent
from laihua.audit.services import REFUSED, verify_chain

pytestmark = pytest.mark.django_db


def refusals():
    return list(AuditEvent.objects.filter(action=REFUSED).order_by("pk"))


def bearer(user) -> dict:
    _token, secret = create_api_token(user, user, "test")
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def test_another_hospitals_case_through_the_api(client, users, case):
    intruder = users["other_coordinator"]
    response = client.get(f"/api/cases/{case.reference}", **bearer(intruder))
    assert response.status_code == 404 and response.json()["error"] == "not_found"
    [event] = refusals()
    assert (event.actor, event.actor_role, event.hospital.slug) == (intruder, "coordinator", "west")
    assert (event.object_type, event.object_id, event.channel) == ("cases", case.reference, "api")
    assert event.detail == {
        "reason": "not_found",
        "status": 404,
        "method": "GET",
        "path": f"/api/cases/{case.reference}",
        "route": "api:get_case",
        "asked": {"reference": case.reference},
    }


def test_another_patients_invoice_through_the_api(client, users, case, other_patient):
    response = client.get("/api/billing/invoices/4711", **bearer(other_patient.user))
    assert response.status_code == 404
    [event] = refusals()
    assert (event.actor, event.object_type, event.object_id) == (other_patient.user, "invoices", "4711")


def test_a_patient_summary_through_the_fhir_endpoint(client, users, case, patient):
    response = client.get(f"/fhir/Patient/{patient.pk}/$summary", **bearer(users["other_coordinator"]))
    assert response.status_code == 404 and response.json()["resourceType"] == "OperationOutcome"
    [event] = refusals()
    assert (event.actor, event.object_type, event.object_id) == (users["other_coordinator"], "Patient", str(patient.pk))
    assert event.channel == "api" and event.detail["route"] == "fhir:patient_summary"


def test_another_hospitals_case_page(client, users, case):
    client.force_login(users["other_coordinator"])
    response = client.get(f"/en/cases/{case.reference}/", REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 404
    [event] = refusals()
    assert (event.object_type, event.object_id, event.channel) == ("cases", case.reference, "web")
    assert event.ip_address == "203.0.113.9" and event.detail["route"] == "cases:detail"


def test_an_attachment_of_another_hospitals_case_names_the_case_and_the_file(client, users, case):
    client.force_login(users["other_coordinator"])
    assert client.get(f"/en/cases/{case.reference}/attachments/12/").status_code == 404
    [event] = refusals()
    assert (event.object_type, event.object_id) == ("cases", case.reference)
    assert event.detail["asked"] == {"reference": case.reference, "attachment_id": "12"}


def test_a_forbidden_page_is_recorded_as_forbidden(client, users):
    client.force_login(users["clinician"])
    assert client.get("/en/manage/audit/").status_code == 403
    [event] = refusals()
    assert (event.actor, event.object_type, event.object_id) == (users["clinician"], "", "")
    assert (event.detail["reason"], event.detail["status"], event.hospital.slug) == ("forbidden", 403, "east")


def test_the_refusals_are_chained_like_every_event(client, users, case):
    client.force_login(users["other_coordinator"])
    client.get(f"/en/cases/{case.reference}/")
    client.get(f"/api/cases/{case.reference}")
    report = verify_chain()
    assert report.broken is None and report.events == AuditEvent.objects.count()


def test_nothing_is_recorded_for_an_anonymous_visitor_a_success_or_a_wrong_field(client, users, case):
    assert client.get(f"/api/cases/{case.reference}").status_code == 401
    assert client.get(f"/en/cases/{case.reference}/").status_code == 302  # to the sign-in page
    client.force_login(users["coordinator"])
    assert client.get(f"/en/cases/{case.reference}/").status_code == 200
    wrong_item = {"case": case.reference, "item": "NO-SUCH-ITEM", "day": "2030-01-07"}
    response = client.post(
        "/api/capacity/bookings", wrong_item, content_type="application/json", **bearer(users["coordinator"])
    )
    assert response.status_code == 404 and response.json()["field"] == "item"  # the input's fault, not a refusal
    assert refusals() == []
