"""The inquiry: one case per hospital asked, sharing one inquiry group, with the files on each; a bad field
or file saves nothing at all; the hospitals' coordinators hear of it."""

import datetime
import re

import pytest
from django.urls import reverse

from laihua.audit.models import AuditEvent
from laihua.cases import services
from laihua.cases.models import Attachment, Case, CaseEvent
from laihua.cases.tests.files import a_disguised_exe, a_pdf
from laihua.errors import InvalidInput, PermissionDenied
from laihua.kit import clock
from tests.builders import make_item, make_user


def _form(**extra):
    return {"description": "Knee pain after a fall.", **extra}


def _files_on_disk(media_root) -> list:
    return [p for p in media_root.rglob("*") if p.is_file()] if media_root.exists() else []


def test_an_inquiry_to_two_hospitals_opens_a_case_at_each_with_the_files(
    users, patient, hospital, other_hospital, mri, media_root
):
    west_mri = make_item(other_hospital, code="W-MRI", department="radiology")
    cases = services.open_inquiry(
        users["patient"],
        {
            "services": [mri.pk, west_mri.pk],
            "description": "Knee pain.",
            "desired_arrival": str(clock.today() + datetime.timedelta(days=30)),
            "desired_departure": str(clock.today() + datetime.timedelta(days=40)),
            "insurer_name": "Demo Insurer",
            "insurance_policy": "P-1",
            "insurance_member": "M-2",
        },
        [a_pdf("scan.pdf"), a_pdf("letter.pdf")],
        language="zh-hans",
    )
    assert [c.hospital for c in cases] == [hospital, other_hospital]
    assert len({c.inquiry_group for c in cases}) == 1
    for case in cases:
        assert re.fullmatch(rf"LH-{clock.now():%Y}-{case.pk:06d}", case.reference)
        assert case.patient == patient and case.state == "inquiry" and case.language == "zh-hans"
        assert sorted(case.attachments.values_list("original_name", flat=True)) == ["letter.pdf", "scan.pdf"]
        assert case.insurer_name == "Demo Insurer" and case.insurance_member == "M-2"
        assert case.department.code == "radiology"
        assert case.events.get().kind == "opened"
    assert list(cases[0].services.all()) == [mri] and list(cases[1].services.all()) == [west_mri]
    assert len(_files_on_disk(media_root)) == 4
    assert AuditEvent.objects.filter(action="case.open").count() == 2


def test_a_hospital_can_be_asked_without_choosing_a_service(users, patient, hospital):
    (case,) = services.open_inquiry(users["patient"], _form(hospitals=["east"]))
    assert case.hospital == hospital and not case.services.exists() and case.department is None


def test_the_coordinators_of_each_hospital_asked_are_told_and_nobody_else(
    users, patient, hospital, mri, mailoutbox, django_capture_on_commit_callbacks
):
    second = make_user("east-coord-2", "coordinator", hospital)
    with django_capture_on_commit_callbacks(execute=True):
        (case,) = services.open_inquiry(users["patient"], _form(services=[mri.pk]))
    assert sorted(m.to[0] for m in mailoutbox) == sorted([users["coordinator"].email, second.email])
    assert all(case.reference in m.subject for m in mailoutbox)
    assert all("Knee" not in m.body for m in mailoutbox)


def test_a_disguised_file_saves_nothing_at_all(
    users, patient, hospital, other_hospital, mri, media_root, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(InvalidInput) as caught:
        services.open_inquiry(
            users["patient"],
            _form(hospitals=["east", "west"], services=[mri.pk]),
            [a_pdf("fine.pdf"), a_disguised_exe("scan.pdf")],
        )
    assert caught.value.field == "files" and "scan.pdf" in str(caught.value.message)
    assert not Case.objects.exists() and not Attachment.objects.exists() and not CaseEvent.objects.exists()
    assert not AuditEvent.objects.filter(action__in=["case.open", "case.attachment.add"]).exists()
    assert _files_on_disk(media_root) == [] and mailoutbox == []


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"description": "x"}, "hospitals"),
        ({"hospitals": ["east"]}, "description"),
        ({"hospitals": ["nowhere"], "description": "x"}, "hospitals"),
        ({"hospitals": ["east"], "description": "x", "desired_arrival": "2001-01-01"}, "desired_arrival"),
        ({"hospitals": ["east"], "description": "x", "desired_arrival": "31/12/2099"}, "desired_arrival"),
        (
            {
                "hospitals": ["east"],
                "description": "x",
                "desired_arrival": "2099-05-10",
                "desired_departure": "2099-05-10",
            },
            "desired_departure",
        ),
        ({"hospitals": ["east"], "description": "x", "desired_departure": "2099-05-10"}, "desired_arrival"),
        ({"services": ["999999"]}, "services"),
    ],
)
def test_bad_input_names_the_field_and_saves_nothing(users, patient, hospital, data, field):
    with pytest.raises(InvalidInput) as caught:
        services.open_inquiry(users["patient"], data)
    assert caught.value.field == field
    assert not Case.objects.exists()


def test_a_withdrawn_service_cannot_be_asked_about(users, patient, mri):
    mri.active = False
    mri.save()
    with pytest.raises(InvalidInput) as caught:
        services.open_inquiry(users["patient"], {"services": [mri.pk]})
    assert caught.value.field == "services"


def test_only_patients_with_a_profile_send_inquiries(users, hospital):
    with pytest.raises(services.ProfileMissing):
        services.open_inquiry(users["patient"], _form(hospitals=["east"]))
    with pytest.raises(PermissionDenied):
        services.open_inquiry(users["coordinator"], _form(hospitals=["east"]))
    assert not Case.objects.exists()


# --- the page ---------------------------------------------------------------------------------------


def test_a_visitor_is_sent_to_register_and_back_to_the_form(client, mri):
    url = reverse("cases:new") + f"?item={mri.pk}"
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("patients:register") + "?next=")
    assert f"item%3D{mri.pk}" in response["Location"]


def test_a_patient_without_profile_is_asked_to_complete_it(client, users):
    client.force_login(users["patient"])
    response = client.get(reverse("cases:new"))
    assert response.status_code == 302 and response["Location"] == reverse("patients:profile_edit")


def test_staff_cannot_send_an_inquiry(client, users):
    client.force_login(users["coordinator"])
    assert client.get(reverse("cases:new")).status_code == 403


def test_the_item_from_the_public_page_is_preselected(client, users, patient, mri, other_hospital):
    client.force_login(users["patient"])
    page = client.get(reverse("cases:new") + f"?item={mri.pk}").content.decode()
    assert re.search(rf'name="services" value="{mri.pk}"\s+checked', page)
    assert re.search(r'name="hospitals" value="east"\s+checked', page)
    assert not re.search(r'name="hospitals" value="west"\s+checked', page)


def test_the_public_item_page_links_to_the_inquiry(client, mri):
    page = client.get(reverse("web:item", args=[mri.hospital.slug, mri.code])).content.decode()
    assert reverse("cases:new") + f"?item={mri.pk}" in page


def test_sending_the_form_opens_the_case_in_the_active_language(client, users, patient, mri):
    client.force_login(users["patient"])
    response = client.post("/zh-hans/cases/new/", {"services": [mri.pk], "description": "膝盖疼", "files": [a_pdf()]})
    case = Case.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/zh-hans/cases/{case.reference}/"
    assert case.language == "zh-hans" and case.attachments.count() == 1


def test_the_form_comes_back_with_the_file_error_and_nothing_saved(client, users, patient, mri):
    client.force_login(users["patient"])
    response = client.post(
        reverse("cases:new"), {"services": [mri.pk], "description": "x", "files": [a_disguised_exe("xray.pdf")]}
    )
    assert response.status_code == 422
    page = response.content.decode()
    assert "xray.pdf" in page and "application/x-msdownload" in page
    assert re.search(rf'name="services" value="{mri.pk}"\s+checked', page)
    assert not Case.objects.exists()


def test_the_form_shows_field_errors(client, users, patient, hospital):
    client.force_login(users["patient"])
    response = client.post(reverse("cases:new"), {"hospitals": ["east"], "desired_arrival": "2001-01-01"})
    assert response.status_code == 422
    page = response.content.decode()
    assert "The arrival date cannot be in the past." in page
    assert "Choose a service or describe what you need." in page
