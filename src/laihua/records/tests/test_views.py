"""The pages: records of a case, import with every issue shown, term list, discharge summary, consent
and sending; refusals for another hospital, another patient and the wrong role."""

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation
from django.utils.formats import date_format

from laihua.audit.models import AuditEvent
from laihua.kit import clock
from laihua.records.models import Consent, EpisodeSummary, IpsDocument, TermTranslation
from laihua.records.tests.conftest import as_bytes, example_bytes

pytestmark = pytest.mark.django_db


def url(name, *args):
    with translation.override("en"):
        return reverse(f"records:{name}", args=args)


def upload(name, content):
    return {"file": SimpleUploadedFile(name, content, content_type="application/octet-stream")}


def test_coordinator_imports_and_sees_the_summary(client, users, case):
    client.force_login(users["coordinator"])
    response = client.post(url("import", case.reference), upload("ips.xml", example_bytes("hl7-IPS-bundle-01.xml")))
    assert response.status_code == 302
    html = client.get(url("case", case.reference)).content.decode()
    assert "Menopausal flushing (finding)" in html and "198436008" in html
    assert "Hemoglobin A1c" in html and "7.5 %" in html
    assert client.get(url("document", IpsDocument.objects.get().pk)).content.startswith(b"<?xml")


def test_refused_upload_lists_every_issue_with_its_location(client, users, case, minimal):
    del minimal["timestamp"]
    minimal["entry"][4]["resource"]["subject"] = {"reference": "Patient/x"}
    client.force_login(users["patient"])
    response = client.post(url("import", case.reference), upload("bad.json", as_bytes(minimal)))
    assert response.status_code == 422
    html = response.content.decode()
    assert "Bundle.timestamp" in html and "Bundle.entry[4].resource.subject" in html
    assert "“bad.json” was refused; nothing was stored." in html
    assert not IpsDocument.objects.exists()


def test_term_list_translation_serves_the_summary(client, users, case):
    client.force_login(users["coordinator"])
    client.post(url("import", case.reference), upload("ips.json", example_bytes("hl7-bundle-minimal.json")))
    page = client.get(url("terms") + f"?case={case.reference}")
    assert page.status_code == 200 and "198436008" in page.content.decode()  # offered: no Chinese yet
    response = client.post(
        url("terms"),
        {
            "system": "http://snomed.info/sct",
            "code": "198436008",
            "en": "Hot flushes",
            "zh_hans": "潮热",
            "next": url("case", case.reference),
        },
    )
    assert response.status_code == 302 and TermTranslation.objects.get().zh_hans == "潮热"
    assert "潮热" in client.get(url("case", case.reference)).content.decode()
    refused = client.post(url("terms"), {"system": "", "code": "1", "en": "x"})
    assert refused.status_code == 422


def test_clinician_completes_the_discharge_summary_and_downloads(client, users, case):
    client.force_login(users["clinician"])
    bad = client.post(
        url("episode_summary", case.reference), {"dx_code": ["S83.2", "knee"], "dx_text": ["", "pain"], "complete": "1"}
    )
    assert bad.status_code == 422 and "is not an ICD-10 code" in bad.content.decode()
    assert "Diagnoses, line 2: code" in bad.content.decode() and 'value="knee"' in bad.content.decode()
    assert not EpisodeSummary.objects.exists()
    ok = client.post(
        url("episode_summary", case.reference),
        {
            "dx_code": "S83.2",
            "dx_text": "Tear of meniscus",
            "med_text": "Ibuprofen",
            "med_dose": "400",
            "med_unit": "mg",
            "med_route": "oral",
            "med_frequency": "3",
            "med_period_unit": "d",
            "med_duration_days": "5",
            "fu_date": "2027-01-06",
            "fu_text": "Physiotherapy check",
            "plan_of_care": "Rest",
            "complete": "1",
        },
    )
    assert ok.status_code == 302 and EpisodeSummary.objects.get().completed_at
    summary = EpisodeSummary.objects.get()
    assert summary.medications[0]["dose"] == 400 and summary.medications[0]["duration_days"] == 5
    assert summary.follow_ups == [{"date": "2027-01-06", "text": "Physiotherapy check"}]
    page = client.get(url("case", case.reference)).content.decode()
    assert "400 mg by mouth 3 times a day for 5 days" in page and "口服，每次400毫克，每日3次，共5天" in page
    assert date_format(datetime.date(2027, 1, 6), "DATE_FORMAT") in page
    assert client.get(url("export_json", case.reference))["Content-Type"] == "application/fhir+json"
    pdf = client.get(url("export_pdf", case.reference))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


def test_patient_grants_and_withdraws_consent_and_staff_send(client, users, case, mailoutbox):
    client.force_login(users["patient"])
    end = (clock.today() + datetime.timedelta(days=20)).isoformat()
    data = {
        "recipient_name": "Dr Smith",
        "recipient_email": "smith@clinic.example",
        "purpose": "Follow-up",
        "data_types": ["summary"],
        "period_start": clock.today().isoformat(),
        "period_end": end,
    }
    assert client.post(url("consent_grant", case.reference), data).status_code == 302
    consent = Consent.objects.get()
    client.force_login(users["coordinator"])
    refused = client.post(url("send", case.reference), {"recipient_email": "other@x.example"})
    assert refused.status_code == 403 and "has not consented" in refused.content.decode()
    assert client.post(url("send", case.reference), {"recipient_email": "smith@clinic.example"}).status_code == 302
    client.force_login(users["patient"])
    assert client.post(url("consent_withdraw", consent.pk)).status_code == 302
    client.force_login(users["coordinator"])
    assert client.post(url("send", case.reference), {"recipient_email": "smith@clinic.example"}).status_code == 403


def test_page_refusals(client, users, case, other_patient):
    for user, status in (
        (users["other_coordinator"], 404),
        (other_patient.user, 404),
        (users["finance"], 403),
        (users["insurer_agent"], 404),
    ):
        client.force_login(user)
        assert client.get(url("case", case.reference)).status_code == status
        assert client.get(url("export_json", case.reference)).status_code == status
        response = client.get(url("export_xml", case.reference))
        assert response.status_code == status and b"<Bundle" not in response.content
    assert not AuditEvent.objects.filter(action="records.export").exists()
    client.force_login(users["coordinator"])
    assert client.get(url("episode_summary", case.reference)).status_code == 403
    client.force_login(users["patient"])
    assert client.get(url("terms")).status_code == 403


def test_index_lists_visible_cases(client, users, case):
    client.force_login(users["patient"])
    assert case.reference in client.get(url("index")).content.decode()
    client.force_login(users["other_coordinator"])
    assert case.reference not in client.get(url("index")).content.decode()


def test_the_consents_name_their_data_types_in_the_pages_language(client, users, case):
    from laihua.records import services
    from laihua.records.tests.test_services import consent_data

    services.grant_consent(users["patient"], case, **consent_data(data_types=["summary", "discharge"]))
    client.force_login(users["patient"])
    url = reverse("records:case", args=[case.reference])
    assert "Discharge summary, Patient summary (IPS)" in client.get(url).content.decode()
    chinese = client.get("/zh-hans" + url[3:]).content.decode()
    assert "summary, discharge" not in chinese and "出院小结" in chinese


def test_an_allergys_criticality_reads_in_words():
    from laihua.records.models import ClinicalItem

    allergy = ClinicalItem(kind="allergy", value="high")
    assert allergy.value_text() == "high criticality"
    with translation.override("zh-hans"):
        assert allergy.value_text() == "高危"
    assert ClinicalItem(kind="result", value="13.5 g/dL").value_text() == "13.5 g/dL"
