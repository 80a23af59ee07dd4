"""Contracts, coverage checks, the GOP request from the accepted quote, answers, reminders and scoping."""

import datetime
from decimal import Decimal

import pytest
from django.core import mail

from laihua.accounts.models import Role
from laihua.audit.models import AuditEvent
from laihua.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from laihua.insurance import services
from laihua.insurance.models import Guarantee, GuaranteeStatus
from laihua.insurance.tests.conftest import GOP_DATA, consent, cover
from laihua.kit import clock
from tests.builders import make_user

pytestmark = pytest.mark.django_db

APPROVAL = {"status": "approved", "reference": "ACME-123", "amount": "4300.00", "currency": "USD"}


def approval(**extra):
    today = clock.today()
    return {**APPROVAL, "valid_from": today, "valid_until": today + datetime.timedelta(days=31), **extra}


# --- contracts ------------------------------------------------------------------------------------


def test_only_the_hospital_admin_of_that_hospital_saves_a_contract(hospital, insurer, users):
    for role in ("coordinator", "finance", "insurer_agent", "patient", "other_admin", "platform_admin"):
        with pytest.raises(PermissionDenied):
            services.save_contract(users[role], hospital, {"insurer": "acme"})
    contract = services.save_contract(users["hospital_admin"], hospital, {"insurer": "acme", "answer_hours": "24"})
    assert contract.answer_hours == 24
    again = services.save_contract(users["hospital_admin"], hospital, {"insurer": "acme", "answer_hours": "72"})
    assert again.pk == contract.pk and again.answer_hours == 72
    assert AuditEvent.objects.filter(action="insurance.contract.update").count() == 1


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"insurer": "nobody"}, "insurer"),
        ({"insurer": "acme", "preauth_kinds": ["teleportation"]}, "preauth_kinds"),
        ({"insurer": "acme", "preauth_threshold_cny": "-1"}, "preauth_threshold_cny"),
        ({"insurer": "acme", "answer_hours": "0"}, "answer_hours"),
        ({"insurer": "acme", "currency": "XXY"}, "currency"),
        ({"insurer": "acme", "valid_from": "2026-02-01", "valid_until": "2026-01-01"}, "valid_until"),
    ],
)
def test_a_wrong_contract_names_the_field_and_saves_nothing(hospital, insurer, users, data, field):
    with pytest.raises(InvalidInput) as caught:
        services.save_contract(users["hospital_admin"], hospital, data)
    assert caught.value.field == field
    assert not hospital.insurer_contracts.exists()


def test_lines_need_preauthorisation_by_kind_or_above_the_threshold(contract):
    assert services.line_needs_preauth(contract, "procedure", Decimal("10"))
    assert not services.line_needs_preauth(contract, "imaging", Decimal("900.00"))
    assert services.line_needs_preauth(contract, "imaging", Decimal("900.01"))


def test_contract_for_respects_its_dates_and_active_flag(contract, hospital, insurer):
    today = clock.today()
    assert services.contract_for(hospital, insurer) == contract
    contract.valid_until = today - datetime.timedelta(days=1)
    contract.save()
    assert services.contract_for(hospital, insurer) is None
    assert services.contract_for(hospital, insurer, on=today - datetime.timedelta(days=2)) == contract


# --- coverage -------------------------------------------------------------------------------------


def test_coverage_is_checked_against_the_contract(quoted_case, users, insurer, other_insurer, contract):
    coverage = cover(users["coordinator"], quoted_case)
    assert services.coverage_problems(coverage) == []
    # Policy ends before the planned treatment does.
    short = cover(users["coordinator"], quoted_case, days=12)
    assert any("before the planned treatment ends" in p for p in services.coverage_problems(short))
    # No contract with the other insurer.
    other = cover(users["coordinator"], quoted_case, insurer="zenith")
    assert any("no contract" in p for p in services.coverage_problems(other))
    # No direct billing.
    contract.direct_billing = False
    contract.save()
    back = cover(users["coordinator"], quoted_case)
    assert any("no direct billing" in p for p in services.coverage_problems(back))


def test_only_the_desk_of_the_case_hospital_records_coverage(quoted_case, users, insurer, contract):
    for role in ("clinician", "finance", "patient", "insurer_agent", "other_coordinator", "platform_admin"):
        with pytest.raises(PermissionDenied):
            cover(users[role], quoted_case)
    with pytest.raises(InvalidInput) as caught:
        services.record_coverage(
            users["coordinator"], quoted_case, {"insurer": "acme", "member_id": "", "valid_from": "2026-01-01"}
        )
    assert caught.value.field == "member_id"
    with pytest.raises(InvalidInput) as caught:
        services.record_coverage(
            users["coordinator"],
            quoted_case,
            {"insurer": "acme", "member_id": "1", "valid_from": "2026-02-01", "valid_until": "2026-01-01"},
        )
    assert caught.value.field == "valid_until"
    assert services.coverage_of(quoted_case) is None


# --- sending a GOP request ------------------------------------------------------------------------


def test_the_gop_request_is_built_from_the_accepted_quote(gop, quoted_case, contract):
    quote = quoted_case.quotes.get(status="accepted")
    assert gop.status == GuaranteeStatus.SUBMITTED
    assert gop.quote == quote
    assert gop.requested_cny == quote.total_cny == Decimal("30972.00")
    lines = list(gop.lines.all())
    assert [(line.code, line.quantity, line.amount_cny, line.needs_preauth) for line in lines] == [
        ("MRI-01", 2, Decimal("972.00"), True),  # above the 900 CNY threshold
        ("KNEE-01", 1, Decimal("30000.00"), True),  # a procedure
    ]
    assert gop.deadline_at == gop.submitted_at + datetime.timedelta(hours=48)
    assert gop.requested_currency == "USD"
    assert gop.requested_amount == Decimal("4362.25")  # 30972 / 7.1, to the cent
    assert gop.hospital == quoted_case.hospital and gop.insurer == contract.insurer
    assert quoted_case.events.filter(kind="gop_sent").exists()
    assert AuditEvent.objects.filter(action="insurance.gop.send").exists()


def test_the_insurer_agents_are_told_of_a_new_request(coverage, users, agent, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        gop = services.send_guarantee_request(users["coordinator"], coverage.case, GOP_DATA)
    assert [message.to for message in mail.outbox] == [[agent.email]]
    assert gop.number in mail.outbox[0].subject


def test_no_gop_request_without_an_accepted_quote_or_a_coverage(case, users, contract, rates_today):
    with pytest.raises(Conflict):
        services.send_guarantee_request(users["coordinator"], case, GOP_DATA)


def test_no_gop_request_without_coverage(quoted_case, users, contract):
    with pytest.raises(services.CoverageProblem):
        services.send_guarantee_request(users["coordinator"], quoted_case, GOP_DATA)


def test_no_gop_request_when_the_coverage_has_a_problem(quoted_case, users, contract):
    cover(users["coordinator"], quoted_case, days=12)
    consent(quoted_case)
    with pytest.raises(services.CoverageProblem) as caught:
        services.send_guarantee_request(users["coordinator"], quoted_case, GOP_DATA)
    assert "before the planned treatment ends" in str(caught.value.message)
    assert not Guarantee.objects.exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"diagnosis_code": "knee"}, "diagnosis_code"),
        ({"diagnosis_code": ""}, "diagnosis_code"),
        ({"diagnosis_text": ""}, "diagnosis_text"),
        ({"treating_doctor": ""}, "treating_doctor"),
        ({"planned_start": "2026-05-10", "planned_end": "2026-05-01"}, "planned_end"),
        ({"planned_start": "tomorrow"}, "planned_start"),
    ],
)
def test_a_wrong_gop_request_names_the_field_and_saves_nothing(coverage, users, change, field):
    with pytest.raises(InvalidInput) as caught:
        services.send_guarantee_request(users["coordinator"], coverage.case, {**GOP_DATA, **change})
    assert caught.value.field == field
    assert not Guarantee.objects.exists()


def test_one_open_request_per_case(gop, users):
    with pytest.raises(Conflict):
        services.send_guarantee_request(users["coordinator"], gop.case, GOP_DATA)
    services.cancel_guarantee_request(users["coordinator"], gop)
    again = services.send_guarantee_request(users["coordinator"], gop.case, GOP_DATA)
    assert again.number != gop.number


def test_only_the_desk_of_the_case_hospital_sends(coverage, users, agent):
    for role in ("clinician", "finance", "patient", "insurer_agent", "other_coordinator"):
        with pytest.raises(PermissionDenied):
            services.send_guarantee_request(users[role], coverage.case, GOP_DATA)


def test_the_coverage_cannot_change_under_an_open_request(gop, users):
    with pytest.raises(Conflict):
        cover(users["coordinator"], gop.case, member_id="OTHER")


# --- answers --------------------------------------------------------------------------------------


def test_the_insurer_approves_with_reference_amount_currency_and_validity(
    gop, agent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.answer_guarantee_request(agent, gop, approval())
    gop.refresh_from_db()
    assert gop.status == GuaranteeStatus.APPROVED
    assert (gop.reference, gop.approved_amount, gop.approved_currency) == ("ACME-123", Decimal("4300.00"), "USD")
    assert gop.valid_until == clock.today() + datetime.timedelta(days=31)
    assert set(gop.lines.values_list("review_action", flat=True)) == {"A1"}
    assert services.approved_guarantee(gop.case) == gop
    assert gop.response_json["resourceType"] == "ClaimResponse"
    assert gop.case.events.filter(kind="gop_answered").exists()
    assert [m.to for m in mail.outbox] == [[gop.case.hospital.staff.get(username="east-coord").email]]


def test_a_partial_approval_names_the_approved_lines(gop, agent):
    services.answer_guarantee_request(agent, gop, approval(status="partial", amount="4000", approved_lines=["2"]))
    gop.refresh_from_db()
    assert gop.status == GuaranteeStatus.PARTIAL
    assert dict(gop.lines.values_list("sequence", "review_action")) == {1: "A3", 2: "A1"}
    assert services.approved_guarantee(gop.case) == gop


def test_more_information_then_resubmitted(gop, agent, users):
    services.answer_guarantee_request(agent, gop, {"status": "pended", "disposition": "Send the MRI report."})
    gop.refresh_from_db()
    assert gop.status == GuaranteeStatus.PENDED and services.approved_guarantee(gop.case) is None
    with pytest.raises(InvalidInput):
        services.resubmit_guarantee_request(users["coordinator"], gop, {"clinical_notes": ""})
    services.resubmit_guarantee_request(users["coordinator"], gop, {"clinical_notes": "MRI report attached."})
    gop.refresh_from_db()
    assert gop.status == GuaranteeStatus.SUBMITTED
    assert "MRI report attached." in gop.clinical_notes


def test_a_denial_needs_its_reason(gop, agent):
    with pytest.raises(InvalidInput) as caught:
        services.answer_guarantee_request(agent, gop, {"status": "denied"})
    assert caught.value.field == "disposition"
    services.answer_guarantee_request(agent, gop, {"status": "denied", "disposition": "Pre-existing condition."})
    gop.refresh_from_db()
    assert gop.status == GuaranteeStatus.DENIED
    assert services.approved_guarantee(gop.case) is None


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"status": "maybe"}, "status"),
        (approval(reference=""), "reference"),
        (approval(amount="-5"), "amount"),
        (approval(amount="12.345"), "amount"),
        (approval(currency="EURO"), "currency"),
        (approval(valid_until=""), "valid_until"),
        (approval(status="partial", amount=""), "amount"),
        (approval(status="partial", approved_lines=["9"]), "approved_lines"),
    ],
)
def test_a_wrong_answer_names_the_field_and_changes_nothing(gop, agent, data, field):
    with pytest.raises(InvalidInput) as caught:
        services.answer_guarantee_request(agent, gop, data)
    assert caught.value.field == field
    gop.refresh_from_db()
    assert gop.status == GuaranteeStatus.SUBMITTED and gop.answered_at is None


def test_an_answered_request_is_not_answered_twice(gop, agent):
    services.answer_guarantee_request(agent, gop, approval())
    with pytest.raises(services.GuaranteeNotOpen):
        services.answer_guarantee_request(agent, gop, {"status": "denied", "disposition": "no"})


def test_only_the_own_insurer_answers(gop, users, other_agent):
    with pytest.raises(NotFound):
        services.answer_guarantee_request(other_agent, gop, approval())
    for role in ("coordinator", "hospital_admin", "patient", "platform_admin"):
        with pytest.raises(PermissionDenied):
            services.answer_guarantee_request(users[role], gop, approval())


def test_an_approval_expires_for_billing(gop, agent):
    services.answer_guarantee_request(agent, gop, approval())
    later = clock.today() + datetime.timedelta(days=40)
    assert services.approved_guarantee(gop.case, on=later) is None


# --- scoping --------------------------------------------------------------------------------------


def test_each_sees_only_their_own_gops(gop, other_case, users, agent, other_agent):
    assert list(services.visible_guarantees(agent)) == [gop]
    assert list(services.visible_guarantees(other_agent)) == [other_case]
    assert list(services.visible_guarantees(users["coordinator"])) == [gop]
    assert list(services.visible_guarantees(users["other_coordinator"])) == [other_case]
    assert list(services.visible_guarantees(users["patient"])) == [gop]
    assert list(services.visible_guarantees(users["platform_admin"])) == []
    with pytest.raises(NotFound):
        services.get_guarantee(agent, other_case.number)
    with pytest.raises(NotFound):
        services.get_guarantee(other_agent, gop.number)
    with pytest.raises(NotFound):
        services.get_guarantee(users["coordinator"], other_case.number)
    assert services.may_see_case(agent, gop.case) and not services.may_see_case(agent, other_case.case)
    with pytest.raises(NotFound):
        services.insurer_case(agent, other_case.case.reference)
    assert services.insurer_case(agent, gop.case.reference) == gop.case


def test_an_agent_without_an_insurer_sees_nothing(gop):
    loose = make_user("loose-agent", Role.INSURER_AGENT)
    assert services.insurer_of(loose) is None
    assert not services.visible_guarantees(loose).exists()
    assert not services.visible_cases_for_insurer(loose).exists()


def test_contracts_are_scoped(contract, other_case, users, agent, other_agent):
    assert list(services.visible_contracts(users["coordinator"])) == [contract]
    assert contract not in services.visible_contracts(users["other_admin"])
    assert list(services.visible_contracts(agent)) == [contract]
    assert contract not in services.visible_contracts(other_agent)
    assert not services.visible_contracts(users["patient"]).exists()


# --- reminders ------------------------------------------------------------------------------------


def test_overdue_requests_remind_the_coordinator_once(gop, users, django_capture_on_commit_callbacks):
    assert services.remind_overdue() == []
    later = gop.deadline_at + datetime.timedelta(minutes=1)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.remind_overdue(now=later) == [gop.number]
    assert services.remind_overdue(now=later + datetime.timedelta(hours=5)) == []
    # A coordinator who chose no language is written to in Chinese.
    assert len(mail.outbox) == 1 and f"{gop.number} 尚未获得答复" in mail.outbox[0].subject
    assert gop.case.events.filter(kind="gop_overdue").count() == 1
    gop.refresh_from_db()
    assert services.is_overdue(gop, later)


def test_answered_requests_are_never_reminded(gop, agent):
    services.answer_guarantee_request(agent, gop, approval())
    assert services.remind_overdue(now=gop.deadline_at + datetime.timedelta(days=1)) == []
