"""Pages: the insurer portal, the GOP page and its answer form, the case panel, contracts, insurers."""

import datetime

import pytest
from django.utils import timezone

from laihua.insurance.models import GuaranteeStatus
from laihua.insurance.tests.conftest import GOP_DATA, consent
from laihua.kit import clock

pytestmark = pytest.mark.django_db


def test_an_insurer_agent_starts_in_the_portal_and_sees_only_own_members(client, gop, other_case, agent):
    client.force_login(agent)
    assert client.get("/en/accounts/")["Location"] == "/en/insurance/portal/"
    page = client.get("/en/insurance/portal/").content.decode()
    assert gop.number in page and other_case.number not in page
    assert "Insurer portal" in page
    assert client.get(f"/en/insurance/portal/{gop.number}/").status_code == 200
    assert client.get(f"/en/insurance/portal/{other_case.number}/").status_code == 404


def test_the_agent_answers_in_the_portal(client, gop, agent):
    client.force_login(agent)
    today = clock.today()
    form = {
        "status": "approved",
        "reference": "ACME-77",
        "amount": "4300",
        "currency": "USD",
        "valid_from": today.isoformat(),
        "valid_until": (today + datetime.timedelta(days=31)).isoformat(),
    }
    response = client.post(f"/en/insurance/gop/{gop.number}/answer/", form)
    assert response.status_code == 302 and response["Location"] == "/en/insurance/portal/"
    gop.refresh_from_db()
    assert gop.status == GuaranteeStatus.APPROVED and gop.reference == "ACME-77"


def test_a_wrong_portal_answer_comes_back_with_the_message(client, gop, agent):
    client.force_login(agent)
    response = client.post(f"/en/insurance/gop/{gop.number}/answer/", {"status": "denied"}, follow=True)
    assert "Give the reason for the denial." in response.content.decode()
    gop.refresh_from_db()
    assert gop.status == GuaranteeStatus.SUBMITTED


def test_another_insurer_cannot_answer_in_the_portal(client, gop, other_agent):
    client.force_login(other_agent)
    response = client.post(f"/en/insurance/gop/{gop.number}/answer/", {"status": "denied", "disposition": "x"})
    assert response.status_code == 404
    gop.refresh_from_db()
    assert gop.status == GuaranteeStatus.SUBMITTED


def test_staff_and_patients_are_kept_out_of_the_portal(client, users, gop):
    for role in ("coordinator", "patient", "platform_admin"):
        client.force_login(users[role])
        assert client.get("/en/insurance/portal/").status_code == 403
    client.force_login(users["insurer_agent"])  # not linked to an insurer in this test
    # (the `gop` fixture links it; unlink to check the message)
    users["insurer_agent"].insurer_agent.delete()
    assert client.get("/en/insurance/portal/").status_code == 403


def test_the_case_page_shows_coverage_and_gop_status_with_deadline(client, users, gop):
    client.force_login(users["coordinator"])
    page = client.get(f"/en/cases/{gop.case.reference}/").content.decode()
    assert 'id="insurance"' in page
    assert gop.number in page and "Waiting for the insurer" in page
    assert timezone.localtime(gop.deadline_at).strftime("%Y-%m-%dT%H:%M") in page
    assert "Withdraw" in page
    client.force_login(users["patient"])
    page = client.get(f"/en/cases/{gop.case.reference}/").content.decode()
    assert gop.number in page and "Record the coverage" not in page


def test_the_coordinator_records_coverage_and_sends_from_the_case_page(client, users, quoted_case, contract, agent):
    client.force_login(users["coordinator"])
    today = clock.today()
    ref = quoted_case.reference
    form = {
        "insurer": "acme",
        "member_id": "ACME-5",
        "valid_from": today.isoformat(),
        "valid_until": (today + datetime.timedelta(days=200)).isoformat(),
    }
    response = client.post(f"/en/insurance/case/{ref}/coverage/", form, follow=True)
    assert "matches the contract" in response.content.decode()
    page = client.get(f"/en/cases/{ref}/").content.decode()
    assert "Ask the patient for consent" in page and "Send the GOP request" not in page
    consent(quoted_case)
    page = client.get(f"/en/cases/{ref}/").content.decode()
    assert "Send the GOP request" in page and "needs pre-authorisation" in page
    response = client.post(f"/en/insurance/case/{ref}/gop/", {**GOP_DATA, "diagnosis_code": "knee"}, follow=True)
    assert "is not an ICD-10 code" in response.content.decode()
    response = client.post(f"/en/insurance/case/{ref}/gop/", GOP_DATA, follow=True)
    assert "is sent to Acme Global Health" in response.content.decode()
    assert quoted_case.guarantees.get().status == GuaranteeStatus.SUBMITTED


def test_case_side_forms_refuse_other_hospitals_and_roles(client, users, gop):
    ref = gop.case.reference
    client.force_login(users["other_coordinator"])
    assert client.post(f"/en/insurance/case/{ref}/coverage/", {"insurer": "acme"}).status_code == 404
    assert client.post(f"/en/insurance/case/{ref}/gop/", GOP_DATA).status_code == 404
    assert client.post(f"/en/insurance/gop/{gop.number}/cancel/").status_code == 404
    assert client.get(f"/en/insurance/gop/{gop.number}/").status_code == 404
    client.force_login(users["clinician"])
    assert client.post(f"/en/insurance/gop/{gop.number}/cancel/").status_code == 403
    assert client.post(f"/en/insurance/case/{ref}/coverage/", {"insurer": "acme"}).status_code == 403
    client.force_login(users["patient"])
    assert client.post(f"/en/insurance/gop/{gop.number}/resubmit/", {"clinical_notes": "x"}).status_code == 403
    gop.refresh_from_db()
    assert gop.status == GuaranteeStatus.SUBMITTED


def test_staff_see_the_gop_page_and_withdraw(client, users, gop):
    client.force_login(users["coordinator"])
    page = client.get(f"/en/insurance/gop/{gop.number}/").content.decode()
    assert "Itemised estimate" in page and "Send the answer" not in page
    client.post(f"/en/insurance/gop/{gop.number}/cancel/")
    gop.refresh_from_db()
    assert gop.status == GuaranteeStatus.CANCELLED


def test_contracts_page(client, users, contract, insurer):
    client.force_login(users["hospital_admin"])
    page = client.get("/en/insurance/contracts/").content.decode()
    assert "Acme Global Health" in page and "Save the contract" in page
    response = client.post(
        "/en/insurance/contracts/save/",
        {"insurer": "acme", "answer_hours": "24", "currency": "EUR", "direct_billing": "1", "active": "1"},
    )
    assert response.status_code == 302
    contract.refresh_from_db()
    assert (contract.answer_hours, contract.currency) == (24, "EUR")
    client.force_login(users["coordinator"])
    page = client.get("/en/insurance/contracts/").content.decode()
    assert "Acme Global Health" in page and "Save the contract" not in page
    assert client.post("/en/insurance/contracts/save/", {"insurer": "acme"}).status_code == 403
    client.force_login(users["other_admin"])
    assert "Acme Global Health</td>" not in client.get("/en/insurance/contracts/").content.decode()
    client.force_login(users["patient"])
    assert client.get("/en/insurance/contracts/").status_code == 403


def test_insurers_page_is_for_the_platform_admin(client, users, insurer, agent):
    client.force_login(users["platform_admin"])
    page = client.get("/en/insurance/insurers/").content.decode()
    assert "Acme Global Health" in page and agent.username in page
    for role in ("hospital_admin", "insurer_agent", "patient"):
        client.force_login(users[role])
        assert client.get("/en/insurance/insurers/").status_code == 403
