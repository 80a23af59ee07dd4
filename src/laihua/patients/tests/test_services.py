"""Registration, the patient's own profile and companions, and who else may read a profile."""

import datetime

import pytest
from django.utils import translation

from laihua.accounts.models import Role, User
from laihua.audit.models import AuditEvent
from laihua.errors import Conflict, NotFound, PermissionDenied
from laihua.kit import clock
from laihua.patients import services
from laihua.patients.models import Companion, Patient
from laihua.patients.tests.form_data import companion_data, profile_data, registration_data
from tests.builders import make_case, make_user

# --- registration ------------------------------------------------------------------------------------


def test_registration_creates_the_account_and_the_profile_together(db, rates):
    with translation.override("zh-hans"):
        patient = services.register_patient(registration_data()).patient
    user = patient.user
    assert (user.username, user.email, user.role) == ("emma.smith@example.test", "emma.smith@example.test", "patient")
    assert user.check_password("a-long-secret-phrase-42")
    assert (user.preferred_language, user.preferred_currency) == ("zh-hans", "GBP")
    patient.refresh_from_db()
    assert patient.full_name == "SMITH Emma Jane"
    assert patient.passport_number == "123456789"  # spaces and hyphens removed
    assert patient.passport_masked == "••••••789"
    assert patient.languages == ["en", "fr"]
    assert patient.nationality.code == "GB"
    assert AuditEvent.objects.filter(action="patients.patient.register", actor=user).exists()


def test_the_passport_number_is_upper_cased(db, rates):
    patient = services.register_patient(registration_data(passport_number="ab12 34cd")).patient
    assert Patient.objects.get(pk=patient.pk).passport_number == "AB1234CD"


def _refused_field(data, field) -> services.FormInvalid:
    with pytest.raises(services.FormInvalid) as caught:
        services.register_patient(data)
    assert field in caught.value.form.errors, caught.value.form.errors
    assert not User.objects.exists() and not Patient.objects.exists()  # nothing half-saved
    return caught.value


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("passport_number", "AB12"),  # too short
        ("passport_number", "A" * 21),  # too long
        ("passport_number", "AB12345!"),  # not A-Z0-9
        ("passport_number", "ПАСПОРТ123"),  # not Latin
        ("family_name", ""),
        ("family_name", "Smith2"),
        ("sex", "Q"),
        ("nationality", "XX"),
        ("date_of_birth", "not a date"),
        ("email", "not-an-address"),
        ("phone", "call me"),
        ("languages", ["en", "klingon"]),
        ("passport_expiry", ""),
    ],
)
def test_bad_fields_are_refused_by_name(db, rates, field, value):
    _refused_field(registration_data(**{field: value}), field)


def test_a_date_of_birth_in_the_future_is_refused(db, rates):
    tomorrow = (clock.today() + datetime.timedelta(days=1)).isoformat()
    error = _refused_field(registration_data(date_of_birth=tomorrow), "date_of_birth")
    assert "future" in str(error.message)


def test_an_implausible_date_of_birth_is_refused(db, rates):
    _refused_field(registration_data(date_of_birth="1890-01-01"), "date_of_birth")


def test_an_expired_passport_is_refused(db, rates):
    yesterday = (clock.today() - datetime.timedelta(days=1)).isoformat()
    _refused_field(registration_data(passport_expiry=yesterday), "passport_expiry")


def test_an_unknown_currency_is_a_field_error_naming_the_field(db, rates):
    error = _refused_field(registration_data(preferred_currency="XYZ"), "preferred_currency")
    assert error.field == "preferred_currency"
    assert str(error.message).startswith("Preferred currency:")
    assert "ISO 4217" in str(error.message)


def test_a_currency_not_offered_is_refused(db, rates):
    error = _refused_field(registration_data(preferred_currency="BRL"), "preferred_currency")
    assert "BRL" in str(error.message)


def test_a_currency_without_a_rate_is_refused(db, rates):
    error = _refused_field(registration_data(preferred_currency="AED"), "preferred_currency")
    assert "No exchange rate is known for AED" in str(error.message)


def test_weak_or_mismatched_passwords_are_refused(db, rates):
    _refused_field(registration_data(password1="password", password2="password"), "password1")
    _refused_field(registration_data(password2="something-else-entirely"), "password2")
    _refused_field(registration_data(password1="emma.smith@example", password2="emma.smith@example"), "password1")


def test_an_emergency_contact_needs_a_phone(db, rates):
    _refused_field(registration_data(emergency_phone=""), "emergency_phone")
    data = registration_data(emergency_name="", emergency_relation="", emergency_phone="")
    patient = services.register_patient(data).patient
    assert patient.emergency_name == ""


def test_a_patient_with_a_single_name_may_leave_given_names_empty(db, rates):
    patient = services.register_patient(registration_data(given_names="")).patient
    assert patient.full_name == "SMITH"


def test_an_e_mail_address_already_used_makes_nothing_and_tells_its_owner(db, rates, users, mailoutbox):
    first = services.register_patient(registration_data())
    services.confirm_registration(*_link_parts(first.message.body))
    again = services.register_patient(registration_data(email="EMMA.smith@example.test", passport_number="Z9999999"))
    assert again.patient is None and Patient.objects.count() == 1
    assert "already has an account" in again.message.body and again.message.to == ["emma.smith@example.test"]
    staff = services.register_patient(registration_data(email=users["coordinator"].email))  # a staff address too
    assert staff.patient is None and staff.message.to == [users["coordinator"].email]
    assert AuditEvent.objects.filter(action="patients.patient.register_existing").count() == 2


def _link_parts(body: str) -> tuple[str, str]:
    import re

    return re.search(r"/register/confirm/([^/]+)/([^/?\s]+)/", body).groups()


def test_field_errors_are_in_the_users_language(db, rates):
    with translation.override("zh-hans"), pytest.raises(services.FormInvalid) as caught:
        services.register_patient(registration_data(family_name=""))
    assert "必填项" in str(caught.value.message)


# --- own profile -------------------------------------------------------------------------------------


def test_a_patient_updates_their_profile_and_the_account_follows(patient, rates):
    updated = services.update_profile(
        patient.user,
        patient,
        profile_data(patient, email="new@example.test", preferred_currency="EUR", phone="+1 212 555 0199"),
    )
    assert (updated.email, updated.preferred_currency, updated.phone) == ("new@example.test", "EUR", "+1 212 555 0199")
    user = User.objects.get(pk=patient.user_id)
    assert (user.email, user.preferred_currency) == ("new@example.test", "EUR")
    event = AuditEvent.objects.get(action="patients.patient.update")
    assert set(event.detail["changed"]) >= {"email", "preferred_currency", "phone"}
    assert "X1234567" not in str(event.detail)  # the audit trail names fields, never the passport


def test_an_invalid_update_changes_nothing(patient, rates):
    with pytest.raises(services.FormInvalid):
        services.update_profile(
            patient.user, patient, profile_data(patient, phone="+1 212 555 0199", passport_number="!")
        )
    fresh = Patient.objects.get(pk=patient.pk)
    assert fresh.phone == "" and fresh.passport_number == "X1234567"
    assert not AuditEvent.objects.filter(action="patients.patient.update").exists()


def test_a_patient_cannot_update_another_patients_profile(patient, other_patient, rates):
    with pytest.raises(NotFound):
        services.update_profile(patient.user, other_patient, profile_data(other_patient, phone="+49 30 000000"))
    assert Patient.objects.get(pk=other_patient.pk).phone == ""


def test_staff_cannot_update_a_profile(patient, users, rates):
    with pytest.raises(PermissionDenied):
        services.update_profile(users["coordinator"], patient, profile_data(patient))


def test_a_patient_account_without_a_profile_creates_one(db, rates):
    user = make_user("legacy", Role.PATIENT)
    patient = services.create_profile(user, profile_data(_blank_patient(), email="legacy@example.test"))
    assert patient.user == user
    with pytest.raises(Conflict):
        services.create_profile(user, profile_data(patient))


def _blank_patient():
    return Patient(
        family_name="Legacy",
        given_names="Lee",
        sex="X",
        date_of_birth=datetime.date(1990, 1, 1),
        nationality="CA",
        passport_number="CA123456",
        preferred_currency="USD",
        email="legacy@example.test",
    )


def test_patient_for_user(patient, users):
    assert services.patient_for_user(patient.user) == patient
    assert services.patient_for_user(users["coordinator"]) is None
    assert services.patient_for_user(None) is None


# --- companions --------------------------------------------------------------------------------------


def test_a_patient_adds_changes_and_removes_a_companion(patient):
    companion = services.add_companion(patient.user, patient, companion_data())
    assert Companion.objects.get(pk=companion.pk).passport_number == "C7654321"
    services.update_companion(patient.user, companion.pk, companion_data(relation="spouse"))
    assert Companion.objects.get(pk=companion.pk).relation == "spouse"
    services.remove_companion(patient.user, companion.pk)
    assert not Companion.objects.exists()
    actions = list(
        AuditEvent.objects.filter(action__startswith="patients.companion")
        .order_by("pk")
        .values_list("action", flat=True)
    )
    assert actions == ["patients.companion.add", "patients.companion.update", "patients.companion.remove"]


def test_a_companion_with_bad_fields_is_not_added(patient):
    with pytest.raises(services.FormInvalid) as caught:
        services.add_companion(patient.user, patient, companion_data(passport_number="12", relation=""))
    assert {"passport_number", "relation"} <= set(caught.value.form.errors)
    assert not Companion.objects.exists()


def test_a_patient_cannot_touch_another_patients_companions(patient, other_patient):
    theirs = services.add_companion(other_patient.user, other_patient, companion_data())
    with pytest.raises(NotFound):
        services.update_companion(patient.user, theirs.pk, companion_data(relation="stranger"))
    with pytest.raises(NotFound):
        services.remove_companion(patient.user, theirs.pk)
    with pytest.raises(NotFound):
        services.add_companion(patient.user, other_patient, companion_data())
    assert Companion.objects.get(pk=theirs.pk).relation == "husband"


def test_companions_are_limited(patient, monkeypatch):
    monkeypatch.setattr(services, "MAX_COMPANIONS", 1)
    services.add_companion(patient.user, patient, companion_data())
    with pytest.raises(Conflict):
        services.add_companion(patient.user, patient, companion_data(given_names="Jim"))


# --- staff reading a profile -------------------------------------------------------------------------


def test_staff_read_a_profile_when_the_patient_has_a_case_at_their_hospital(case, users):
    for role in ("coordinator", "clinician", "finance", "hospital_admin"):
        assert services.get_patient_for(users[role], case.patient_id) == case.patient
    events = AuditEvent.objects.filter(action="patients.patient.view")
    assert events.count() == 4
    assert {event.hospital_id for event in events} == {case.hospital_id}


def test_staff_of_another_hospital_cannot_read_the_profile(case, users):
    with pytest.raises(NotFound):
        services.get_patient_for(users["other_coordinator"], case.patient_id)
    assert not AuditEvent.objects.filter(action="patients.patient.view").exists()


def test_staff_with_no_case_link_cannot_read_the_profile(patient, other_patient, users, case):
    with pytest.raises(NotFound):
        services.get_patient_for(users["coordinator"], other_patient.pk)


def test_staff_of_the_other_hospital_read_it_once_the_patient_has_a_case_there(case, users, other_hospital):
    make_case(case.patient, other_hospital)
    assert services.get_patient_for(users["other_coordinator"], case.patient_id) == case.patient


def test_a_patient_reads_only_their_own_profile(patient, other_patient):
    assert services.get_patient_for(patient.user, patient.pk) == patient
    with pytest.raises(NotFound):
        services.get_patient_for(patient.user, other_patient.pk)


@pytest.mark.parametrize("role", ["platform_admin", "insurer_agent"])
def test_other_roles_cannot_read_profiles(case, users, role):
    with pytest.raises(PermissionDenied):
        services.get_patient_for(users[role], case.patient_id)


def test_an_unknown_patient_is_not_found(users, case):
    with pytest.raises(NotFound):
        services.get_patient_for(users["coordinator"], 999_999)
