"""The insurer's decision on single lines of a GOP: approved, reduced to an amount, or declined, each with the
insurer's reason, in the portal, the API and as a FHIR ClaimResponse; billing reads them (see billing's tests)."""

import datetime
import json
from decimal import Decimal

import pytest

from laihua.accounts.services import create_api_token
from laihua.errors import InvalidInput
from laihua.insurance import fhir, services
from laihua.insurance.models import GuaranteeStatus
from laihua.kit import clock

pytestmark = pytest.mark.django_db


def partial(**extra):
    today = clock.today()
    return {
        "status": "partial",
        "reference": "ACME-9",
        "amount": "20000",
        "currency": "CNY",
        "valid_from": today,
        "valid_until": today + datetime.timedelta(days=31),
        **extra,
    }


def decisions(gop):
    return {line.sequence: (line.review_action, line.approved_amount, line.reason) for line in gop.lines.all()}


def test_the_insurer_reduces_one_line_and_declines_another_with_reasons(gop, agent):
    lines = [
        {"sequence": 1, "decision": "reduced", "amount": "800", "reason": "Tariff for one region"},
        {"sequence": 2, "decision": "declined", "reason": "Arthroscopy not covered by the plan"},
    ]
    services.answer_guarantee_request(agent, gop, partial(lines=lines))
    gop.refresh_from_db()
    assert gop.status == GuaranteeStatus.PARTIAL
    assert decisions(gop) == {
        1: ("A2", Decimal("800.00"), "Tariff for one region"),
        2: ("A3", None, "Arthroscopy not covered by the plan"),
    }


@pytest.mark.parametrize(
    ("lines", "field"),
    [
        ([{"sequence": 9, "decision": "declined"}], "lines"),
        ([{"sequence": 1, "decision": "maybe"}], "lines"),
        ([{"sequence": 1, "decision": "reduced"}], "lines"),
        ([{"sequence": 1, "decision": "reduced", "amount": "-1"}], "lines"),
        ([{"sequence": 1, "decision": "declined", "reason": "x" * 301}], "lines"),
    ],
)
def test_a_wrong_line_decision_names_the_field_and_changes_nothing(gop, agent, lines, field):
    with pytest.raises(InvalidInput) as caught:
        services.answer_guarantee_request(agent, gop, partial(lines=lines))
    assert caught.value.field == field
    gop.refresh_from_db()
    assert gop.status == GuaranteeStatus.SUBMITTED and not any(line.reason for line in gop.lines.all())


def test_declining_a_line_is_a_partial_approval(gop, agent):
    with pytest.raises(InvalidInput) as caught:
        services.answer_guarantee_request(
            agent, gop, partial(status="approved", lines=[{"sequence": 2, "decision": "declined"}])
        )
    assert caught.value.field == "status"


def test_the_portal_form_carries_each_lines_decision(client, gop, agent):
    client.force_login(agent)
    page = client.get(f"/en/insurance/portal/{gop.number}/").content.decode()
    assert 'name="line-2-decision"' in page and 'name="line-2-reason"' in page
    form = {key: str(value) for key, value in partial().items()}
    form.update({"line-2-decision": "declined", "line-2-reason": "Not covered"})
    client.post(f"/en/insurance/gop/{gop.number}/answer/", form)
    gop.refresh_from_db()
    assert gop.status == GuaranteeStatus.PARTIAL and decisions(gop)[2] == ("A3", None, "Not covered")
    assert "Not covered" in client.get(f"/en/insurance/portal/{gop.number}/").content.decode()


def test_the_api_takes_line_decisions(client, gop, agent):
    token = create_api_token(agent, agent, "test")[1]
    body = {
        **{key: str(value) for key, value in partial().items()},
        "lines": [{"sequence": 1, "decision": "reduced", "amount": "700", "reason": "Tariff"}],
    }
    response = client.post(
        f"/api/insurance/gops/{gop.number}/answer",
        json.dumps(body),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.content
    gop.refresh_from_db()
    assert decisions(gop)[1] == ("A2", Decimal("700.00"), "Tariff")


def test_a_fhir_answer_keeps_each_items_reason(gop, agent):
    today = clock.today()
    data = fhir.claim_response(
        request_identifier=gop.number,
        status="partial",
        created=clock.now(),
        insurer_name="Acme",
        reference="ACME-AUTH-9",
        amount=Decimal("1000"),
        currency="CNY",
        period=(today, today + datetime.timedelta(days=31)),
        disposition="Arthroscopy not covered",
        items=[(1, "approved", Decimal("1000")), (2, "denied", None)],
    )
    item = next(item for item in data["item"] if item["itemSequence"] == 2)
    item["adjudication"][0]["reason"] = {"coding": [{"code": "not-covered"}], "text": "Not covered"}
    parsed, raw = services.read_claim_response(data)
    services.record_guarantee_response(agent, parsed, raw)
    gop.refresh_from_db()
    assert decisions(gop) == {1: ("A1", Decimal("1000.00"), ""), 2: ("A3", None, "not-covered")}
