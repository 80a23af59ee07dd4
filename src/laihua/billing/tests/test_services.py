import datetime
from decimal import Decimal

import pytest

from laihua.billing import services
from laihua.billing.models import ClaimStatus, Invoice, InvoiceStatus, LineSource, WriteOffStatus
from laihua.cases.services import move
from laihua.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from laihua.kit import clock

from .conftest import confirm_all

pytestmark = pytest.mark.django_db


def pay(actor, invoice, kind, amount, key, **extra):
    data = {"kind": kind, "method": "card", "reference": f"ref-{key}", "amount": amount, **extra}
    return services.record_payment(actor, invoice, data, idempotency_key=key)[0]


# --- drafting -------------------------------------------------------------------------------------


def test_draft_starts_from_the_accepted_quote_at_its_frozen_price(draft):
    line = draft.lines.get()
    assert (line.source, line.code, line.quantity, line.unit_price_cny) == (
        LineSource.QUOTE,
        "MRI-01",
        2,
        Decimal("486.00"),
    )
    assert not line.confirmed
    assert draft.total_cny == Decimal("972.00") and draft.number is None and draft.currency == "USD"


def test_a_case_has_one_invoice_in_force(draft, users, treated_case):
    with pytest.raises(Conflict):
        services.start_invoice(users["finance"], treated_case)


def test_no_invoice_before_the_patient_arrives(case, users):
    with pytest.raises(Conflict) as caught:
        services.start_invoice(users["finance"], case)
    assert caught.value.code == "case_not_billable"


def test_an_extra_needs_a_reason_and_prices_at_the_catalog_of_the_service_day(draft, users, blood):
    with pytest.raises(InvalidInput) as caught:
        services.add_extra(users["finance"], draft, {"item": blood.pk, "quantity": 1})
    assert caught.value.field == "reason"
    line = services.add_extra(users["finance"], draft, {"item": blood.pk, "quantity": 2, "reason": "Pre-op labs"})
    assert line.amount_cny == Decimal("240.00") and line.confirmed and line.kind == "laboratory"
    draft.refresh_from_db()
    assert draft.total_cny == Decimal("1212.00")


def test_a_line_priced_by_hand_is_described_in_both_languages(draft, users):
    with pytest.raises(InvalidInput) as caught:
        services.add_extra(
            users["finance"], draft, {"description": {"en": "Crutches"}, "unit_price": "80", "reason": "Needed"}
        )
    assert caught.value.field == "description"
    line = services.add_extra(
        users["finance"],
        draft,
        {"description": {"en": "Crutches", "zh-hans": "拐杖"}, "unit_price": "80", "reason": "Needed", "kind": "other"},
    )
    assert line.amount_cny == Decimal("80.00")


def test_issuing_needs_every_line_confirmed_and_drops_undelivered_ones(draft, users, blood):
    with pytest.raises(InvalidInput) as caught:
        services.issue_invoice(users["finance"], draft, cover=None)
    assert caught.value.field == "lines"
    services.add_extra(users["finance"], draft, {"item": blood.pk, "quantity": 1, "reason": "Labs"})
    quoted = draft.lines.get(source=LineSource.QUOTE)
    services.confirm_line(users["finance"], draft, quoted.pk, 0)
    invoice = services.issue_invoice(users["finance"], draft, cover=None)
    assert [line.code for line in invoice.lines.all()] == ["LAB-01"]
    assert invoice.total_cny == Decimal("120.00") and invoice.patient_cny == Decimal("120.00")


def test_issued_invoice_is_numbered_per_hospital_and_frozen(draft, users):
    confirm_all(users["finance"], draft)
    invoice = services.issue_invoice(users["finance"], draft, cover=None)
    year = clock.today().year
    assert invoice.number == f"EAST-{year}-00001" and invoice.status == InvoiceStatus.ISSUED
    assert invoice.rate_cny_per_unit == Decimal("7.12345678") and invoice.total_converted == Decimal("136.45")
    with pytest.raises(Conflict) as caught:
        services.add_extra(users["finance"], invoice, {"unit_price": "1", "description": "x", "reason": "y"})
    assert caught.value.code == "invoice_frozen"


def test_only_finance_or_admin_issue(draft, users):
    confirm_all(users["coordinator"], draft)
    with pytest.raises(PermissionDenied):
        services.issue_invoice(users["coordinator"], draft, cover=None)


# --- split ----------------------------------------------------------------------------------------


def test_insurer_pays_up_to_the_approved_guarantee(issued):
    assert (issued.total_cny, issued.insurer_cny, issued.patient_cny) == (
        Decimal("972.00"),
        Decimal("800.00"),
        Decimal("172.00"),
    )
    assert issued.insurer_name == "Global Care Assistance" and issued.guarantee_ref == "PA-777"
    line = issued.lines.get()
    assert line.over_limit_cny == Decimal("172.00") and line.insurer_cny + line.patient_cny == line.amount_cny


def test_without_guarantee_the_patient_pays_all(draft, users):
    confirm_all(users["finance"], draft)
    invoice = services.issue_invoice(users["finance"], draft)
    assert invoice.insurer_id is None and invoice.patient_cny == invoice.total_cny


# --- payments and balance -------------------------------------------------------------------------


def test_balance_is_total_minus_payments_minus_approved_write_offs(issued, users):
    pay(users["finance"], issued, "balance", "172.00", "p1")
    assert services.balances_of(issued).balance == Decimal("800.00")
    pay(users["finance"], issued, "remittance", "750.00", "r1", method="bank_transfer")
    write_off = services.propose_write_off(
        users["finance"], issued, {"part": "insurer", "amount": "50", "reason": "Agreed discount"}
    )
    assert services.balances_of(issued).balance == Decimal("50.00")
    services.decide_write_off(users["hospital_admin"], issued, write_off.pk, approve=True)
    issued.refresh_from_db()
    assert services.balances_of(issued).balance == 0 and issued.status == InvoiceStatus.BALANCED


def test_a_retried_payment_returns_the_same_payment(issued, users):
    data = {"kind": "balance", "method": "card", "reference": "T-1", "amount": "100"}
    first, created = services.record_payment(users["finance"], issued, data, idempotency_key="k-1")
    again, created_again = services.record_payment(users["finance"], issued, data, idempotency_key="k-1")
    assert created and not created_again and first.pk == again.pk
    assert issued.payments.count() == 1
    with pytest.raises(Conflict) as caught:
        services.record_payment(users["finance"], issued, {**data, "amount": "99"}, idempotency_key="k-1")
    assert caught.value.code == "idempotency_mismatch"


def test_a_payment_in_the_patients_currency_counts_in_cny_at_the_days_rate(issued, users):
    payment = pay(users["finance"], issued, "balance", "10.00", "usd", currency="USD")
    assert payment.amount_cny == Decimal("71.23")


def test_a_refund_counts_negative_and_cannot_exceed_what_the_patient_paid(issued, users):
    pay(users["finance"], issued, "deposit", "300", "d1")
    with pytest.raises(InvalidInput):
        pay(users["finance"], issued, "refund", "300.01", "x1")
    pay(users["finance"], issued, "refund", "128", "x2")
    assert services.balances_of(issued).patient_due == 0


def test_a_deposit_may_be_taken_on_a_draft_but_not_a_remittance(draft, users):
    pay(users["finance"], draft, "deposit", "300", "d1")
    with pytest.raises(Conflict):
        pay(users["finance"], draft, "remittance", "300", "r1", method="bank_transfer")


def test_write_offs_need_another_person_and_finance(issued, users):
    write_off = services.propose_write_off(
        users["finance"], issued, {"part": "patient", "amount": "72", "reason": "Goodwill"}
    )
    with pytest.raises(PermissionDenied):
        services.decide_write_off(users["finance"], issued, write_off.pk, approve=True)
    with pytest.raises(PermissionDenied):
        services.decide_write_off(users["coordinator"], issued, write_off.pk, approve=True)
    decided = services.decide_write_off(users["hospital_admin"], issued, write_off.pk, approve=False)
    assert decided.status == WriteOffStatus.REJECTED
    with pytest.raises(InvalidInput):
        services.propose_write_off(users["finance"], issued, {"part": "patient", "amount": "172.01", "reason": "x"})


# --- cancel and reissue ---------------------------------------------------------------------------


def test_cancelling_drafts_a_replacement_that_takes_over_the_payments(issued, users):
    payment = pay(users["finance"], issued, "deposit", "100", "d1")
    replacement = services.cancel_invoice(users["finance"], issued, "Wrong quantity")
    issued.refresh_from_db()
    payment.refresh_from_db()
    assert issued.status == InvoiceStatus.CANCELLED and replacement.replaces_id == issued.pk
    assert replacement.is_draft and payment.invoice_id == replacement.pk
    assert replacement.lines.count() == 1 and replacement.lines.get().insurer_cny == 0
    confirm_all(users["finance"], replacement)
    reissued = services.issue_invoice(users["finance"], replacement)
    assert reissued.number.endswith("00002") and services.balances_of(reissued).patient_due == Decimal("72.00")


# --- claims ---------------------------------------------------------------------------------------


def test_the_insurers_part_goes_out_as_a_fhir_claim(issued, users):
    claim = services.submit_claim(users["finance"], issued)
    bundle = claim.resource
    claims = [entry["resource"] for entry in bundle["entry"] if entry["resource"]["resourceType"] == "Claim"]
    assert claims[0]["use"] == "claim" and claim.amount_cny == Decimal("800.00")
    assert claims[0]["total"]["value"] == 800.0
    with pytest.raises(Conflict):
        services.submit_claim(users["finance"], issued)


def test_a_claim_response_moves_the_unpaid_rest_to_the_patient_or_a_write_off(issued, users):
    claim = services.submit_claim(users["finance"], issued)
    response = services.enter_claim_response(
        users["finance"], claim, [{"sequence": 1, "paid": "700", "adjusted": "100", "reason": "Above usual fee"}]
    )
    assert response.outcome == "partial" and response.resource["resourceType"] == "ClaimResponse"
    owed = services.balances_of(issued)
    assert owed.insurer_due == Decimal("800.00")  # undecided: still the insurer's until finance decides
    services.settle_shortfall(users["finance"], claim, "patient")
    owed = services.balances_of(issued)
    assert (owed.insurer_due, owed.patient_due) == (Decimal("700.00"), Decimal("272.00"))
    assert owed.balance == owed.total


def test_a_rejected_line_can_be_written_off_with_approval(issued, users):
    claim = services.submit_claim(users["finance"], issued)
    services.enter_claim_response(
        users["finance"], claim, [{"sequence": 1, "paid": "0", "rejected": "800", "disposition": "write_off"}]
    )
    write_off = issued.write_offs.get()
    assert write_off.status == WriteOffStatus.PROPOSED and write_off.amount_cny == Decimal("800.00")
    services.decide_write_off(users["hospital_admin"], issued, write_off.pk, approve=True)
    assert services.balances_of(issued).insurer_due == 0


def test_claim_response_lines_must_add_up(issued, users):
    claim = services.submit_claim(users["finance"], issued)
    with pytest.raises(InvalidInput):
        services.enter_claim_response(users["finance"], claim, [{"sequence": 1, "paid": "700", "adjusted": "50"}])
    with pytest.raises(InvalidInput):
        services.enter_claim_response(users["finance"], claim, [{"sequence": 9, "paid": "1"}])


def test_cancelling_an_invoice_cancels_its_claim(issued, users):
    claim = services.submit_claim(users["finance"], issued)
    services.cancel_invoice(users["finance"], issued, "Wrong")
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.CANCELLED


# --- who sees which -------------------------------------------------------------------------------


def test_other_hospitals_staff_and_other_insurers_see_nothing(issued, users, agents, other_patient):
    claim = services.submit_claim(users["finance"], issued)
    for actor in (users["other_admin"], users["other_coordinator"], agents["other"], users["clinician"]):
        with pytest.raises(NotFound):
            services.get_invoice(actor, issued.pk)
        with pytest.raises(NotFound):
            services.get_claim(actor, claim.pk)
    assert services.get_claim(agents["mine"], claim.pk) == claim
    assert services.get_invoice(agents["mine"], issued.pk) == issued
    assert services.get_invoice(users["patient"], issued.pk) == issued
    with pytest.raises(NotFound):
        services.get_invoice(other_patient.user, issued.pk)


def test_a_patient_never_sees_a_draft(draft, users):
    with pytest.raises(NotFound):
        services.get_invoice(users["patient"], draft.pk)


def test_other_hospital_staff_cannot_change_an_invoice(draft, users):
    with pytest.raises(PermissionDenied):
        services.add_extra(users["other_admin"], draft, {"unit_price": "1", "description": "x", "reason": "y"})
    with pytest.raises(PermissionDenied):
        pay(users["other_admin"], draft, "deposit", "1", "z")


# --- receivables and closing ----------------------------------------------------------------------


def test_receivables_by_insurer_and_age(issued, users):
    result = services.receivables(users["finance"], on=issued.issue_date + datetime.timedelta(days=45))
    by_payer = {entry["payer"]: entry for entry in result.by_payer}
    assert by_payer["Global Care Assistance"]["31-60"] == Decimal("800.00")
    assert by_payer["patient"]["total"] == Decimal("172.00") and result.total == Decimal("972.00")
    assert "EAST-" in services.receivables_csv(users["finance"])
    with pytest.raises(PermissionDenied):
        services.receivables(users["coordinator"])


def test_a_case_cannot_close_with_an_unexplained_balance(issued, users, insured):
    with pytest.raises(Conflict) as caught:
        move(users["coordinator"], insured, "closed")
    assert caught.value.code == "unexplained_balance"
    insured.refresh_from_db()
    assert insured.state == "discharged"
    pay(users["finance"], issued, "balance", "172", "p")
    pay(users["finance"], issued, "remittance", "800", "r", method="bank_transfer")
    assert move(users["coordinator"], insured, "closed").state == "closed"


def test_a_draft_invoice_also_blocks_closing(draft, users, treated_case):
    with pytest.raises(Conflict):
        move(users["coordinator"], treated_case, "closed")


def test_a_case_without_invoice_closes(users, case):
    from laihua.cases.models import Case

    Case.objects.filter(pk=case.pk).update(state="discharged")
    case.refresh_from_db()
    assert move(users["coordinator"], case, "closed").state == "closed"


# --- the contract's rules and the insurer's own answer --------------------------------------------


def test_the_contracts_excess_copayment_and_covered_kinds_shape_the_split(insured, users, blood):
    from laihua.insurance.models import Contract

    Contract.objects.filter(coverages__case=insured).update(
        covered_kinds=["imaging"], copay_percent=Decimal("10"), excess_cny=Decimal("100")
    )
    invoice = services.start_invoice(users["finance"], insured)
    services.add_extra(users["finance"], invoice, {"item": blood.pk, "quantity": 1, "reason": "Labs"})
    confirm_all(users["finance"], invoice)
    # The insurer would get 784.80 of the 800 guaranteed: finance is told why, line by line, before issuing.
    with pytest.raises(services.InsurerShortfall) as caught:
        services.issue_invoice(users["finance"], invoice)
    assert "excess 100.00 CNY" in caught.value.message and "LAB-01" in caught.value.message
    assert Invoice.objects.get(pk=invoice.pk).status == "draft"
    invoice = services.issue_invoice(users["finance"], invoice, confirm_shortfall=True)
    mri, lab = invoice.lines.order_by("position")
    # MRI 972: excess 100, co-payment 10 % of 872 = 87.20, the insurer 784.80 (within the 800 guaranteed).
    assert (mri.excess_cny, mri.copay_cny, mri.insurer_cny) == (Decimal("100.00"), Decimal("87.20"), Decimal("784.80"))
    assert (lab.not_covered_cny, lab.insurer_cny) == (Decimal("120.00"), Decimal("0.00"))
    assert invoice.patient_cny == Decimal("307.20") and invoice.rules["copay_percent"] == "10.00"


def test_the_insurers_agent_answers_a_claim_in_fhir(issued, users, agents):
    from laihua.billing.flows import record_claim_response
    from laihua.insurance import fhir as insurance_fhir

    claim = services.submit_claim(users["finance"], issued)
    answer = insurance_fhir.claim_response(
        request_identifier=claim.number,
        status="partial",
        created=clock.now(),
        insurer_name="Global Care Assistance",
        use="claim",
        amount=Decimal("700"),
        currency="CNY",
        items=[(1, "partial", Decimal("700"))],
    )
    with pytest.raises(NotFound):
        record_claim_response(agents["other"], answer)
    record_claim_response(agents["mine"], answer)
    claim.refresh_from_db()
    assert claim.response.paid_cny == Decimal("700.00") and claim.response.adjusted_cny == Decimal("100.00")
    assert services.balances_of(issued).insurer_due == Decimal("800.00")  # until finance decides about the 100
    services.settle_shortfall(users["finance"], claim, "write_off", reason="Tariff agreement")
    assert issued.write_offs.get().amount_cny == Decimal("100.00")


# --- what was delivered: the bookings ----------------------------------------------------------------


def _booked(case, item, day, actor):
    from laihua.capacity.models import Booking, BookingRequest, Resource

    resource = Resource.objects.get_or_create(
        hospital=case.hospital,
        code="room-1",
        defaults={"name": {"en": "Room", "zh-hans": "房间"}, "kind": "clinic_session", "unit": "slot"},
    )[0]
    request = BookingRequest.objects.create(
        hospital=case.hospital, idempotency_key=f"b-{item.code}", case=case, item=item, start_day=day, created_by=actor
    )
    Booking.objects.create(request=request, case=case, item=item, resource=resource, day=day, units=1, created_by=actor)
    return request


def test_the_draft_takes_booked_services_at_the_catalog_price_of_their_day(treated_case, users, mri, blood):
    day = clock.today() - datetime.timedelta(days=2)
    _booked(treated_case, mri, day, users["coordinator"])
    _booked(treated_case, blood, day, users["coordinator"])
    invoice = services.start_invoice(users["finance"], treated_case)
    quoted, booked = invoice.lines.order_by("position")
    assert (quoted.source, quoted.service_date, quoted.booking_request.item) == (LineSource.QUOTE, day, mri)
    assert (booked.source, booked.code, booked.unit_price_cny, booked.service_date) == (
        LineSource.BOOKING,
        "LAB-01",
        Decimal("120.00"),
        day,
    )


def test_a_guarantee_valid_for_the_stay_pays_an_invoice_issued_after_it(insured, users, mri):
    from laihua.insurance.models import Guarantee

    stay = clock.today() - datetime.timedelta(days=5)
    Guarantee.objects.update(valid_from=stay, valid_until=stay + datetime.timedelta(days=2))
    _booked(insured, mri, stay, users["coordinator"])
    invoice = services.start_invoice(users["finance"], insured)
    confirm_all(users["finance"], invoice)
    assert services.issue_invoice(users["finance"], invoice).insurer_cny == Decimal("800.00")
