"""The patients API: registration, my profile and companions, and staff reading a profile (masked)."""

import pytest

from laihua.accounts.services import create_api_token
from laihua.audit.models import AuditEvent
from laihua.patients.models import Companion, Patient
from laihua.patients.tests.form_data import companion_data, profile_data, registration_data
from tests.builders import make_case

pytestmark = pytest.mark.django_db


def bearer(user):
    return {"Authorization": f"Bearer {create_api_token(user, user, 'test')[1]}"}


def registration_payload(**changes) -> dict:
    data = registration_data(**changes)
    data["password"] = data.pop("password1")
    data.pop("password2")
    return data


def test_registration_needs_no_sign_in_and_answers_the_same_whether_the_address_is_new_or_not(
    client, rates, mailoutbox
):
    response = client.post("/api/patients/register", registration_payload(), content_type="application/json")
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status"] == "confirmation_sent" and "e-mail" in body["detail"]
    assert "123456789" not in response.content.decode()
    patient = Patient.objects.get()
    assert patient.user.username == "emma.smith@example.test" and patient.user.registration_pending
    assert patient.passport_masked == "••••••789"
    again = client.post(
        "/api/patients/register", registration_payload(passport_number="Z1234567"), content_type="application/json"
    )
    assert again.status_code == 202 and again.json() == body
    assert len(mailoutbox) == 2 and Patient.objects.count() == 1


def test_registration_with_a_lower_case_country_code(client, rates):
    response = client.post(
        "/api/patients/register", registration_payload(nationality="gb"), content_type="application/json"
    )
    assert response.status_code == 202


def test_too_many_registrations_are_a_429(client, rates, settings):
    settings.LAIHUA_EMAIL_LIMIT_PER_ADDRESS = 1
    first = client.post("/api/patients/register", registration_payload(), content_type="application/json")
    assert first.status_code == 202
    payload = registration_payload(email="other@example.test")
    refused = client.post("/api/patients/register", payload, content_type="application/json")
    assert refused.status_code == 429 and refused.json()["error"] == "too_many_requests"


def test_registration_errors_name_the_field_and_save_nothing(client, rates):
    response = client.post(
        "/api/patients/register", registration_payload(preferred_currency="XYZ"), content_type="application/json"
    )
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "invalid" and body["field"] == "preferred_currency"
    assert body["detail"].startswith("Preferred currency:")
    assert not Patient.objects.exists()


def test_a_missing_field_is_reported_in_the_requested_language(client, rates):
    payload = registration_payload()
    del payload["family_name"]
    response = client.post(
        "/api/patients/register", payload, content_type="application/json", headers={"Accept-Language": "zh-hans"}
    )
    assert response.status_code == 422
    assert response.json()["field"] == "family_name"
    assert "必填项" in response.json()["detail"]


def test_my_profile_shows_my_passport_number_in_full_and_is_not_cached(client, patient):
    response = client.get("/api/patients/me", headers=bearer(patient.user))
    assert response.status_code == 200
    body = response.json()
    assert body["passport_number"] == "X1234567" and body["passport_masked"] == "•••••567"
    assert response["Cache-Control"] == "no-store"


def test_my_profile_needs_a_sign_in(client, patient):
    assert client.get("/api/patients/me").status_code == 401


def test_staff_have_no_patient_profile_of_their_own(client, users):
    assert client.get("/api/patients/me", headers=bearer(users["coordinator"])).status_code == 403


def test_i_change_my_profile(client, patient, rates):
    payload = profile_data(patient, phone="+1 212 555 0123", preferred_currency="EUR")
    response = client.put("/api/patients/me", payload, content_type="application/json", headers=bearer(patient.user))
    assert response.status_code == 200, response.content
    assert response.json()["phone"] == "+1 212 555 0123"
    assert Patient.objects.get(pk=patient.pk).preferred_currency == "EUR"


def test_a_bad_change_is_refused_and_nothing_changes(client, patient, rates):
    payload = profile_data(patient, phone="+1 212 555 0123", date_of_birth="2999-01-01")
    response = client.put("/api/patients/me", payload, content_type="application/json", headers=bearer(patient.user))
    assert response.status_code == 422 and response.json()["field"] == "date_of_birth"
    assert Patient.objects.get(pk=patient.pk).phone == ""


def test_my_companions(client, patient):
    headers = bearer(patient.user)
    created = client.post(
        "/api/patients/me/companions", companion_data(), content_type="application/json", headers=headers
    )
    assert created.status_code == 201, created.content
    companion = created.json()
    assert companion["passport_number"] == "C7654321" and companion["passport_masked"] == "•••••321"
    listed = client.get("/api/patients/me/companions", headers=headers).json()
    assert [c["id"] for c in listed] == [companion["id"]]
    changed = client.put(
        f"/api/patients/me/companions/{companion['id']}",
        companion_data(relation="spouse"),
        content_type="application/json",
        headers=headers,
    )
    assert changed.json()["relation"] == "spouse"
    assert client.delete(f"/api/patients/me/companions/{companion['id']}", headers=headers).status_code == 204
    assert not Companion.objects.exists()


def test_i_cannot_remove_another_patients_companion(client, patient, other_patient):
    theirs = Companion.objects.create(patient=other_patient, **{**companion_data(), "date_of_birth": "1978-07-01"})
    response = client.delete(f"/api/patients/me/companions/{theirs.pk}", headers=bearer(patient.user))
    assert response.status_code == 404
    assert Companion.objects.filter(pk=theirs.pk).exists()


def test_staff_read_a_patient_of_their_hospital_with_the_passport_masked(client, case, users):
    Companion.objects.create(patient=case.patient, **companion_data(passport_number="C7654321"))
    response = client.get(f"/api/patients/{case.patient_id}", headers=bearer(users["coordinator"]))
    assert response.status_code == 200
    body = response.json()
    assert body["passport_masked"] == "•••••567" and "passport_number" not in body
    assert body["companions"][0]["passport_masked"] == "•••••321"
    assert "X1234567" not in response.content.decode() and "C7654321" not in response.content.decode()
    event = AuditEvent.objects.get(action="patients.patient.view")
    assert event.channel == "api" and event.hospital_id == case.hospital_id


def test_staff_of_another_hospital_get_not_found(client, case, users):
    response = client.get(f"/api/patients/{case.patient_id}", headers=bearer(users["other_coordinator"]))
    assert response.status_code == 404


def test_staff_with_no_case_of_the_patient_get_not_found(client, patient, other_patient, users, hospital):
    make_case(patient, hospital)
    response = client.get(f"/api/patients/{other_patient.pk}", headers=bearer(users["coordinator"]))
    assert response.status_code == 404


def test_a_patient_cannot_read_another_patient(client, patient, other_patient):
    response = client.get(f"/api/patients/{other_patient.pk}", headers=bearer(patient.user))
    assert response.status_code == 404
    own = client.get(f"/api/patients/{patient.pk}", headers=bearer(patient.user))
    assert own.status_code == 200 and "passport_number" not in own.json()
