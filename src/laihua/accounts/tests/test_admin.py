from decimal import Decimal

import pytest
from django.core.management import call_command

from laihua.accounts.models import Role, User
from laihua.audit.models import AuditEvent
from laihua.rates.models import ExchangeRate

pytestmark = pytest.mark.django_db


def test_platform_admins_are_superusers_and_other_roles_never_reach_admin(users):
    assert users["platform_admin"].is_staff and users["platform_admin"].is_superuser
    for role in ("hospital_admin", "coordinator", "clinician", "finance", "insurer_agent", "patient"):
        assert not users[role].is_staff and not users[role].is_superuser


def test_a_role_change_moves_admin_access_with_it(users):
    user = users["platform_admin"]
    user.role, user.hospital = Role.HOSPITAL_ADMIN, users["hospital_admin"].hospital
    user.save()
    assert not user.is_staff and not user.is_superuser
    patient = users["patient"]
    patient.is_staff = patient.is_superuser = True
    patient.save()
    patient.refresh_from_db()
    assert not patient.is_staff and not patient.is_superuser


def test_createsuperuser_makes_a_platform_admin(db, monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a-long-admin-secret")
    call_command("createsuperuser", "--noinput", "--username", "root", "--email", "root@example.test", verbosity=0)
    user = User.objects.get(username="root")
    assert user.role == Role.PLATFORM_ADMIN and user.is_staff and user.is_superuser


def test_only_the_platform_admin_opens_admin(client, users):
    client.force_login(users["platform_admin"])
    assert client.get("/en/admin/").status_code == 200
    client.force_login(users["hospital_admin"])
    assert client.get("/en/admin/")["Location"].startswith("/en/admin/login/")


def test_admin_pages_render(client, users, mri):
    client.force_login(users["platform_admin"])
    for path in (
        "accounts/user/",
        f"accounts/user/{users['coordinator'].pk}/change/",
        "accounts/user/add/",
        "accounts/apitoken/",
        "audit/auditevent/",
        "hospitals/hospital/",
        f"hospitals/hospital/{mri.hospital_id}/change/",
        "hospitals/city/",
        "catalog/catalogitem/",
        f"catalog/catalogitem/{mri.pk}/change/",
        "catalog/comparableservice/",
        "catalog/referenceprice/add/",
        "rates/exchangerate/add/",
    ):
        assert client.get(f"/en/admin/{path}").status_code == 200, path


def test_translated_fields_in_admin_are_labelled_by_language(client, users, hospital):
    client.force_login(users["platform_admin"])
    page = client.get(f"/en/admin/hospitals/hospital/{hospital.pk}/change/").content.decode()
    assert 'name="name_en"' in page and 'name="name_zh-hans"' in page
    assert "Simplified Chinese" in page


def test_admin_changes_are_audited(client, users):
    client.force_login(users["platform_admin"])
    response = client.post(
        "/en/admin/rates/exchangerate/add/",
        {"currency": "aed", "rate_date": "2026-01-05", "cny_per_unit": "1.94", "source": "Central bank"},
    )
    assert response.status_code == 302
    rate = ExchangeRate.objects.get()
    assert rate.currency == "AED"
    event = AuditEvent.objects.get(action="admin.rates.exchangerate.create")
    assert event.actor == users["platform_admin"] and event.object_id == str(rate.pk)


def test_admin_refuses_a_rate_for_cny_or_an_unknown_currency(client, users):
    client.force_login(users["platform_admin"])
    for currency in ("CNY", "XYZ"):
        response = client.post(
            "/en/admin/rates/exchangerate/add/",
            {"currency": currency, "rate_date": "2026-01-05", "cny_per_unit": "1", "source": ""},
        )
        assert response.status_code == 200 and response.context["adminform"].form.errors["currency"]
    assert not ExchangeRate.objects.exists()


def test_admin_refuses_hospital_staff_without_a_hospital(client, users):
    client.force_login(users["platform_admin"])
    response = client.post(
        "/en/admin/accounts/user/add/",
        {
            "username": "new-coord",
            "email": "",
            "role": Role.COORDINATOR,
            "hospital": "",
            "usable_password": "true",
            "password1": "a-long-secret-9",
            "password2": "a-long-secret-9",
        },
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["hospital"]
    assert not User.objects.filter(username="new-coord").exists()


def test_admin_creates_a_coordinator_of_a_hospital(client, users, hospital):
    client.force_login(users["platform_admin"])
    response = client.post(
        "/en/admin/accounts/user/add/",
        {
            "username": "new-coord",
            "email": "new@example.test",
            "role": Role.COORDINATOR,
            "hospital": hospital.pk,
            "usable_password": "true",
            "password1": "a-long-secret-9",
            "password2": "a-long-secret-9",
        },
    )
    assert response.status_code == 302
    user = User.objects.get(username="new-coord")
    assert user.hospital == hospital and not user.is_staff
    assert AuditEvent.objects.filter(action="admin.accounts.user.create", object_id=str(user.pk)).exists()


def test_hospital_catalogs_are_read_only_in_admin(client, users, mri):
    client.force_login(users["platform_admin"])
    response = client.post(f"/en/admin/catalog/catalogitem/{mri.pk}/change/", {"code": "HACKED"})
    assert response.status_code == 403
    mri.refresh_from_db()
    assert mri.code == "MRI-01"


def test_admin_reference_price_keeps_its_source(client, users):
    from tests.builders import make_comparable

    comparable = make_comparable()
    client.force_login(users["platform_admin"])
    response = client.post(
        "/en/admin/catalog/referenceprice/add/",
        {
            "comparable": comparable.pk,
            "country": "gb",
            "amount": "788",
            "currency": "gbp",
            "year": "2015",
            "source": "iFHP 2015 Comparative Price Report",
            "source_url": "ifhp.com",
            "note_en": "",
            "note_zh-hans": "",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    reference = comparable.references.get()
    assert (reference.country, reference.currency, reference.amount) == ("GB", "GBP", Decimal("788"))
    assert reference.source_url == "https://ifhp.com"


def test_admin_revokes_tokens_through_the_service(client, users):
    from laihua.accounts.services import create_api_token

    token, _secret = create_api_token(users["patient"], users["patient"], "x")
    client.force_login(users["platform_admin"])
    client.post("/en/admin/accounts/apitoken/", {"action": "revoke", "_selected_action": [token.pk]})
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert AuditEvent.objects.filter(action="accounts.api_token.revoke", actor=users["platform_admin"]).exists()


def test_admin_refuses_a_hospital_for_a_role_outside_hospitals(client, users, hospital):
    client.force_login(users["platform_admin"])
    response = client.post(
        "/en/admin/accounts/user/add/",
        {
            "username": "agent2",
            "email": "",
            "role": Role.INSURER_AGENT,
            "hospital": hospital.pk,
            "usable_password": "true",
            "password1": "a-long-secret-9",
            "password2": "a-long-secret-9",
        },
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["hospital"]
    assert not User.objects.filter(username="agent2").exists()
