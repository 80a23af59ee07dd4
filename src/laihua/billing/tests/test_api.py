import io
from decimal import Decimal

import pytest
from pypdf import PdfReader

from laihua.accounts.services import create_api_token
from laihua.audit.models import AuditEvent
from laihua.billing import services

pytestmark = pytest.mark.django_db


def bearer(user):
    return {"Authorization": f"Bearer {create_api_token(user, user, 'test')[1]}"}


def post(client, url, user, payload=None, **headers):
    return client.post(url, payload or {}, content_type="application/json", headers={**bearer(user), **headers})


def get(client, url, user):
    return client.get(url, headers=bearer(user))


def test_finance_builds_issues_and_is_paid_through_the_api(client, users, insured, blood, agents):
    finance = users["finance"]
    response = post(client, "/api/billing/invoices", finance, {"case": insured.reference})
    assert response.status_code == 201, response.json()
    invoice = response.json()
    base = f"/api/billing/invoices/{invoice['id']}"
    assert invoice["status"] == "draft" and invoice["lines"][0]["code"] == "MRI-01"
    response = post(client, f"{base}/lines", finance, {"item": blood.pk, "quantity": 1})
    assert response.status_code == 422 and response.json()["field"] == "reason"
    response = post(client, f"{base}/lines", finance, {"item": blood.pk, "quantity": 1, "reason": "Pre-op labs"})
    assert response.status_code == 201
    for line in response.json()["lines"]:
        assert (
            post(client, f"{base}/lines/{line['id']}/confirm", finance, {"quantity": line["quantity"]}).status_code
            == 200
        )
    response = post(client, f"{base}/issue", finance)
    body = response.json()
    assert response.status_code == 200 and body["status"] == "issued" and body["number"].startswith("EAST-")
    assert Decimal(body["insurer_cny"]) == Decimal("800.00") and Decimal(body["patient_cny"]) == Decimal("292.00")

    payment = {"kind": "balance", "method": "card", "reference": "POS-1", "amount": "292.00"}
    first = post(client, f"{base}/payments", finance, payment, **{"Idempotency-Key": "pos-1"})
    again = post(client, f"{base}/payments", finance, payment, **{"Idempotency-Key": "pos-1"})
    assert (first.status_code, again.status_code) == (201, 200) and first.json()["id"] == again.json()["id"]
    mismatch = post(client, f"{base}/payments", finance, {**payment, "amount": "1"}, **{"Idempotency-Key": "pos-1"})
    assert mismatch.status_code == 409 and mismatch.json()["error"] == "idempotency_mismatch"

    claim = post(client, f"{base}/claims", finance)
    assert claim.status_code == 201 and claim.json()["amount_cny"] == "800.00"
    claim_id = claim.json()["id"]
    answer = {
        "lines": [{"sequence": 1, "paid": "750", "adjusted": "50", "disposition": "write_off", "reason": "Tariff"}]
    }
    response = post(client, f"/api/billing/claims/{claim_id}/response", finance, answer)
    assert response.status_code == 200 and response.json()["outcome"] == "partial"
    remittance = {"kind": "remittance", "method": "bank_transfer", "reference": "GC-PAY-9", "amount": "750"}
    assert post(client, f"{base}/payments", finance, remittance, **{"Idempotency-Key": "gc-9"}).status_code == 201
    write_off = get(client, base, finance).json()["write_offs"][0]
    assert post(client, f"{base}/write-offs/{write_off['id']}/approve", finance).status_code == 403
    response = post(client, f"{base}/write-offs/{write_off['id']}/approve", users["hospital_admin"])
    assert response.status_code == 200 and response.json()["status"] == "approved"
    body = get(client, base, finance).json()
    assert body["status"] == "balanced" and Decimal(body["balances"]["balance"]) == 0

    # The patient downloads the itemised invoice and the receipt; the insurer's agent sees the claim.
    patient = users["patient"]
    assert get(client, base, patient).json()["write_offs"] == []
    pdf = get(client, f"{base}/pdf", patient)
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert get(client, f"{base}/receipt", patient).status_code == 200
    assert get(client, f"/api/billing/claims/{claim_id}", agents["mine"]).status_code == 200
    assert AuditEvent.objects.filter(action="invoice.pdf", actor=patient).exists()


@pytest.fixture
def world(users, issued, agents, draft_other=None):
    claim = services.submit_claim(users["finance"], issued)
    return {"invoice": issued, "claim": claim}


def routes(invoice, claim, write_off):
    base = f"/api/billing/invoices/{invoice.pk}"
    line = invoice.lines.first().pk
    return [
        ("get", base, None),
        ("get", f"{base}/pdf", None),
        ("get", f"{base}/receipt", None),
        ("get", f"{base}/fhir", None),
        ("get", f"{base}/payments", None),
        ("post", f"{base}/lines", {"unit_price": "1", "description": {"en": "x", "zh-hans": "x"}, "reason": "y"}),
        ("post", f"{base}/lines/{line}/confirm", {"quantity": 1}),
        ("delete", f"{base}/lines/{line}", None),
        ("post", f"{base}/issue", {}),
        ("post", f"{base}/cancel", {"reason": "x"}),
        (
            "post",
            f"{base}/payments",
            {"kind": "deposit", "method": "cash", "reference": "x", "amount": "1", "idempotency_key": "z"},
        ),
        ("post", f"{base}/write-offs", {"part": "patient", "amount": "1", "reason": "x"}),
        ("post", f"{base}/write-offs/{write_off.pk}/approve", {}),
        ("post", f"{base}/claims", {}),
        ("get", f"/api/billing/claims/{claim.pk}", None),
        ("post", f"/api/billing/claims/{claim.pk}/response", {"lines": [{"sequence": 1, "paid": "800"}]}),
        ("post", f"/api/billing/claims/{claim.pk}/shortfall", {"disposition": "patient"}),
    ]


def call(client, user, method, url, payload):
    if method == "get":
        return client.get(url, headers=bearer(user))
    if method == "delete":
        return client.delete(url, headers=bearer(user))
    return client.post(url, payload, content_type="application/json", headers=bearer(user))


@pytest.mark.parametrize("who", ["other_admin", "other_coordinator", "other_agent", "other_patient", "clinician"])
def test_every_route_refuses_other_hospitals_other_insurers_and_other_patients(
    client, users, world, agents, other_patient, who
):
    actor = {"other_agent": agents["other"], "other_patient": other_patient.user}.get(who) or users[who]
    write_off = services.propose_write_off(
        users["finance"], world["invoice"], {"part": "patient", "amount": "1", "reason": "x"}
    )
    before = (world["invoice"].payments.count(), world["invoice"].write_offs.count(), world["invoice"].lines.count())
    for method, url, payload in routes(world["invoice"], world["claim"], write_off):
        response = call(client, actor, method, url, payload)
        assert response.status_code in (403, 404), (who, method, url, response.status_code)
    world["invoice"].refresh_from_db()
    assert world["invoice"].status == "issued"
    assert before == (
        world["invoice"].payments.count(),
        world["invoice"].write_offs.count(),
        world["invoice"].lines.count(),
    )


def test_the_patient_reads_but_never_changes(client, users, world):
    write_off = services.propose_write_off(
        users["finance"], world["invoice"], {"part": "patient", "amount": "1", "reason": "x"}
    )
    for method, url, payload in routes(world["invoice"], world["claim"], write_off):
        response = call(client, users["patient"], method, url, payload)
        if method == "get":  # their own invoice, payments and the claim sent for their treatment
            assert response.status_code == 200, url
        else:
            assert response.status_code in (403, 404), (method, url)


def test_the_insurers_agent_sees_its_claim_but_changes_nothing(client, users, world, agents):
    agent = agents["mine"]
    claims = get(client, "/api/billing/claims", agent).json()
    assert [claim["number"] for claim in claims] == [world["claim"].number]
    assert get(client, "/api/billing/claims", agents["other"]).json() == []
    base = f"/api/billing/invoices/{world['invoice'].pk}"
    assert (
        post(
            client,
            f"{base}/payments",
            agent,
            {"kind": "remittance", "method": "cash", "reference": "x", "amount": "1", "idempotency_key": "a"},
        ).status_code
        == 403
    )


def test_a_coordinator_drafts_but_does_not_issue_or_take_payments(client, users, treated_case):
    coordinator = users["coordinator"]
    response = post(client, "/api/billing/invoices", coordinator, {"case": treated_case.reference})
    assert response.status_code == 201
    base = f"/api/billing/invoices/{response.json()['id']}"
    assert post(client, f"{base}/issue", coordinator).status_code == 403
    payment = {"kind": "deposit", "method": "cash", "reference": "x", "amount": "1", "idempotency_key": "c"}
    assert post(client, f"{base}/payments", coordinator, payment).status_code == 403


def test_other_hospital_cannot_draft_for_our_case(client, users, treated_case):
    response = post(client, "/api/billing/invoices", users["other_admin"], {"case": treated_case.reference})
    assert response.status_code == 404


def test_receivables_are_for_finance_of_the_hospital(client, users, issued):
    body = get(client, "/api/billing/receivables", users["finance"]).json()
    assert body["total"] == "972.00" and {row["payer"] for row in body["by_payer"]} == {
        "Global Care Assistance",
        "patient",
    }
    csv = get(client, "/api/billing/receivables.csv", users["finance"])
    assert csv.status_code == 200 and issued.number in csv.content.decode()
    assert get(client, "/api/billing/receivables", users["other_admin"]).json()["total"] == "0.00"
    for who in ("coordinator", "patient", "insurer_agent"):
        assert get(client, "/api/billing/receivables", users[who]).status_code == 403


def pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def test_the_invoice_pdf_is_itemised_in_both_languages(client, users, issued):
    services.record_payment(
        users["finance"],
        issued,
        {"kind": "deposit", "method": "card", "reference": "DEP-1", "amount": "100"},
        idempotency_key="d",
    )
    text = pdf_text(get(client, f"/api/billing/invoices/{issued.pk}/pdf", users["patient"]).content)
    squashed = "".join(text.split())  # table cells wrap where the layout puts them
    for expected in (
        issued.number,
        "MRI scan, one region",
        "核磁共振成像（单部位）",
        "东方示范医院",
        "972.00",
        "800.00",
        "172.00",
        "72.00",
        "Global Care Assistance",
        "PA-777",
    ):
        assert "".join(expected.split()) in squashed, expected
    receipt = pdf_text(get(client, f"/api/billing/invoices/{issued.pk}/receipt", users["patient"]).content)
    assert "DEP-1" in receipt and "100.00" in receipt and "Receipt" in receipt
    # The status and the payment's kind in both languages, not only the patient's.
    assert "Issued" in squashed and "已开具" in squashed
    assert "Deposit" in receipt and "押金" in receipt


def test_the_fhir_invoice_carries_the_status_and_number(client, users, issued):
    body = get(client, f"/api/billing/invoices/{issued.pk}/fhir", users["finance"]).json()
    assert body["resourceType"] == "Invoice" and body["status"] == "issued"
    assert body["identifier"][0]["value"] == issued.number
