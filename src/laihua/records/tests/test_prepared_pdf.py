"""A long records PDF is prepared by a job into the storage: asked for once per version of the records (a
second request while it is prepared queues nothing), "being prepared" on the page (polled) and 202 with a
status URL on the API, then served behind the same access check and audit; a change to the records prepares
a new one and drops the old file; a failed job is asked for again; a short record is rendered at once."""

import io

import pytest
from django.core.files.storage import default_storage
from pypdf import PdfReader

from laihua.audit.models import AuditEvent
from laihua.celery_app import app
from laihua.errors import DomainError
from laihua.jobs.tasks import prepare_records_pdf
from laihua.records import services
from laihua.records.models import PdfStatus, PreparedPdf
from laihua.records.services import prepared
from laihua.records.tests.test_listing import bearer, document, problems

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def small_threshold(monkeypatch, settings, tmp_path):
    """Records of more than 3 items are "long" here; files go to a temporary folder."""
    monkeypatch.setattr(prepared, "PDF_JOB_ITEMS", 3)
    settings.MEDIA_ROOT = tmp_path / "media"


def store(case, clinician, count: int, number: int = 1, start: int = 0) -> None:
    services.import_document(clinician, case, document(problems(count, start=start), number))


def api(case, suffix=""):
    return f"/api/records/cases/{case.reference}/summary.pdf{suffix}"


def exports(case) -> int:
    return AuditEvent.objects.filter(action="records.export_pdf", object_id=str(case.pk)).count()


def text_of(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_a_long_record_is_prepared_once_by_a_job_then_served_and_audited(
    client, case, users, django_capture_on_commit_callbacks
):
    clinician = users["clinician"]
    store(case, clinician, 5)
    headers = bearer(clinician)
    with django_capture_on_commit_callbacks() as queued:
        first = client.get(api(case), headers=headers)
    assert first.status_code == 202 and first["Location"] == api(case, "/status")
    assert first.json() == {"status": "pending", "items": 5, "pdf_url": api(case), "status_url": api(case, "/status")}
    assert len(queued) == 1  # the job, asked for once the request commits
    with django_capture_on_commit_callbacks() as again:
        assert client.get(api(case), headers=headers).status_code == 202
        assert client.get(api(case, "/status"), headers=headers).json()["status"] == "pending"
    assert again == [] and PreparedPdf.objects.count() == 1  # a re-request while pending queues nothing
    assert exports(case) == 0  # nobody has read the records yet

    queued[0]()  # the job runs (in-process: no broker in the tests)
    row = PreparedPdf.objects.get()
    assert row.status == PdfStatus.READY and default_storage.exists(row.file.name) and row.attempts == 1
    assert client.get(api(case, "/status"), headers=headers).json()["status"] == "ready"
    response = client.get(api(case), headers=headers)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response["Cache-Control"] == "private, no-store"
    pdf = b"".join(response.streaming_content)
    assert all(f"Problem {n}" in text_of(pdf) for n in range(5))
    event = AuditEvent.objects.get(action="records.export_pdf", object_id=str(case.pk))
    assert event.actor_id == clinician.pk and event.detail == {"prepared": row.pk, "items": 5}

    assert prepare_records_pdf.delay(row.pk).get() is False  # run again: nothing to do, the same file
    assert PreparedPdf.objects.get().file.name == row.file.name


def test_a_change_to_the_records_prepares_a_new_file_and_drops_the_old(
    client, case, users, django_capture_on_commit_callbacks
):
    clinician = users["clinician"]
    store(case, clinician, 4)
    with django_capture_on_commit_callbacks(execute=True):
        assert client.get(api(case), headers=bearer(clinician)).status_code == 202
    old = PreparedPdf.objects.get()
    assert old.status == PdfStatus.READY
    store(case, clinician, 2, number=2, start=100)
    with django_capture_on_commit_callbacks(execute=True) as queued:
        answer = client.get(api(case), headers=bearer(clinician))
    assert answer.status_code == 202 and answer.json()["items"] == 6 and len(queued) == 2  # the job, the old file
    new = PreparedPdf.objects.get()
    assert new.pk != old.pk and new.version != old.version and new.status == PdfStatus.READY
    assert not default_storage.exists(old.file.name) and default_storage.exists(new.file.name)
    response = client.get(api(case), headers=bearer(clinician))
    assert "Problem 101" in text_of(b"".join(response.streaming_content))


def test_another_hospital_or_patient_or_role_gets_nothing_and_queues_nothing(
    client, case, users, other_patient, django_capture_on_commit_callbacks
):
    store(case, users["clinician"], 5)
    with django_capture_on_commit_callbacks(execute=True):
        client.get(api(case), headers=bearer(users["clinician"]))
    assert PreparedPdf.objects.get().status == PdfStatus.READY
    before = AuditEvent.objects.filter(action="records.export_pdf").count()
    refused = {
        "other_coordinator": users["other_coordinator"],
        "other_patient": other_patient.user,
        "finance": users["finance"],
        "insurer": users["insurer_agent"],
    }
    for name, user in refused.items():
        for suffix in ("", "/status"):
            status = client.get(api(case, suffix), headers=bearer(user)).status_code
            assert status in (403, 404), (name, suffix, status)
    assert AuditEvent.objects.filter(action="records.export_pdf").count() == before
    assert PreparedPdf.objects.count() == 1
    # the patient may have their own
    mine = client.get(api(case), headers=bearer(users["patient"]))
    assert mine.status_code == 200 and exports(case) == before + 1


def test_the_page_says_being_prepared_and_polls_until_it_offers_the_download(
    client, case, users, django_capture_on_commit_callbacks
):
    store(case, users["clinician"], 5)
    client.force_login(users["coordinator"])
    with django_capture_on_commit_callbacks() as queued:
        page = client.get(f"/en/records/cases/{case.reference}/summary.pdf")
    html = page.content.decode()
    state_url = f"/en/records/cases/{case.reference}/summary-pdf-state/"
    assert page.status_code == 200 and "is being prepared" in html and f'hx-get="{state_url}"' in html
    polled = client.get(state_url).content.decode()
    assert "is being prepared" in polled and "hx-trigger" in polled and "pdf-download" not in polled
    queued[0]()
    ready = client.get(state_url).content.decode()
    assert "pdf-download" in ready and "hx-trigger" not in ready
    download = client.get(f"/en/records/cases/{case.reference}/summary.pdf")
    assert download["Content-Type"] == "application/pdf" and exports(case) == 1
    client.force_login(users["other_coordinator"])
    assert client.get(state_url).status_code in (403, 404)


def test_a_failed_job_says_so_and_asking_again_queues_it_again(
    client, case, users, monkeypatch, django_capture_on_commit_callbacks
):
    store(case, users["clinician"], 5)

    def broken(*args, **kwargs):
        raise DomainError("The layout failed.")  # an error another try would not mend: not retried

    monkeypatch.setattr("laihua.kit.pdf.render_pdf_parts", broken)
    with django_capture_on_commit_callbacks() as queued:
        client.get(api(case), headers=bearer(users["clinician"]))
    app.conf.task_eager_propagates = False  # as in a worker: the job's failure handler runs
    try:
        queued[0]()
    finally:
        app.conf.task_eager_propagates = True
    row = PreparedPdf.objects.get()
    assert row.status == PdfStatus.FAILED and "layout failed" in row.error and not row.file
    client.force_login(users["coordinator"])
    with django_capture_on_commit_callbacks() as polled:
        state = client.get(f"/en/records/cases/{case.reference}/summary-pdf-state/").content.decode()
    assert "could not be prepared" in state and "hx-trigger" not in state and polled == []  # polling retries nothing
    monkeypatch.undo()
    monkeypatch.setattr(prepared, "PDF_JOB_ITEMS", 3)
    with django_capture_on_commit_callbacks(execute=True) as again:
        answer = client.get(api(case), headers=bearer(users["clinician"]))
    assert answer.status_code == 202 and len(again) == 1
    assert PreparedPdf.objects.get().status == PdfStatus.READY


def test_a_short_record_is_rendered_at_once_without_a_job(client, case, users, django_capture_on_commit_callbacks):
    store(case, users["clinician"], 3)
    with django_capture_on_commit_callbacks() as queued:
        response = client.get(api(case), headers=bearer(users["clinician"]))
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    assert queued == [] and not PreparedPdf.objects.exists() and exports(case) == 1
    assert client.get(api(case, "/status"), headers=bearer(users["clinician"])).json()["status"] == "ready"


def test_a_prepared_pdf_goes_to_object_storage_when_configured(
    client, case, users, s3_storage, django_capture_on_commit_callbacks
):
    from tests.objectstore import s3_client

    endpoint, bucket, prefix = s3_storage
    store(case, users["clinician"], 5)
    with django_capture_on_commit_callbacks(execute=True):
        client.get(api(case), headers=bearer(users["clinician"]))
    row = PreparedPdf.objects.get()
    keys = [item["Key"] for item in s3_client(endpoint).list_objects_v2(Bucket=bucket)["Contents"]]
    assert keys == [f"{prefix}/{row.file.name}"]
    response = client.get(api(case), headers=bearer(users["clinician"]))
    assert b"".join(response.streaming_content).startswith(b"%PDF")


def test_a_recipient_s_link_to_a_long_record_waits_for_the_same_prepared_file(
    client, case, users, django_capture_on_commit_callbacks
):
    from laihua.records.tests.test_transfers import consent, send, verify

    store(case, users["clinician"], 5)
    consent(users, case)
    transfer, token = send(users, case, django_capture_on_commit_callbacks, language="en")
    verify(client, token)
    with django_capture_on_commit_callbacks() as queued:
        waiting = client.get(f"/shared/{token}/summary.pdf")
    assert waiting.status_code == 202 and waiting["Cache-Control"] == "no-store"
    assert "is being prepared" in waiting.content.decode() and 'http-equiv="refresh"' in waiting.content.decode()
    assert len(queued) == 1
    with django_capture_on_commit_callbacks() as again:
        assert client.get(f"/shared/{token}/summary.pdf").status_code == 202
    assert again == []
    queued[0]()
    pdf = client.get(f"/shared/{token}/summary.pdf")
    assert pdf.status_code == 200 and b"".join(pdf.streaming_content).startswith(b"%PDF")
    # the staff's download in the same language is the same file, prepared once
    assert client.get(api(case), headers=bearer(users["clinician"])).status_code == 200
    assert PreparedPdf.objects.count() == 1
    whats = AuditEvent.objects.filter(action="records.transfer_access", object_id=str(transfer.pk))
    assert list(whats.values_list("detail__what", flat=True)) == ["pdf", "pdf", "pdf"]
    services.revoke_transfer(users["coordinator"], transfer.pk)
    assert client.get(f"/shared/{token}/summary.pdf").status_code == 410
