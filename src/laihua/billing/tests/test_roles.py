"""Who reads a statement, its PDF and the receipt of the patient's payments (docs/roles.md): every role against
the page download, the API download and the invoice API. An insurer agent reads the statement of a claim sent to its
insurer (the itemised bill backs the claim) but not the patient's receipt nor the patient's payments."""

import pytest
from django.urls import reverse

from laihua.accounts.models import Role
from laihua.accounts.services import create_api_token
from laihua.audit.models import AuditEvent
from laihua.billing import services
from tests.builders import make_user

pytestmark = pytest.mark.django_db

ROLES = [
    "patient",
    "coordinator",
    "clinician",
    "finance",
    "hospital_admin",
    "agent_of_the_claim",
    "agent_of_another_insurer",
    "other_hospital_admin",
    "other_hospital_coordinator",
    "other_hospital_finance",
    "platform_admin",
]
STATEMENT = {
    "patient": 200,
    "coordinator": 200,
    "clinician": 404,
    "finance": 200,
    "hospital_admin": 200,
    "agent_of_the_claim": 200,
    "agent_of_another_insurer": 404,
    "other_hospital_admin": 404,
    "other_hospital_coordinator": 404,
    "other_hospital_finance": 404,
    "platform_admin": 404,
}
RECEIPT = {**STATEMENT, "agent_of_the_claim": 403}


@pytest.fixture
def claimed(users, issued, agents):
    """The issued statement, a claim sent to its insurer, a card payment of the patient and the insurer's remittance."""
    services.submit_claim(users["finance"], issued)
    for kind, method, amount, key in (
        ("balance", "card", "172.00", "p-1"),
        ("remittance", "bank_transfer", "800", "r"),
    ):
        data = {"kind": kind, "method": method, "reference": f"ref-{key}", "amount": amount}
        services.record_payment(users["finance"], issued, data, idempotency_key=key)
    return issued


@pytest.fixture
def actors(users, agents, other_hospital, claimed):
    return {
        **{name: users[name] for name in ("coordinator", "clinician", "finance", "hospital_admin", "platform_admin")},
        "patient": claimed.case.patient.user,
        "agent_of_the_claim": agents["mine"],
        "agent_of_another_insurer": agents["other"],
        "other_hospital_admin": users["other_admin"],
        "other_hospital_coordinator": users["other_coordinator"],
        "other_hospital_finance": make_user("west-finance", Role.FINANCE, other_hospital),
    }


def bearer(user):
    return {"Authorization": f"Bearer {create_api_token(user, user, 'test')[1]}"}


def events(user, action):
    return AuditEvent.objects.filter(actor=user, action=action).count()


@pytest.mark.parametrize("who", ROLES)
def test_the_statement_pdf_on_the_page_and_in_the_api(client, actors, claimed, who):
    actor = actors[who]
    client.force_login(actor)
    page = client.get(reverse("billing:pdf", args=[claimed.pk]))
    api = client.get(f"/api/billing/invoices/{claimed.pk}/pdf", headers=bearer(actor))
    assert (page.status_code, api.status_code) == (STATEMENT[who], STATEMENT[who])
    if STATEMENT[who] == 200:
        assert page.content.startswith(b"%PDF") and api["Content-Type"] == "application/pdf"
        assert events(actor, "invoice.pdf") == 2


@pytest.mark.parametrize("who", ROLES)
def test_the_receipt_pdf_on_the_page_and_in_the_api(client, actors, claimed, who):
    actor = actors[who]
    client.force_login(actor)
    page = client.get(reverse("billing:receipt", args=[claimed.pk]))
    api = client.get(f"/api/billing/invoices/{claimed.pk}/receipt", headers=bearer(actor))
    assert (page.status_code, api.status_code) == (RECEIPT[who], RECEIPT[who])
    assert events(actor, "invoice.receipt") == (2 if RECEIPT[who] == 200 else 0)
    if RECEIPT[who] == 200:
        assert page.content.startswith(b"%PDF")


@pytest.mark.parametrize("who", ROLES)
def test_the_invoice_api_and_the_payments_each_role_reads(client, actors, claimed, who):
    actor = actors[who]
    response = client.get(f"/api/billing/invoices/{claimed.pk}", headers=bearer(actor))
    payments = client.get(f"/api/billing/invoices/{claimed.pk}/payments", headers=bearer(actor))
    assert (response.status_code, payments.status_code) == (STATEMENT[who], STATEMENT[who])
    if STATEMENT[who] != 200:
        return
    body = response.json()
    assert body["lines"] and body["pdf"]
    payers = sorted(row["payer"] for row in body["payments"])
    if who == "agent_of_the_claim":  # its own remittance, never the patient's card payment nor the receipt
        assert payers == ["insurer"] and body["receipt"] is None and body["claims"]
        assert [row["payer"] for row in payments.json()] == ["insurer"]
    else:
        assert payers == ["insurer", "patient"] and body["receipt"]
        assert len(payments.json()) == 2


def test_the_agent_s_invoice_page_shows_no_patient_payment_nor_receipt(client, actors, claimed):
    client.force_login(actors["agent_of_the_claim"])
    portal = client.get(reverse("insurance:portal")).content.decode()
    assert reverse("billing:pdf", args=[claimed.pk]) in portal  # the statement of the claim, from the portal
    page = client.get(reverse("billing:invoice", args=[claimed.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "ref-r" in html and "ref-p-1" not in html
    assert reverse("billing:receipt", args=[claimed.pk]) not in html
    client.force_login(actors["finance"])
    html = client.get(reverse("billing:invoice", args=[claimed.pk])).content.decode()
    assert "ref-p-1" in html and reverse("billing:receipt", args=[claimed.pk]) in html
