"""The cases API: the same services as the pages, the shapes clients rely on, errors as {error, detail, field}."""

import datetime

import pytest

from laihua.accounts.services import create_api_token
from laihua.cases.models import Case, Message
from laihua.cases.states import State
from laihua.cases.tests.files import a_disguised_exe, a_pdf, pdf_bytes
from laihua.kit import clock

CASE_KEYS = {
    "reference",
    "inquiry_group",
    "state",
    "state_label",
    "hospital",
    "department",
    "patient",
    "coordinator",
    "services",
    "desired_arrival",
    "desired_departure",
    "language",
    "created_at",
    "state_changed_at",
    "first_response_at",
    "first_response_due",
    "overdue",
    "url",
}
DETAIL_KEYS = CASE_KEYS | {"description", "insurance", "allowed_moves", "timeline", "documents"}


def _error(response, status, code, field=None):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error", "detail", "field"} and body["error"] == code and body["detail"]
    assert body["field"] == field
    return body


@pytest.fixture
def patient_client(client, users, patient):
    client.force_login(users["patient"])
    return client


def test_a_patient_sends_an_inquiry_with_files(patient_client, mri, other_hospital):
    arrival = clock.today() + datetime.timedelta(days=20)
    response = patient_client.post(
        "/api/cases",
        {
            "hospitals": ["east", "west"],
            "services": [mri.pk],
            "description": "Knee pain.",
            "desired_arrival": str(arrival),
            "desired_departure": str(arrival + datetime.timedelta(days=7)),
            "insurer_name": "Demo Insurer",
            "files": [a_pdf("a.pdf"), a_pdf("b.pdf")],
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert len(body["cases"]) == 2 and {c["hospital"]["slug"] for c in body["cases"]} == {"east", "west"}
    first = body["cases"][0]
    assert set(first) == DETAIL_KEYS
    assert first["inquiry_group"] == body["inquiry_group"] and first["state"] == "inquiry"
    assert first["services"] == [{"id": mri.pk, "code": "MRI-01", "name": mri.name}]
    assert [d["name"] for d in first["documents"]] == ["a.pdf", "b.pdf"]
    assert first["documents"][0]["content_type"] == "application/pdf"
    assert first["allowed_moves"] == ["cancelled"]
    assert first["patient"]["passport_masked"].endswith("567") and "X1234567" not in response.content.decode()
    assert first["insurance"] == {"insurer": "Demo Insurer", "policy": "", "member": ""}
    assert first["desired_arrival"] == str(arrival)


def test_an_inquiry_with_a_disguised_file_is_refused_and_saves_nothing(patient_client, mri):
    response = patient_client.post(
        "/api/cases", {"services": [mri.pk], "description": "x", "files": [a_pdf(), a_disguised_exe("x.pdf")]}
    )
    assert "x.pdf" in _error(response, 422, "invalid", "files")["detail"]
    assert not Case.objects.exists()


def test_inquiry_errors_name_the_field(patient_client, hospital):
    _error(
        patient_client.post("/api/cases", {"hospitals": ["nowhere"], "description": "x"}), 422, "invalid", "hospitals"
    )
    _error(patient_client.post("/api/cases", {"hospitals": ["east"]}), 422, "invalid", "description")
    response = patient_client.post(
        "/api/cases", {"hospitals": ["east"], "description": "x", "desired_arrival": "2000-01-01"}
    )
    _error(response, 422, "invalid", "desired_arrival")


def test_staff_cannot_send_an_inquiry_and_a_profile_is_needed(client, users, hospital):
    client.force_login(users["coordinator"])
    _error(client.post("/api/cases", {"hospitals": ["east"], "description": "x"}), 403, "forbidden")
    client.force_login(users["patient"])
    _error(client.post("/api/cases", {"hospitals": ["east"], "description": "x"}), 409, "profile_missing")


def test_a_visitor_gets_401(client):
    _error(client.get("/api/cases"), 401, "unauthenticated")
    _error(client.post("/api/cases", {}), 401, "unauthenticated")


def test_the_list_is_scoped_filtered_and_paged(client, case, users, other_patient, hospital):
    from tests.builders import make_case

    other = make_case(other_patient, hospital, description="Other")
    client.force_login(users["coordinator"])
    body = client.get("/api/cases", {"limit": 1}).json()
    assert set(body) == {"total", "limit", "offset", "counts", "results"}
    assert body["total"] == 2 and body["limit"] == 1 and len(body["results"]) == 1
    assert body["counts"] == {"inquiry": 2}
    assert set(body["results"][0]) == CASE_KEYS
    body = client.get("/api/cases", {"country": "DE"}).json()
    assert [c["reference"] for c in body["results"]] == [other.reference]
    _error(client.get("/api/cases", {"state": "lost"}), 422, "invalid", "state")
    _error(client.get("/api/cases", {"opened_within": "x"}), 422, "invalid", "opened_within")


def test_one_case_for_the_patient_and_for_staff(client, case, users):
    client.force_login(users["patient"])
    body = client.get(f"/api/cases/{case.reference}").json()
    assert set(body) == DETAIL_KEYS and body["allowed_moves"] == ["cancelled"]
    client.force_login(users["coordinator"])
    body = client.get(f"/api/cases/{case.reference}").json()
    assert body["allowed_moves"] == ["triage", "declined", "cancelled"]
    _error(client.get("/api/cases/LH-2000-999999"), 404, "not_found")


def test_a_transition_through_the_api(client, case, users, mailoutbox, django_capture_on_commit_callbacks):
    client.force_login(users["coordinator"])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/api/cases/{case.reference}/transitions",
            {"state": "triage", "note": "Looking at it"},
            content_type="application/json",
        )
    body = response.json()
    assert response.status_code == 200 and body["state"] == "triage" and body["first_response_at"]
    assert body["timeline"][-1]["kind"] == "transition" and body["timeline"][-1]["note"] == "Looking at it"
    assert len(mailoutbox) == 1
    response = client.post(
        f"/api/cases/{case.reference}/transitions", {"state": "closed"}, content_type="application/json"
    )
    _error(response, 409, "invalid_transition", "state")
    response = client.post(f"/api/cases/{case.reference}/transitions", {}, content_type="application/json")
    _error(response, 422, "invalid", "state")
    case.refresh_from_db()
    assert case.state == State.TRIAGE


def test_assign_through_the_api(client, case, users):
    client.force_login(users["coordinator"])
    url = f"/api/cases/{case.reference}/assign"
    body = client.post(url, {"coordinator": "east-coord"}, content_type="application/json").json()
    assert body["coordinator"] == {"username": "east-coord", "name": "east-coord"}
    _error(
        client.post(url, {"coordinator": "west-coord"}, content_type="application/json"), 422, "invalid", "coordinator"
    )
    body = client.post(url, {"coordinator": None}, content_type="application/json").json()
    assert body["coordinator"] is None


def test_messages_through_the_api_with_a_token(client, case, users):
    _token, secret = create_api_token(users["coordinator"], users["coordinator"], "test")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
    url = f"/api/cases/{case.reference}/messages"
    response = client.post(url, {"body": "Please send the X-ray.", "files": [a_pdf("form.pdf")]}, **auth)
    assert response.status_code == 201
    message = response.json()
    assert set(message) == {"id", "author", "from_patient", "body", "internal", "created_at", "attachments"}
    assert message["from_patient"] is False and message["internal"] is False
    download = client.get(message["attachments"][0]["url"], **auth)
    assert download.status_code == 200 and download["Content-Type"] == "application/pdf"
    assert download["Content-Disposition"].startswith("attachment;")
    assert b"".join(download.streaming_content) == pdf_bytes()
    assert client.post(url, {"body": "note", "internal": "true"}, **auth).json()["internal"] is True
    assert len(client.get(url, **auth).json()) == 2
    _error(client.post(url, {"body": ""}, **auth), 422, "invalid", "body")


def test_a_patient_cannot_post_a_staff_note_through_the_api(client, case, users):
    client.force_login(users["patient"])
    response = client.post(f"/api/cases/{case.reference}/messages", {"body": "x", "internal": "true"})
    _error(response, 403, "forbidden")
    assert not Message.objects.exists()


def test_a_missing_file_is_a_clear_error(client, case, users):
    from laihua.cases.uploads import store_attachment

    attachment = store_attachment(case, users["patient"], a_pdf())
    attachment.file.delete(save=False)
    client.force_login(users["patient"])
    _error(client.get(f"/api/cases/{case.reference}/attachments/{attachment.pk}"), 410, "file_missing")
