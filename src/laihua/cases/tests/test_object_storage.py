"""Uploads in an S3-compatible bucket (moto's server over HTTP): a case file is stored there, never on the local
disk, and downloads stream through the access-checked, audited views; another hospital is refused."""

from django.urls import reverse

from laihua.audit.models import AuditEvent
from laihua.cases.models import Attachment
from laihua.cases.tests.files import a_pdf, pdf_bytes
from tests.objectstore import keys


def test_an_uploaded_case_file_is_kept_in_the_bucket_and_downloaded_through_the_access_check(
    client, case, users, s3_storage, media_root
):
    endpoint, bucket, prefix = s3_storage
    client.force_login(users["patient"])
    sent = client.post(
        f"/api/cases/{case.reference}/messages", {"body": "My knee scan.", "files": [a_pdf("scan.pdf", b" %% knee")]}
    )
    assert sent.status_code == 201, sent.content
    attachment = Attachment.objects.get()
    stored = keys(endpoint, bucket)
    assert stored == {f"{prefix}/{attachment.file.name}": pdf_bytes(b" %% knee")}
    assert not media_root.exists() or not any(path.is_file() for path in media_root.rglob("*"))

    client.force_login(users["coordinator"])
    for url in (
        f"/api/cases/{case.reference}/attachments/{attachment.pk}",
        reverse("cases:attachment", args=[case.reference, attachment.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 200 and response.streaming
        assert b"".join(response.streaming_content) == pdf_bytes(b" %% knee")
        assert response["Content-Type"] == "application/pdf" and "attachment" in response["Content-Disposition"]
        assert "amazonaws" not in response.get("Location", "") and bucket not in response.serialize_headers().decode()
    downloads = AuditEvent.objects.filter(action="case.attachment.download", actor=users["coordinator"])
    assert downloads.count() == 2


def test_another_hospital_cannot_download_a_file_from_the_bucket(client, case, users, s3_storage):
    from laihua.cases import services

    message = services.post_message(users["patient"], case, "Scan.", [a_pdf("scan.pdf")])
    attachment = message.attachments.get()
    client.force_login(users["other_coordinator"])
    assert client.get(f"/api/cases/{case.reference}/attachments/{attachment.pk}").status_code == 404
    page = client.get(reverse("cases:attachment", args=[case.reference, attachment.pk]))
    assert page.status_code == 404 and pdf_bytes() not in page.content
    assert not AuditEvent.objects.filter(action="case.attachment.download").exists()


def test_a_file_missing_from_the_bucket_is_a_clear_error(client, case, users, s3_storage):
    from laihua.cases.uploads import store_attachment

    endpoint, bucket, prefix = s3_storage
    attachment = store_attachment(case, users["patient"], a_pdf())
    attachment.file.delete(save=False)
    assert keys(endpoint, bucket) == {}
    client.force_login(users["patient"])
    response = client.get(f"/api/cases/{case.reference}/attachments/{attachment.pk}")
    assert response.status_code == 410 and response.json()["error"] == "file_missing"
