"""The thread: patient and staff write with files; a staff note never reaches the patient (page, API,
e-mail, download); a staff message stops the first-response timer; e-mails say only that there is news."""

import pytest
from django.urls import reverse

from laihua.audit.models import AuditEvent
from laihua.cases import services
from laihua.cases.models import Attachment, Message
from laihua.cases.tests.files import a_disguised_exe, a_pdf, pdf_bytes
from laihua.errors import InvalidInput, PermissionDenied

SECRET = "Suspected malignancy, discuss with Dr Li before quoting"


@pytest.fixture
def note(case, users):
    """A staff note with a file, the patient must never see."""
    return services.post_message(users["coordinator"], case, SECRET, [a_pdf("internal-review.pdf")], internal=True)


def test_a_staff_note_never_reaches_the_patients_page(client, case, users, note):
    client.force_login(users["patient"])
    page = client.get(reverse("cases:detail", args=[case.reference])).content.decode()
    assert SECRET not in page and "internal-review.pdf" not in page and "Staff note" not in page
    client.force_login(users["coordinator"])
    page = client.get(reverse("cases:detail", args=[case.reference])).content.decode()
    assert SECRET in page and "internal-review.pdf" in page


def test_a_staff_note_never_reaches_the_patient_through_the_api(client, case, users, note):
    client.force_login(users["patient"])
    body = client.get(f"/api/cases/{case.reference}/messages").content.decode()
    assert SECRET not in body and "internal-review" not in body
    detail = client.get(f"/api/cases/{case.reference}").json()
    assert all(event["kind"] != "note" and not event["staff_only"] for event in detail["timeline"])
    attachment = note.attachments.get()
    assert client.get(f"/api/cases/{case.reference}/attachments/{attachment.pk}").status_code == 404
    assert client.get(reverse("cases:attachment", args=[case.reference, attachment.pk])).status_code == 404
    client.force_login(users["clinician"])
    assert SECRET in client.get(f"/api/cases/{case.reference}/messages").content.decode()
    assert client.get(f"/api/cases/{case.reference}/attachments/{attachment.pk}").status_code == 200


def test_a_staff_note_sends_no_email_and_does_not_count_as_an_answer(
    case, users, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.post_message(users["coordinator"], case, SECRET, internal=True)
    assert mailoutbox == []
    case.refresh_from_db()
    assert case.first_response_at is None


def test_a_patient_cannot_write_a_staff_note(case, users):
    with pytest.raises(PermissionDenied):
        services.post_message(users["patient"], case, "hidden?", internal=True)
    assert not Message.objects.exists()


def test_a_staff_message_tells_the_patient_there_is_news_without_the_text(
    case, users, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.post_message(users["clinician"], case, "Your MRI shows a torn meniscus.")
    assert [m.to for m in mailoutbox] == [[users["patient"].email]]
    assert "meniscus" not in mailoutbox[0].body and "meniscus" not in mailoutbox[0].subject
    assert f"/en/cases/{case.reference}/" in mailoutbox[0].body
    case.refresh_from_db()
    assert case.first_response_at is not None


def test_a_patient_message_tells_the_assigned_coordinator_only(
    case, users, mailoutbox, django_capture_on_commit_callbacks
):
    services.assign(users["coordinator"], case, users["coordinator"])
    with django_capture_on_commit_callbacks(execute=True):
        services.post_message(users["patient"], case, "Here is my X-ray.", [a_pdf("xray.pdf")])
    assert [m.to for m in mailoutbox] == [[users["coordinator"].email]]
    assert "X-ray" not in mailoutbox[0].body
    case.refresh_from_db()
    assert case.first_response_at is None


def test_a_patient_email_is_in_the_cases_language(case, users, mailoutbox, django_capture_on_commit_callbacks):
    case.language = "zh-hans"
    case.save()
    with django_capture_on_commit_callbacks(execute=True):
        services.post_message(users["coordinator"], case, "Hello")
    assert f"/zh-hans/cases/{case.reference}/" in mailoutbox[0].body


def test_files_go_with_the_message_and_a_bad_one_saves_nothing(case, users):
    message = services.post_message(users["patient"], case, "", [a_pdf("one.pdf"), a_pdf("two.pdf")])
    assert sorted(a.original_name for a in message.attachments.all()) == ["one.pdf", "two.pdf"]
    with pytest.raises(InvalidInput) as caught:
        services.post_message(users["patient"], case, "more", [a_pdf("three.pdf"), a_disguised_exe()])
    assert caught.value.field == "files"
    assert Message.objects.count() == 1 and Attachment.objects.count() == 2


def test_an_empty_message_is_refused(case, users):
    with pytest.raises(InvalidInput) as caught:
        services.post_message(users["patient"], case, "   ")
    assert caught.value.field == "body"


def test_posting_on_the_page_and_the_thread_shows_it(client, case, users):
    client.force_login(users["patient"])
    response = client.post(
        reverse("cases:message", args=[case.reference]), {"body": "When can I come?", "files": [a_pdf("x.pdf")]}
    )
    assert response.status_code == 302 and response["Location"].endswith("#thread")
    page = client.get(reverse("cases:detail", args=[case.reference])).content.decode()
    assert "When can I come?" in page and "x.pdf" in page


def test_a_page_post_with_a_bad_file_keeps_the_text(client, case, users):
    client.force_login(users["patient"])
    response = client.post(
        reverse("cases:message", args=[case.reference]), {"body": "Keep me", "files": [a_disguised_exe()]}
    )
    assert response.status_code == 422
    assert "Keep me" in response.content.decode() and not Message.objects.exists()


def test_staff_post_a_note_from_the_page(client, case, users):
    client.force_login(users["coordinator"])
    client.post(reverse("cases:message", args=[case.reference]), {"body": SECRET, "internal": "on"})
    assert Message.objects.get().internal


def test_a_download_is_the_stored_file_as_an_attachment_and_audited(client, case, users):
    message = services.post_message(users["patient"], case, "", [a_pdf("report <1>.pdf")])
    attachment = message.attachments.get()
    client.force_login(users["coordinator"])
    response = client.get(reverse("cases:attachment", args=[case.reference, attachment.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == pdf_bytes()
    event = AuditEvent.objects.get(action="case.attachment.download")
    assert event.actor == users["coordinator"] and event.detail["case"] == case.reference


def test_a_file_of_another_case_is_not_found_through_this_one(client, case, users, patient, hospital):
    from tests.builders import make_case

    second = make_case(patient, hospital, description="Second")
    message = services.post_message(users["patient"], second, "", [a_pdf()])
    client.force_login(users["patient"])
    url = reverse("cases:attachment", args=[case.reference, message.attachments.get().pk])
    assert client.get(url).status_code == 404


def test_files_are_stored_under_a_random_name_and_not_served_as_media(client, case, users):
    message = services.post_message(users["patient"], case, "", [a_pdf("report.pdf")])
    stored = message.attachments.get().file.name
    assert "report" not in stored
    client.force_login(users["patient"])
    assert client.get("/media/" + stored).status_code == 404
