import datetime
import io
from decimal import Decimal

import pytest

from laihua.accounts.models import Role
from laihua.accounts.services import create_api_token
from laihua.audit.models import AuditEvent
from laihua.kit import clock
from laihua.quotes.models import Quote, Status
from tests.builders import make_user

pytestmark = pytest.mark.django_db


def bearer(user):
    return {"Authorization": f"Bearer {create_api_token(user, user, 'test')[1]}"}


def in_days(n):
    return (clock.today() + datetime.timedelta(days=n)).isoformat()


def test_a_coordinator_builds_and_sends_a_quote_and_the_patient_accepts_it(
    client, users, triage_case, mri, knee, rates_today
):
    staff = bearer(users["coordinator"])
    payload = {
        "case": triage_case.reference,
        "valid_until": in_days(20),
        "deposit": "1000",
        "exclusions": {"en": "Flights and hotel", "zh-hans": "机票和酒店"},
        "lines": [
            {"item": mri.pk, "quantity": 1},
            {"item": knee.pk, "unit_price": "36000", "discount_percent": "5", "discount_reason": "Package with MRI"},
            {
                "description": {"en": "Interpreter, per day", "zh-hans": "翻译，每天"},
                "unit_price": "600",
                "quantity": 2,
            },
        ],
    }
    response = client.post("/api/quotes", payload, content_type="application/json", headers=staff)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "draft" and body["number"] == f"{triage_case.reference}-Q1"
    assert [line["manual"] for line in body["lines"]] == [False, False, True]
    assert Decimal(body["total_cny"]) == Decimal("486") + Decimal("34200") + Decimal("1200")
    assert body["rate"]["frozen"] is False

    sent = client.post(f"/api/quotes/{body['id']}/send", headers=staff).json()
    assert sent["status"] == "sent" and sent["rate"]["frozen"] is True
    assert Decimal(sent["rate"]["cny_per_unit"]) == rates_today["USD"]
    expected = (Decimal(sent["total_cny"]) / rates_today["USD"]).quantize(Decimal("0.01"))
    assert Decimal(sent["total_converted"]) == expected

    patient = bearer(users["patient"])
    listed = client.get("/api/quotes", {"case": triage_case.reference}, headers=patient).json()
    assert [q["number"] for q in listed] == [sent["number"]]
    accepted = client.post(f"/api/quotes/{body['id']}/accept", headers=patient, REMOTE_ADDR="198.51.100.7")
    assert accepted.status_code == 200
    assert accepted.json()["status"] == "accepted" and accepted.json()["accepted_ip"] == "198.51.100.7"
    again = client.post(f"/api/quotes/{body['id']}/accept", headers=patient)
    assert again.status_code == 409
    assert again.json() == {
        "error": "quote_already_accepted",
        "detail": "This quote is already accepted.",
        "field": None,
    }


def test_a_bad_line_is_a_json_error_naming_it_and_nothing_is_saved(client, users, triage_case, knee, rates_today):
    payload = {"case": triage_case.reference, "lines": [{"item": knee.pk, "unit_price": "99"}]}
    response = client.post(
        "/api/quotes", payload, content_type="application/json", headers=bearer(users["coordinator"])
    )
    assert response.status_code == 422
    assert response.json()["error"] == "invalid" and response.json()["field"] == "lines.0.unit_price"
    assert not Quote.objects.exists()


def test_an_unknown_currency_is_a_json_error(client, users, triage_case, rates_today):
    payload = {"case": triage_case.reference, "currency": "XYZ"}
    response = client.post(
        "/api/quotes", payload, content_type="application/json", headers=bearer(users["coordinator"])
    )
    assert response.status_code == 422
    assert response.json()["field"] == "currency"


def test_sending_without_a_rate_is_a_json_error_naming_the_currency(client, users, draft):
    staff = bearer(users["coordinator"])
    client.patch(f"/api/quotes/{draft.pk}", {"currency": "MNT"}, content_type="application/json", headers=staff)
    response = client.post(f"/api/quotes/{draft.pk}/send", headers=staff)
    assert response.status_code == 422
    assert response.json()["error"] == "rate_unavailable" and response.json()["field"] == "currency"
    assert Quote.objects.get(pk=draft.pk).status == Status.DRAFT


def test_lines_are_changed_and_removed_on_a_draft_only(client, users, draft):
    staff = bearer(users["coordinator"])
    line = draft.lines.get()
    url = f"/api/quotes/{draft.pk}/lines/{line.pk}"
    changed = client.patch(url, {"quantity": 3}, content_type="application/json", headers=staff).json()
    assert Decimal(changed["total_cny"]) == Decimal("1458.00")
    refused = client.patch(url, {"discount_percent": "10"}, content_type="application/json", headers=staff)
    assert refused.status_code == 422 and refused.json()["field"] == "discount_reason"
    client.post(f"/api/quotes/{draft.pk}/send", headers=staff)
    frozen = client.delete(url, headers=staff)
    assert frozen.status_code == 409 and frozen.json()["error"] == "quote_frozen"


def test_the_patient_declines_with_a_reason(client, users, sent):
    patient = bearer(users["patient"])
    missing = client.post(
        f"/api/quotes/{sent.pk}/decline", {"reason": ""}, content_type="application/json", headers=patient
    )
    assert missing.status_code == 422 and missing.json()["field"] == "reason"
    declined = client.post(
        f"/api/quotes/{sent.pk}/decline", {"reason": "Too dear"}, content_type="application/json", headers=patient
    )
    assert declined.json()["status"] == "declined" and declined.json()["decline_reason"] == "Too dear"


def test_an_expired_quote_cannot_be_accepted_through_the_api(client, users, sent):
    Quote.objects.filter(pk=sent.pk).update(valid_until=clock.today() - datetime.timedelta(days=1))
    response = client.post(f"/api/quotes/{sent.pk}/accept", headers=bearer(users["patient"]))
    assert response.status_code == 409 and response.json()["error"] == "quote_expired"
    assert Quote.objects.get(pk=sent.pk).status == Status.EXPIRED


def test_another_patient_another_hospital_and_the_wrong_role_are_refused(client, users, sent):
    stranger = make_user("someone", Role.PATIENT)
    cases = [
        (bearer(stranger), "get", f"/api/quotes/{sent.pk}", 404),
        (bearer(stranger), "post", f"/api/quotes/{sent.pk}/accept", 404),
        (bearer(users["other_coordinator"]), "get", f"/api/quotes/{sent.pk}", 404),
        (bearer(users["other_coordinator"]), "get", f"/api/quotes/{sent.pk}/pdf", 404),
        (bearer(users["coordinator"]), "post", f"/api/quotes/{sent.pk}/accept", 403),
    ]
    for headers, method, url, status in cases:
        response = getattr(client, method)(url, headers=headers)
        assert response.status_code == status, (url, response.json())
        assert response.json()["error"] in ("not_found", "forbidden")
    assert client.get(f"/api/quotes/{sent.pk}").status_code == 401


def test_a_clinician_reads_but_cannot_build(client, users, triage_case, sent):
    clinician = bearer(users["clinician"])
    assert client.get(f"/api/quotes/{sent.pk}", headers=clinician).status_code == 200
    response = client.post(
        "/api/quotes", {"case": triage_case.reference}, content_type="application/json", headers=clinician
    )
    assert response.status_code == 403 and response.json()["error"] == "forbidden"


def test_another_hospital_cannot_quote_the_case(client, users, triage_case):
    response = client.post(
        "/api/quotes",
        {"case": triage_case.reference},
        content_type="application/json",
        headers=bearer(users["other_admin"]),
    )
    assert response.status_code == 404


def test_the_pdf_downloads_and_is_audited(client, users, sent):
    from pypdf import PdfReader

    response = client.get(f"/api/quotes/{sent.pk}/pdf", headers=bearer(users["patient"]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = PdfReader(io.BytesIO(response.content)).pages[0].extract_text()
    assert sent.number in text
    assert AuditEvent.objects.filter(action="quote.pdf", actor=users["patient"]).count() == 1
