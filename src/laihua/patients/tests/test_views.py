"""The patient's pages: register, profile, edit, companions; and a patient's profile for staff."""

import pytest
from django.urls import reverse

from laihua.accounts.models import Role
from laihua.audit.models import AuditEvent
from laihua.patients.models import Companion, Patient
from laihua.patients.tests.form_data import companion_data, profile_data, registration_data
from tests.builders import make_user

pytestmark = pytest.mark.django_db


def sign_in(client, user):
    client.force_login(user)


def test_the_registration_page_lists_countries_in_the_page_language(client):
    english = client.get("/en/patients/register/").content.decode()
    chinese = client.get("/zh-hans/patients/register/").content.decode()
    assert 'value="DE">Germany<' in english
    assert 'value="DE">德国<' in chinese
    assert 'name="password1"' in english and 'name="passport_number"' in english


def _confirm_link(outbox) -> str:
    import re

    return re.search(r"https?://[^/\s]+(/\S+/register/confirm/\S+)", outbox[-1].body).group(1)


def test_registering_sends_a_link_that_signs_in_and_returns_to_next(client, rates, mailoutbox):
    data = registration_data(next="/en/cases/new/?hospital=east")
    response = client.post("/en/patients/register/", data)
    assert response.status_code == 302 and response["Location"] == reverse("patients:register_sent")
    assert "_auth_user_id" not in client.session
    patient = Patient.objects.get()
    assert not patient.user.is_active and patient.user.registration_pending
    link = _confirm_link(mailoutbox)
    page = client.get(link)
    assert "Confirm and sign in" in page.content.decode()
    assert Patient.objects.get().user.registration_pending  # opening the link alone changes nothing
    response = client.post(link, {"next": "/en/cases/new/?hospital=east"})
    assert response.status_code == 302
    assert response["Location"] == "/en/cases/new/?hospital=east"
    assert int(client.session["_auth_user_id"]) == patient.user_id
    patient.user.refresh_from_db()
    assert patient.user.is_active and not patient.user.registration_pending
    assert AuditEvent.objects.filter(action="patients.patient.confirm", actor=patient.user).exists()
    client.post("/en/accounts/logout/")
    assert "does not work any more" in client.post(link).content.decode()  # the link works once


def test_confirming_without_next_goes_to_the_profile(client, rates, mailoutbox):
    client.post("/en/patients/register/", registration_data())
    assert client.post(_confirm_link(mailoutbox))["Location"] == reverse("patients:profile")


def test_next_pointing_to_another_site_is_ignored(client, rates, mailoutbox):
    client.post("/en/patients/register/", registration_data(next="https://evil.example/"))
    response = client.post(_confirm_link(mailoutbox), {"next": "https://evil.example/"})
    assert response["Location"] == reverse("patients:profile")


def test_a_tampered_link_confirms_nothing(client, rates, mailoutbox):
    client.post("/en/patients/register/", registration_data())
    link = _confirm_link(mailoutbox)
    response = client.post(link.replace("/confirm/", "/confirm/x").rstrip("/") + "x/")
    assert "does not work any more" in response.content.decode()
    assert Patient.objects.get().user.registration_pending


def test_registering_an_address_with_an_account_answers_the_same_and_e_mails_its_owner(client, rates, mailoutbox):
    from tests.builders import make_user

    owner = make_user("emma.smith", Role.PATIENT, preferred_language="zh-hans")
    new = client.post("/en/patients/register/", registration_data(email="new.person@example.test"))
    taken = client.post("/en/patients/register/", registration_data(email="emma.smith@example.test"))
    assert (new.status_code, new["Location"]) == (taken.status_code, taken["Location"])
    assert "emma.smith@example.test" in client.get(taken["Location"]).content.decode()
    new_client = type(client)()
    new_client.post("/en/patients/register/", registration_data(email="new.person2@example.test"))
    new_page = new_client.get(new["Location"]).content.decode().replace("new.person2@example.test", "ADDRESS")
    taken_page = client.get(taken["Location"]).content.decode().replace("emma.smith@example.test", "ADDRESS")
    strip = __import__("re").compile(r'name="csrfmiddlewaretoken" value="[^"]+"|"X-CSRFToken": "[^"]+"')
    assert strip.sub("", new_page) == strip.sub("", taken_page)
    assert not Patient.objects.filter(user=owner).exists()
    assert not Patient.objects.filter(email="emma.smith@example.test").exists()
    assert [message.to for message in mailoutbox][:2] == [["new.person@example.test"], ["emma.smith@example.test"]]
    assert "已有" in mailoutbox[1].subject  # in the owner's language
    assert "/accounts/password/reset/" in mailoutbox[1].body


def test_registering_again_before_confirming_replaces_the_unconfirmed_account(client, rates, mailoutbox):
    client.post("/en/patients/register/", registration_data(family_name="First"))
    first_link = _confirm_link(mailoutbox)
    client.post("/en/patients/register/", registration_data(family_name="Second"))
    assert Patient.objects.get().family_name == "Second"
    assert "does not work any more" in client.post(first_link).content.decode()
    client.post(_confirm_link(mailoutbox))
    assert client.session["_auth_user_id"]


def test_registrations_are_throttled_per_address(client, rates, mailoutbox, settings):
    settings.LAIHUA_EMAIL_LIMIT_PER_ADDRESS = 2
    for number in range(2):
        response = client.post("/en/patients/register/", registration_data(email=f"p{number}@example.test"))
        assert response.status_code == 302
    refused = client.post("/en/patients/register/", registration_data(email="p9@example.test"))
    assert refused.status_code == 429
    assert "Too many requests" in refused.content.decode()
    assert len(mailoutbox) == 2 and Patient.objects.count() == 2
    assert AuditEvent.objects.filter(action="accounts.registration.throttled").exists()


def test_registrations_are_throttled_per_e_mail_address(client, rates, mailoutbox, settings):
    settings.LAIHUA_EMAIL_LIMIT_PER_EMAIL = 1
    assert client.post("/en/patients/register/", registration_data()).status_code == 302
    refused = client.post("/en/patients/register/", registration_data(), REMOTE_ADDR="10.0.0.9")
    assert refused.status_code == 429 and len(mailoutbox) == 1


def test_the_demo_shows_the_e_mail_it_did_not_send(client, rates, settings):
    settings.DEMO_MODE = True
    response = client.post("/en/patients/register/", registration_data(), follow=True)
    page = response.content.decode()
    assert "Demo: the e-mail just sent" in page and "/register/confirm/" in page


def test_outside_the_demo_the_page_never_shows_the_e_mail(client, rates):
    page = client.post("/en/patients/register/", registration_data(), follow=True).content.decode()
    assert "Check your e-mail" in page and "/register/confirm/" not in page


def test_a_bad_registration_shows_every_error_beside_its_field_and_saves_nothing(client, rates):
    response = client.post(
        "/en/patients/register/", registration_data(passport_number="12", preferred_currency="XYZ", date_of_birth="")
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "Please correct the fields marked below." in page
    assert "A passport number has 5 to 20 letters" in page
    assert "is not an ISO 4217 currency code" in page
    assert page.count('class="errorlist') >= 3
    assert not Patient.objects.exists()
    assert "_auth_user_id" not in client.session


def test_a_signed_in_patient_is_sent_on(client, patient):
    sign_in(client, patient.user)
    assert client.get("/en/patients/register/?next=/en/")["Location"] == "/en/"


def test_signed_in_staff_are_told_to_sign_out_first(client, users):
    sign_in(client, users["coordinator"])
    response = client.get("/en/patients/register/")
    assert "Sign out first" in response.content.decode()
    assert 'name="password1"' not in response.content.decode()


def test_the_profile_shows_the_passport_masked(client, patient):
    Companion.objects.create(patient=patient, **companion_data(passport_number="C7654321"))
    sign_in(client, patient.user)
    page = client.get("/en/patients/me/").content.decode()
    assert "DOE Jane" in page and "•••••567" in page and "•••••321" in page
    assert "X1234567" not in page and "C7654321" not in page


def test_the_edit_form_shows_the_patient_their_own_passport_and_is_not_cached(client, patient):
    sign_in(client, patient.user)
    response = client.get("/en/patients/me/edit/")
    assert 'value="X1234567"' in response.content.decode()
    assert response["Cache-Control"] == "no-store"


def test_editing_the_profile(client, patient, rates):
    sign_in(client, patient.user)
    response = client.post("/en/patients/me/edit/", profile_data(patient, address="5 New Road"))
    assert response["Location"] == reverse("patients:profile")
    assert Patient.objects.get(pk=patient.pk).address == "5 New Road"


def test_a_bad_edit_shows_the_errors_and_changes_nothing(client, patient, rates):
    sign_in(client, patient.user)
    response = client.post("/en/patients/me/edit/", profile_data(patient, address="5 New Road", phone="x"))
    assert response.status_code == 200
    assert "Write a phone number with its country code" in response.content.decode()
    assert Patient.objects.get(pk=patient.pk).address == ""


def test_a_patient_account_without_a_profile_is_asked_to_complete_it(client, rates):
    user = make_user("legacy", Role.PATIENT)
    sign_in(client, user)
    assert client.get("/en/patients/me/")["Location"] == reverse("patients:profile_edit")
    assert "Complete my profile" in client.get("/en/patients/me/edit/").content.decode()


def test_staff_have_no_profile_page(client, users):
    sign_in(client, users["coordinator"])
    assert client.get("/en/patients/me/").status_code == 403


def test_the_profile_needs_a_sign_in(client):
    response = client.get("/en/patients/me/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_adding_editing_and_removing_a_companion(client, patient):
    sign_in(client, patient.user)
    response = client.post("/en/patients/me/companions/add/", companion_data())
    assert response.status_code == 302
    companion = Companion.objects.get(patient=patient)
    edit_page = client.get(f"/en/patients/me/companions/{companion.pk}/")
    assert 'value="C7654321"' in edit_page.content.decode()
    client.post(f"/en/patients/me/companions/{companion.pk}/", companion_data(relation="spouse"))
    assert Companion.objects.get(pk=companion.pk).relation == "spouse"
    client.post(f"/en/patients/me/companions/{companion.pk}/remove/")
    assert not Companion.objects.exists()


def test_a_companion_with_errors_is_not_added(client, patient):
    sign_in(client, patient.user)
    response = client.post("/en/patients/me/companions/add/", companion_data(nationality=""))
    assert response.status_code == 200 and "This field is required." in response.content.decode()
    assert not Companion.objects.exists()


def test_a_patient_cannot_open_or_remove_another_patients_companion(client, patient, other_patient):
    theirs = Companion.objects.create(patient=other_patient, **companion_data())
    sign_in(client, patient.user)
    assert client.get(f"/en/patients/me/companions/{theirs.pk}/").status_code == 404
    assert client.post(f"/en/patients/me/companions/{theirs.pk}/remove/").status_code == 404
    assert Companion.objects.filter(pk=theirs.pk).exists()


def test_staff_see_a_patient_of_their_hospital_masked_and_the_view_is_audited(client, case, users):
    sign_in(client, users["coordinator"])
    page = client.get(f"/en/patients/{case.patient_id}/").content.decode()
    assert "DOE Jane" in page and "•••••567" in page and "X1234567" not in page
    assert case.reference in page
    assert AuditEvent.objects.filter(action="patients.patient.view", actor=users["coordinator"]).exists()


def test_staff_of_another_hospital_cannot_see_the_patient(client, case, users):
    sign_in(client, users["other_coordinator"])
    assert client.get(f"/en/patients/{case.patient_id}/").status_code == 404


def test_a_patient_cannot_see_another_patients_page(client, patient, other_patient):
    sign_in(client, patient.user)
    assert client.get(f"/en/patients/{other_patient.pk}/").status_code == 404


def test_a_registered_patient_signs_in_with_the_e_mail_address_once_confirmed(client, rates, mailoutbox):
    client.post("/en/patients/register/", registration_data())
    credentials = {"username": "emma.smith@example.test", "password": "a-long-secret-phrase-42"}
    assert client.post("/en/accounts/login/", credentials).status_code == 200  # not yet: the form again
    client.post(_confirm_link(mailoutbox))
    client.post("/en/accounts/logout/")
    response = client.post("/en/accounts/login/", credentials)
    assert response.status_code == 302
    assert int(client.session["_auth_user_id"]) == Patient.objects.get().user_id
