"""Patients in /admin: read-only, passport masked and not searchable, and opening a profile is audited."""

import pytest

from laihua.audit.models import AuditEvent
from laihua.patients.models import Companion
from laihua.patients.tests.form_data import companion_data

pytestmark = pytest.mark.django_db


def test_the_admin_shows_patients_with_the_passport_masked(client, users, patient):
    Companion.objects.create(patient=patient, **companion_data(passport_number="C7654321"))
    client.force_login(users["platform_admin"])
    listing = client.get("/en/admin/patients/patient/").content.decode()
    assert "DOE Jane" in listing and "•••••567" in listing and "X1234567" not in listing
    page = client.get(f"/en/admin/patients/patient/{patient.pk}/change/").content.decode()
    assert "•••••567" in page and "•••••321" in page
    assert "X1234567" not in page and "C7654321" not in page
    assert AuditEvent.objects.filter(action="admin.patients.patient.view", actor=users["platform_admin"]).exists()


def test_the_passport_number_is_not_searchable_in_the_admin(client, users, patient):
    client.force_login(users["platform_admin"])
    assert "DOE Jane" not in client.get("/en/admin/patients/patient/", {"q": "X1234567"}).content.decode()
    assert "DOE Jane" in client.get("/en/admin/patients/patient/", {"q": "Doe"}).content.decode()


def test_patients_cannot_be_added_or_changed_in_the_admin(client, users, patient):
    client.force_login(users["platform_admin"])
    assert client.get("/en/admin/patients/patient/add/").status_code == 403
    response = client.post(f"/en/admin/patients/patient/{patient.pk}/change/", {"family_name": "Changed"})
    assert response.status_code == 403
