"""The insurer's share under the guarantee of the case's stay: a GOP whose validity lies before or after the day the
invoice is drafted still pays every line of that stay (extras priced by hand included); the insurer's decisions on
single lines cap what it pays for them; a shortfall is named before issue and needs finance's confirmation; a draft
shows its split before it is issued."""

import datetime
from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from laihua.audit.models import AuditEvent
from laihua.billing import services
from laihua.billing.models import Invoice, InvoiceStatus
from laihua.cases.services import move
from laihua.insurance import services as insurance
from laihua.insurance.models import Contract, Coverage, Guarantee
from laihua.kit import clock
from laihua.quotes import services as quotes

from .conftest import confirm_all, walk

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)


def issue(users, case, *, extras=(), **options):
    invoice = services.start_invoice(users["finance"], case)
    for extra in extras:
        services.add_extra(users["finance"], invoice, extra)
    confirm_all(users["finance"], invoice)
    return services.issue_invoice(users["finance"], invoice, **options)


INTERPRETER_EXTRA = {
    "code": "INT-01",
    "kind": "other",
    "description": {"en": "Interpreter, extra session", "zh-hans": "翻译（加时）"},
    "unit_price": "300",
    "reason": "Second consultation",
}


# --- the guarantee of the stay, whatever the dates ------------------------------------------------


@pytest.mark.parametrize(
    ("valid_from", "valid_until"),
    [(10, 40), (-40, -10)],
    ids=["validity-starts-after-today", "validity-ended-before-today"],
)
def test_a_guarantee_pays_its_stay_whatever_the_day_of_issue_and_the_lines_dates(
    insured, users, valid_from, valid_until
):
    """The lines are dated today (quoted lines drafted today, an extra priced by hand): the GOP's validity
    does not include today, yet it is the guarantee of this stay and the insurer pays its share."""
    today = clock.today()
    Guarantee.objects.filter(case=insured).update(
        valid_from=today + valid_from * DAY,
        valid_until=today + valid_until * DAY,
        planned_start=today + valid_from * DAY,
        planned_end=today + valid_until * DAY,
    )
    extra = {**INTERPRETER_EXTRA, "code": "INT-9", "unit_price": "100"}
    invoice = issue(users, insured, extras=[extra])
    assert invoice.insurer_cny == Decimal("800.00") and invoice.guarantee_ref == "PA-777"
    assert invoice.patient_cny == Decimal("272.00")  # 972 + 100 - 800 above the guarantee


def test_the_latest_granted_guarantee_of_the_case_pays_even_after_a_later_denial(insured, users):
    approved = Guarantee.objects.get(case=insured)
    Guarantee.objects.create(
        **{
            field.name: getattr(approved, field.name)
            for field in Guarantee._meta.concrete_fields
            if field.name
            not in ("id", "number", "status", "reference", "approved_amount", "answered_at", "disposition")
        },
        number="GOP-TEST-2",
        status="denied",
        disposition="Extension not needed",
        answered_at=clock.now(),
    )
    Guarantee.objects.filter(pk=approved.pk).update(answered_at=clock.now() - DAY)
    assert insurance.guarantee_for_stay(insured) == approved
    assert issue(users, insured).insurer_cny == Decimal("800.00")


def test_a_booked_service_outside_the_guarantees_stay_is_the_patients(insured, users, mri):
    """The MRI was booked (a real service date) two days ago, for a stay the GOP approved next month: it is not
    that stay, so the insurer's part is 0 and finance is told before issuing."""
    from .test_services import _booked

    today = clock.today()
    Guarantee.objects.filter(case=insured).update(
        planned_start=today + 30 * DAY,
        planned_end=today + 40 * DAY,
        valid_from=today + 30 * DAY,
        valid_until=today + 60 * DAY,
    )
    _booked(insured, mri, today - 2 * DAY, users["coordinator"])
    invoice = services.start_invoice(users["finance"], insured)
    confirm_all(users["finance"], invoice)
    with pytest.raises(services.InsurerShortfall) as caught:
        services.issue_invoice(users["finance"], invoice)
    assert "outside the stay the guarantee covers" in caught.value.message
    invoice = services.issue_invoice(users["finance"], invoice, confirm_shortfall=True)
    line = invoice.lines.get()
    assert (line.insurer_cny, line.declined_cny, line.insurer_decision) == (0, Decimal("972.00"), "outside_stay")


# --- per-line decisions: a partial GOP with a declined line ---------------------------------------


def accepted_and_covered(case, users, mri, hospital, insurer):
    """The case with a quote of the MRI twice (10 % off for a returning patient) and an interpreter priced by
    hand, sent and accepted, and covered by the insurer (direct billing); returns the case."""
    coordinator = users["coordinator"]
    case = move(coordinator, case, "triage")
    quote = quotes.create_draft(coordinator, case, {"valid_until": clock.today() + 30 * DAY, "deposit": "0"})
    quotes.add_line(
        coordinator,
        quote,
        {"item": mri.pk, "quantity": 2, "discount_percent": "10", "discount_reason": "Returning patient"},
    )
    quotes.add_line(
        coordinator,
        quote,
        {
            "code": "INT-01",
            "description": {"en": "Medical interpreter (English)", "zh-hans": "医学翻译（英语）"},
            "unit_price": "500",
            "quantity": 1,
        },
    )
    quotes.send_quote(coordinator, quote)
    quotes.accept_quote(users["patient"], quote)
    today = clock.today()
    Contract.objects.create(hospital=hospital, insurer=insurer, direct_billing=True, currency="CNY")
    insurance.record_coverage(
        coordinator,
        case,
        {
            "insurer": insurer.code,
            "member_id": "GC-9",
            "valid_from": (today - 365 * DAY).isoformat(),
            "valid_until": (today + 365 * DAY).isoformat(),
        },
    )
    return case


@pytest.fixture
def partial_case(case, users, mri, hospital, insurer, agents, rates_today):
    """A quote with the MRI twice (10 % off for a returning patient) and an interpreter priced by hand; the GOP
    was asked for a stay starting in ten days and partly approved (1,200 CNY): the interpreter declined."""
    coordinator = users["coordinator"]
    case = accepted_and_covered(case, users, mri, hospital, insurer)
    today = clock.today()
    insurance.grant_gop_consent(case.patient.user, case)  # the patient's consent to send their data to the insurer
    gop = insurance.send_guarantee_request(
        coordinator,
        case,
        {
            "diagnosis_code": "S83.2",
            "diagnosis_text": "Meniscus tear",
            "treating_doctor": "Dr Li",
            "planned_start": (today + 10 * DAY).isoformat(),
            "planned_end": (today + 20 * DAY).isoformat(),
        },
    )
    insurance.answer_guarantee_request(
        agents["mine"],
        gop,
        {
            "status": "partial",
            "reference": "PA-900",
            "amount": "1200",
            "currency": "CNY",
            "valid_from": (today + 10 * DAY).isoformat(),
            "valid_until": (today + 40 * DAY).isoformat(),
            "lines": [{"sequence": 2, "decision": "declined", "reason": "Interpreting is not a medical service"}],
        },
    )
    case.refresh_from_db()
    return walk(case, users, "scheduled", "arrived", "in_treatment", "discharged")


def test_a_declined_line_goes_to_the_patient_with_the_insurers_reason(partial_case, users, blood):
    """MRI 874.80 (after the discount) is approved; the interpreter (quoted, and a second session added by hand
    with the same code) is declined; a blood count the GOP never named shares what is left of the 1,200."""
    labs = {"item": blood.pk, "quantity": 1, "reason": "Pre-op labs"}
    with pytest.raises(services.InsurerShortfall) as caught:
        issue(users, partial_case, extras=[INTERPRETER_EXTRA, labs])
    warning = caught.value.message
    assert "994.80 CNY of the 1,200.00 CNY its guarantee PA-900 allows" in warning
    assert "INT-01" in warning and "declined by the insurer (“Interpreting is not a medical service”)" in warning
    assert "MRI-01" not in warning and "LAB-01" not in warning
    assert caught.value.field == "confirm_shortfall"
    assert not Invoice.objects.filter(case=partial_case, status=InvoiceStatus.ISSUED).exists()

    invoice = Invoice.objects.get(case=partial_case)
    invoice = services.issue_invoice(users["finance"], invoice, confirm_shortfall=True, seen_insurer_cny="994.80")
    mri, interpreter, extra, labs = invoice.lines.order_by("position")
    assert (mri.amount_cny, mri.insurer_cny, mri.discount_reason) == (
        Decimal("874.80"),
        Decimal("874.80"),
        "Returning patient",
    )
    for line in (interpreter, extra):
        assert line.insurer_cny == 0 and line.declined_cny == line.amount_cny == line.patient_cny
        assert (line.gop_sequence, line.insurer_decision) == (2, "declined")
        assert line.insurer_reason == "Interpreting is not a medical service"
    assert (labs.insurer_cny, labs.gop_sequence) == (Decimal("120.00"), None)
    assert invoice.insurer_cny == Decimal("994.80") and invoice.patient_cny == Decimal("800.00")
    event = AuditEvent.objects.get(action="invoice.issue", object_id=str(invoice.pk))
    assert [entry["line"] for entry in event.detail["shortfall_confirmed"]["lines"]] == [2, 3]


def test_a_reduced_line_pays_what_was_approved_for_it(partial_case, users):
    from laihua.insurance.models import GuaranteeLine

    GuaranteeLine.objects.filter(guarantee__case=partial_case, sequence=1).update(
        review_action="A2", approved_amount=Decimal("600.00"), reason="Tariff for one region"
    )
    invoice = issue(users, partial_case, confirm_shortfall=True)
    mri = invoice.lines.get(position=1)
    assert (mri.insurer_cny, mri.declined_cny, mri.insurer_decision) == (
        Decimal("600.00"),
        Decimal("274.80"),
        "reduced",
    )


def test_a_shortfall_confirmed_on_an_old_split_is_refused(partial_case, users):
    invoice = services.start_invoice(users["finance"], partial_case)
    confirm_all(users["finance"], invoice)
    with pytest.raises(services.SplitChanged):
        services.issue_invoice(users["finance"], invoice, confirm_shortfall=True, seen_insurer_cny="1200.00")
    assert Invoice.objects.get(pk=invoice.pk).status == InvoiceStatus.DRAFT


def test_a_draft_shows_its_split_before_issue_without_storing_it(partial_case, users, client):
    from laihua.accounts.services import create_api_token

    finance = users["finance"]
    invoice = services.start_invoice(finance, partial_case)
    services.add_extra(finance, invoice, INTERPRETER_EXTRA)
    token = create_api_token(finance, finance, "test")[1]
    body = client.get(f"/api/billing/invoices/{invoice.pk}", headers={"Authorization": f"Bearer {token}"}).json()
    split = body["split"]
    assert split["computed"] and split["shortfall"] and split["guarantee_ref"] == "PA-900"
    assert (split["insurer_cny"], split["patient_cny"], split["allowed_cny"]) == ("874.80", "800.00", "1200.00")
    interpreter = split["lines"][1]
    assert interpreter["insurer_decision"] == "declined" and interpreter["reasons"][0]["code"] == "declined"
    assert "Interpreting is not a medical service" in interpreter["reasons"][0]["text"]
    assert all(line["insurer_cny"] == "0.00" for line in body["lines"])  # nothing stored yet
    assert Invoice.objects.get(pk=invoice.pk).insurer_cny == 0

    client.force_login(finance)
    page = client.get(f"/en/billing/invoices/{invoice.pk}/").content.decode()
    assert 'id="shortfall"' in page and "Interpreting is not a medical service" in page
    assert 'name="confirm_shortfall"' in page and 'name="insurer_cny" value="874.80"' in page
    assert "Returning patient" in page and "−CN¥97.20" in page


def test_the_page_issues_only_with_the_confirmation(partial_case, users, client):
    finance = users["finance"]
    invoice = services.start_invoice(finance, partial_case)
    confirm_all(finance, invoice)
    client.force_login(finance)
    client.post(f"/en/billing/invoices/{invoice.pk}/issue/")
    assert Invoice.objects.get(pk=invoice.pk).status == InvoiceStatus.DRAFT
    client.post(f"/en/billing/invoices/{invoice.pk}/issue/", {"confirm_shortfall": "1", "insurer_cny": "874.80"})
    assert Invoice.objects.get(pk=invoice.pk).status == InvoiceStatus.ISSUED


@pytest.mark.parametrize("how", ["body", "query"])
def test_the_api_issues_only_with_the_confirmation(partial_case, users, client, how):
    from laihua.accounts.services import create_api_token

    finance = users["finance"]
    invoice = services.start_invoice(finance, partial_case)
    confirm_all(finance, invoice)
    headers = {"Authorization": f"Bearer {create_api_token(finance, finance, 'test')[1]}"}
    url = f"/api/billing/invoices/{invoice.pk}/issue"
    refused = client.post(url, {}, content_type="application/json", headers=headers)
    assert refused.status_code == 409 and refused.json()["error"] == "insurer_shortfall"
    assert "Interpreting is not a medical service" in refused.json()["detail"]
    if how == "body":
        issued = client.post(url, {"confirm_shortfall": True}, content_type="application/json", headers=headers)
    else:
        issued = client.generic("POST", f"{url}?confirm_shortfall=true", b"", content_type="", headers=headers)
    assert issued.status_code == 200 and issued.json()["insurer_cny"] == "874.80"


def test_no_warning_when_the_insurer_gets_all_the_guarantee_allows(issued):
    assert not services.stored_split(issued).shortfall
    assert AuditEvent.objects.get(action="invoice.issue").detail.get("shortfall_confirmed") is None


def test_a_guarantee_without_direct_billing_is_named_before_issue(insured, users):
    Contract.objects.filter(coverages__case=insured).update(direct_billing=False)
    with pytest.raises(services.InsurerShortfall) as caught:
        issue(users, insured)
    assert "the insurer's contract has no direct billing" in caught.value.message
    assert Coverage.objects.filter(case=insured).exists()


# --- whatever the insurer decides, the split holds ------------------------------------------------

money = st.decimals(min_value=0, max_value=Decimal("5000"), places=2)
line_decision = st.one_of(
    st.tuples(st.sampled_from(["A1", "A2"]), st.one_of(st.none(), money)),
    st.tuples(st.sampled_from(["A3", "A4", ""]), st.none()),
)


class Rollback(Exception):
    pass


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    first=line_decision,
    second=line_decision,
    approved=money,
    extras=st.lists(st.tuples(money, st.sampled_from(["INT-01", "MRI-01", "X-1"])), max_size=4),
)
def test_the_insurer_never_gets_more_than_approved_per_line_and_in_all(
    partial_case, users, first, second, approved, extras
):
    from laihua.insurance.models import GuaranteeLine

    try:
        with transaction.atomic():
            gop = Guarantee.objects.get(case=partial_case)
            Guarantee.objects.filter(pk=gop.pk).update(approved_amount=approved)
            for sequence, (action, amount) in ((1, first), (2, second)):
                GuaranteeLine.objects.filter(guarantee=gop, sequence=sequence).update(
                    review_action=action, approved_amount=amount
                )
            given_extras = [
                {"code": code, "kind": "other", "description": "Extra", "unit_price": amount, "reason": "Given"}
                for amount, code in extras
            ]
            invoice = issue(users, partial_case, extras=given_extras, confirm_shortfall=True)
            lines = list(invoice.lines.all())
            caps = {1: first, 2: second}
            for line in lines:
                parts = (line.not_covered_cny, line.excess_cny, line.copay_cny, line.declined_cny, line.over_limit_cny)
                assert line.insurer_cny + sum(parts) == line.amount_cny and line.patient_cny == sum(parts)
                assert min(parts + (line.insurer_cny,)) >= 0
            for sequence, (action, amount) in caps.items():
                paid = sum((line.insurer_cny for line in lines if line.gop_sequence == sequence), Decimal(0))
                if action in ("A3", "A4"):
                    assert paid == 0
                elif amount is not None:
                    assert paid <= amount
            assert invoice.insurer_cny == sum((line.insurer_cny for line in lines), Decimal(0)) <= approved
            assert invoice.insurer_cny + invoice.patient_cny == invoice.total_cny
            raise Rollback
    except Rollback:
        pass


def test_more_delivered_than_approved_for_a_line_is_the_patients(partial_case, users):
    """The MRI was approved at the quoted 874.80 (two regions); a third region is added as an extra of the same
    service: what the GOP line approved is shared, the rest is not approved."""
    from laihua.insurance.models import GuaranteeLine

    GuaranteeLine.objects.filter(guarantee__case=partial_case, sequence=1).update(approved_amount=Decimal("874.80"))
    third = {"code": "MRI-01", "kind": "imaging", "description": "MRI, third region", "unit_price": "486"}
    invoice = issue(users, partial_case, extras=[{**third, "reason": "Third region"}], confirm_shortfall=True)
    mri, _interpreter, extra = invoice.lines.order_by("position")
    assert (mri.insurer_cny, extra.insurer_cny, extra.declined_cny) == (Decimal("874.80"), 0, Decimal("486.00"))
    assert (extra.gop_sequence, extra.insurer_decision) == (1, "reduced")


def test_a_line_priced_by_hand_on_the_page_takes_the_code_of_the_declined_service(partial_case, users, client):
    """The page's form for a line priced by hand carries the code of the quoted service it repeats, so the insurer's
    decline of the interpreter applies to a second session added by hand."""
    finance = users["finance"]
    invoice = services.start_invoice(finance, partial_case)
    client.force_login(finance)
    assert 'name="code"' in client.get(f"/en/billing/invoices/{invoice.pk}/").content.decode()
    client.post(
        f"/en/billing/invoices/{invoice.pk}/lines/",
        {
            "code": "INT-01",
            "description_en": "Interpreter, at discharge",
            "description_zh": "出院翻译",
            "quantity": "1",
            "unit_price": "300",
            "service_date": "",
            "reason": "Asked at discharge",
        },
    )
    line = invoice.lines.get(source="extra")
    assert line.code == "INT-01"
    shown = services.split_of(invoice)
    added = next(entry for entry in shown.lines if entry.pk == line.pk)
    assert (added.insurer_cny, added.insurer_decision) == (0, "declined")
