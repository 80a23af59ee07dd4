"""A claim after treatment carries the diagnosis, the treating doctor and the itemised bill to the insurer: it goes
out only while the patient's consent to send their health data to that insurer is in force (page, API, service)."""

import datetime

import pytest

from laihua.accounts.services import create_api_token
from laihua.audit.models import AuditEvent
from laihua.billing import services
from laihua.billing.models import Claim
from laihua.insurance.services import ConsentMissing
from laihua.kit import clock
from laihua.records import services as records
from laihua.records.models import Consent

pytestmark = pytest.mark.django_db


def withdraw(users):
    records.withdraw_consent(users["patient"], Consent.objects.get().pk)


def test_the_claim_names_the_consent_it_went_out_under(issued, users):
    services.submit_claim(users["finance"], issued)
    event = AuditEvent.objects.get(action="claim.submit")
    assert event.detail["consent"] == Consent.objects.get().pk


def test_no_claim_after_the_patient_withdrew(issued, users):
    withdraw(users)
    with pytest.raises(ConsentMissing) as refused:
        services.submit_claim(users["finance"], issued)
    assert (refused.value.code, refused.value.field) == ("consent_missing", "consent")
    assert "withdrew" in str(refused.value.message)
    assert not Claim.objects.exists()
    assert not issued.case.events.filter(kind="claim_sent").exists()
    event = AuditEvent.objects.get(action="insurance.consent_missing")
    assert event.actor == users["finance"] and event.detail["sending"] == "claim"


def test_no_claim_once_the_consent_ended(issued, users):
    Consent.objects.update(period_end=clock.today() - datetime.timedelta(days=1))
    with pytest.raises(ConsentMissing):
        services.submit_claim(users["finance"], issued)
    assert not Claim.objects.exists()


def test_the_claim_is_refused_over_the_api_and_the_page(client, issued, users):
    withdraw(users)
    token = create_api_token(users["finance"], users["finance"], "test")[1]
    response = client.post(f"/api/billing/invoices/{issued.pk}/claims", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 409
    assert response.json()["error"] == "consent_missing" and response.json()["field"] == "consent"
    client.force_login(users["finance"])
    page = client.post(f"/en/billing/invoices/{issued.pk}/claims/", follow=True).content.decode()
    assert "withdrew their consent to send their health data to Global Care Assistance" in page
    assert not Claim.objects.exists()
