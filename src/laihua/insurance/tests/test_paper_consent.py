"""A payment consent the patient signed on paper: the hospital's coordinators and admins record it with its scan
through insurance's grant path, so it is linked to the insurer and lets the GOP request go; nobody else records
one; the patient sees it and its scan on their records page."""

import pytest
from django.urls import reverse
from django.utils import translation

from laihua.accounts.services import create_api_token
from laihua.audit.models import AuditEvent
from laihua.cases.tests.files import a_disguised_exe, a_pdf
from laihua.errors import Conflict, InvalidInput, PermissionDenied
from laihua.insurance import services
from laihua.insurance.models import InsurerConsent
from laihua.insurance.tests.conftest import GOP_DATA
from laihua.records.models import Consent, ConsentUse

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def test_a_paper_consent_is_linked_to_the_insurer_and_lets_the_request_go(bare_coverage, users):
    case = bare_coverage.case
    consent = services.record_paper_gop_consent(users["coordinator"], case, file=a_pdf("signed.pdf"))
    assert consent.use == ConsentUse.PAYMENT and consent.on_paper and consent.granted_by is None
    assert consent.recorded_by == users["coordinator"]
    assert InsurerConsent.objects.get(consent=consent).insurer == bare_coverage.insurer
    assert services.consent_state(case).given
    event = AuditEvent.objects.get(action="records.consent_grant")
    assert event.detail["paper"] is True and event.detail["use"] == "payment"
    assert case.events.get(kind="payment_consent_granted").detail == {"paper": True}
    services.send_guarantee_request(users["coordinator"], case, GOP_DATA)
    with pytest.raises(Conflict):
        services.record_paper_gop_consent(users["hospital_admin"], case, file=a_pdf())


def test_only_the_hospitals_coordinators_and_admins_record_it_with_a_real_scan(bare_coverage, users):
    case = bare_coverage.case
    for role in ("clinician", "finance", "patient", "insurer_agent", "other_coordinator", "other_admin"):
        with pytest.raises(PermissionDenied):
            services.record_paper_gop_consent(users[role], case, file=a_pdf())
    for bad in (None, a_disguised_exe()):
        with pytest.raises(InvalidInput) as caught:
            services.record_paper_gop_consent(users["coordinator"], case, file=bad)
        assert caught.value.field == "file"
    assert not Consent.objects.exists() and not InsurerConsent.objects.exists()
    services.record_paper_gop_consent(users["hospital_admin"], case, file=a_pdf())


def test_page_and_api_record_it_and_the_patient_sees_its_scan(client, users, bare_coverage):
    case = bare_coverage.case
    with translation.override("en"):
        records_page = reverse("records:case", args=[case.reference])
        paper = reverse("insurance:consent_paper", args=[case.reference])
    client.force_login(users["coordinator"])
    assert paper in client.get(records_page).content.decode()
    client.post(paper, {"file": a_disguised_exe()})
    assert not Consent.objects.exists()
    assert client.post(paper, {"file": a_pdf()}).status_code == 302
    consent = Consent.objects.get()
    client.force_login(users["patient"])
    html = client.get(records_page).content.decode()
    assert "Signed on paper; recorded by" in html
    with translation.override("en"):
        assert reverse("records:consent_paper_file", args=[consent.pk]) in html
    Consent.objects.all().delete()
    token = {"Authorization": f"Bearer {create_api_token(users['coordinator'], users['coordinator'], 't')[1]}"}
    response = client.post(f"/api/insurance/cases/{case.reference}/consent/paper", {"file": a_pdf()}, headers=token)
    assert response.status_code == 201, response.content
    assert response.json()["consent"]["on_paper"] is True
    finance = {"Authorization": f"Bearer {create_api_token(users['finance'], users['finance'], 't')[1]}"}
    refused = client.post(f"/api/insurance/cases/{case.reference}/consent/paper", {"file": a_pdf()}, headers=finance)
    assert refused.status_code == 403
