"""Every invoice adds up: each line's parts make its amount, the lines make the parts and the total, and the
balance is always the total minus payments (refunds negative) minus approved write-offs, whatever happens."""

from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from laihua.billing import arithmetic, services
from laihua.billing.arithmetic import Rules
from laihua.billing.models import InvoiceStatus, PaymentKind, WriteOffStatus
from laihua.errors import DomainError

from .conftest import confirm_all

amounts = st.decimals(min_value=0, max_value=Decimal("999999.99"), places=2)
kinds = st.sampled_from(["imaging", "procedure", "laboratory", "inpatient_day"])
lines_ = st.lists(st.tuples(amounts, kinds), max_size=25)
rules_ = st.builds(
    Rules,
    covered_kinds=st.one_of(st.none(), st.frozensets(kinds)),
    copay_percent=st.decimals(min_value=0, max_value=100, places=2),
    excess_cny=st.decimals(min_value=0, max_value=Decimal("50000"), places=2),
    limit_cny=st.one_of(st.none(), st.decimals(min_value=0, max_value=Decimal("2000000"), places=2)),
)


@given(lines=lines_, rules=rules_)
def test_each_lines_parts_add_up_and_the_insurer_stays_within_the_guarantee(lines, rules):
    splits = arithmetic.split_lines(lines, rules)
    for split, (amount, kind) in zip(splits, lines, strict=True):
        assert split.insurer + split.patient == split.amount == amount
        parts = (split.not_covered, split.excess, split.copay, split.over_limit, split.insurer)
        assert all(part >= 0 and part == part.quantize(Decimal("0.01")) for part in parts)
        if rules.covered_kinds is not None and kind not in rules.covered_kinds:
            assert split.insurer == 0 and split.not_covered == amount
    assert sum((s.insurer for s in splits), Decimal(0)) <= (rules.limit_cny or 0)
    assert sum((s.excess for s in splits), Decimal(0)) <= rules.excess_cny


keys = st.one_of(st.none(), st.integers(min_value=1, max_value=4))
capped_lines = st.lists(st.tuples(amounts, kinds, keys), max_size=25)
caps_ = st.dictionaries(
    st.integers(min_value=1, max_value=5), st.decimals(min_value=0, max_value=Decimal("900000"), places=2)
)


@given(lines=capped_lines, rules=rules_, caps=caps_)
def test_per_line_caps_hold_and_the_parts_still_add_up(lines, rules, caps):
    """A GOP line's approved amount caps what the insurer pays for the invoice lines matched to it (together);
    the approved total caps the whole; the lines the GOP named come before the extras; nothing is lost."""
    splits = arithmetic.split_lines(lines, rules, caps)
    fen = Decimal("0.01")
    for split, (amount, kind, key) in zip(splits, lines, strict=True):
        assert split.insurer + split.patient == split.amount == amount
        parts = (split.not_covered, split.excess, split.copay, split.declined, split.over_limit, split.insurer)
        assert all(part >= 0 and part == part.quantize(fen) for part in parts)
        if rules.covered_kinds is not None and kind not in rules.covered_kinds:
            assert split.insurer == 0 and split.not_covered == amount
        if key not in caps:
            assert split.declined == 0
    for key, cap in caps.items():
        assert sum((s.insurer for s, line in zip(splits, lines, strict=True) if line[2] == key), Decimal(0)) <= cap
    paid = sum((s.insurer for s in splits), Decimal(0))
    assert paid <= (rules.limit_cny or 0)
    assert sum((s.excess for s in splits), Decimal(0)) <= rules.excess_cny
    # Nothing is held back: either the approved total is used up or no line is above it.
    assert paid == (rules.limit_cny or 0) or all(s.over_limit == 0 for s in splits)
    # An extra (no GOP line) is paid only from what the named lines left of the approved total.
    if any(s.insurer for s, line in zip(splits, lines, strict=True) if line[2] is None):
        assert all(s.over_limit == 0 for s, line in zip(splits, lines, strict=True) if line[2] is not None)


@given(lines=lines_, rules=rules_)
def test_without_caps_the_split_is_the_contracts_alone(lines, rules):
    """Lines without a GOP line (or a guarantee without lines) split exactly as before per-line caps existed."""
    plain = arithmetic.split_lines(lines, rules)
    keyed = arithmetic.split_lines([(amount, kind, None) for amount, kind in lines], rules, {})
    assert plain == keyed and all(s.declined == 0 for s in plain)


def test_a_declined_line_goes_to_the_patient_and_leaves_the_guarantee_to_the_others():
    rules = Rules(copay_percent=Decimal("10"), excess_cny=Decimal("100"), limit_cny=Decimal("1000"))
    lines = [(Decimal("972.00"), "imaging", 1), (Decimal("500.00"), "other", 2), (Decimal("300.00"), "other", None)]
    mri, interpreter, extra = arithmetic.split_lines(lines, rules, {2: Decimal("0")})
    assert (interpreter.insurer, interpreter.declined, interpreter.excess) == (0, Decimal("500.00"), 0)
    assert (mri.excess, mri.copay, mri.insurer) == (Decimal("100.00"), Decimal("87.20"), Decimal("784.80"))
    assert (extra.copay, extra.insurer, extra.over_limit) == (Decimal("30.00"), Decimal("215.20"), Decimal("54.80"))


def test_a_reduced_line_gives_the_insurer_what_was_approved_for_it():
    rules = Rules(limit_cny=Decimal("5000"))
    (reduced,) = arithmetic.split_lines([(Decimal("880.00"), "imaging", 7)], rules, {7: Decimal("600.00")})
    assert (reduced.insurer, reduced.declined, reduced.patient) == (
        Decimal("600.00"),
        Decimal("280.00"),
        Decimal("280.00"),
    )


money = st.decimals(min_value=0, max_value=Decimal("99999.99"), places=2)


@given(insurer=money, patient=money, moved=money, pp=money, ip=money, pw=money, iw=money)
def test_the_two_payers_balances_make_the_invoices_balance(insurer, patient, moved, pp, ip, pw, iw):
    result = arithmetic.balances(
        insurer_part=insurer,
        patient_part=patient,
        moved_to_patient=moved,
        patient_paid=pp,
        insurer_paid=ip,
        patient_written_off=pw,
        insurer_written_off=iw,
    )
    assert result.insurer_due + result.patient_due == result.balance
    assert result.balance == insurer + patient - pp - ip - pw - iw


# --- the same on the database, through the services -----------------------------------------------

operations = st.lists(
    st.one_of(
        st.tuples(
            st.just("pay"), st.sampled_from(["deposit", "balance", "refund", "remittance"]), money, st.booleans()
        ),
        st.tuples(st.just("write_off"), st.sampled_from(["patient", "insurer"]), money, st.booleans()),
        st.tuples(st.just("claim"), money, st.sampled_from(["patient", "write_off", ""])),
    ),
    max_size=12,
)


class Rollback(Exception):
    pass


@pytest.mark.django_db
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(extra=st.lists(st.tuples(money, kinds), max_size=4), ops=operations)
def test_an_invoice_always_adds_up_whatever_is_recorded(insured, users, extra, ops):
    try:
        with transaction.atomic():
            invoice = services.start_invoice(users["finance"], insured)
            for amount, kind in extra:
                data = {"description": "Extra", "unit_price": amount, "reason": "Given", "kind": kind}
                services.add_extra(users["finance"], invoice, data)
            confirm_all(users["finance"], invoice)
            invoice = services.issue_invoice(users["finance"], invoice)
            _check(invoice)
            for n, op in enumerate(ops):
                _apply(users, invoice, n, op)
                invoice.refresh_from_db()
                _check(invoice)
            raise Rollback
    except Rollback:
        pass


def _apply(users, invoice, n, op):
    finance, admin = users["finance"], users["hospital_admin"]
    try:
        with transaction.atomic():
            if op[0] == "pay":
                data = {"kind": op[1], "method": "card", "reference": f"r{n}", "amount": op[2]}
                services.record_payment(finance, invoice, data, idempotency_key=f"k{n}")
            elif op[0] == "write_off":
                write_off = services.propose_write_off(
                    finance, invoice, {"part": op[1], "amount": op[2], "reason": "x"}
                )
                services.decide_write_off(admin, invoice, write_off.pk, approve=op[3])
            else:
                claim = services.submit_claim(finance, invoice)
                lines = [
                    {"sequence": line.position, "paid": min(op[1], line.insurer_cny), "disposition": op[2]}
                    for line in invoice.lines.filter(insurer_cny__gt=0)
                ]
                services.enter_claim_response(finance, claim, lines)
    except DomainError:
        pass  # refused (an amount too large, a second claim...): nothing written, still adds up


def _check(invoice):
    lines = list(invoice.lines.all())
    for line in lines:
        assert line.insurer_cny + line.patient_cny == line.amount_cny
        assert line.not_covered_cny + line.excess_cny + line.copay_cny + line.over_limit_cny == line.patient_cny
    assert sum((line.amount_cny for line in lines), Decimal(0)) == invoice.total_cny
    assert sum((line.insurer_cny for line in lines), Decimal(0)) == invoice.insurer_cny
    assert invoice.insurer_cny + invoice.patient_cny == invoice.total_cny
    owed = services.balances_of(invoice)
    payments = sum((p.signed_cny for p in invoice.payments.all()), Decimal(0))
    exchange = sum((p.exchange_difference_cny for p in invoice.payments.all()), Decimal(0))
    approved = sum((w.amount_cny for w in invoice.write_offs.filter(status=WriteOffStatus.APPROVED)), Decimal(0))
    assert owed.balance == invoice.total_cny - payments + exchange - approved
    assert owed.insurer_due + owed.patient_due == owed.balance
    refunds = sum((p.amount_cny for p in invoice.payments.filter(kind=PaymentKind.REFUND)), Decimal(0))
    assert refunds <= sum(
        (p.amount_cny for p in invoice.payments.filter(payer="patient").exclude(kind="refund")), Decimal(0)
    )
    settled = owed.insurer_due == 0 and owed.patient_due == 0
    assert (invoice.status == InvoiceStatus.BALANCED) == settled
