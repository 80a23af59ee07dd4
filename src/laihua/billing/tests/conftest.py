"""Billing's fixtures: a discharged case with an accepted quote (MRI x2 at 486 CNY), a booked extra service,
an insurer with a contract, the patient's coverage, their consent to send health data to the insurer and an
approved guarantee, agents of two insurers."""

import datetime
from decimal import Decimal

import pytest

from laihua.accounts.models import Role
from laihua.billing import services
from laihua.cases.services import move
from laihua.insurance.models import Contract, Coverage, Guarantee, Insurer, InsurerAgent
from laihua.insurance.services import grant_gop_consent
from laihua.kit import clock
from laihua.quotes import services as quotes
from laihua.rates.models import ExchangeRate
from tests.builders import make_case, make_item, make_user

USD = Decimal("7.12345678")


@pytest.fixture
def rates_today(db):
    today = clock.today()
    ExchangeRate.objects.create(currency="USD", rate_date=today, cny_per_unit=USD, source="Test rates")
    ExchangeRate.objects.create(currency="EUR", rate_date=today, cny_per_unit=Decimal("7.8"), source="Test rates")
    return {"USD": USD}


def walk(case, users, *states):
    for state in states:
        case = move(users["coordinator"], case, state)
    return case


@pytest.fixture
def treated_case(case, users, mri, rates_today):
    """The patient's MRI case: quote accepted (MRI x2), then scheduled, arrived, treated and discharged."""
    case = move(users["coordinator"], case, "triage")
    quote = quotes.create_draft(
        users["coordinator"], case, {"valid_until": clock.today() + datetime.timedelta(days=30), "deposit": "300"}
    )
    quotes.add_line(users["coordinator"], quote, {"item": mri.pk, "quantity": 2})
    quotes.send_quote(users["coordinator"], quote)
    quotes.accept_quote(users["patient"], quote)
    case.refresh_from_db()
    return walk(case, users, "scheduled", "arrived", "in_treatment", "discharged")


@pytest.fixture
def blood(hospital):
    return make_item(
        hospital,
        code="LAB-01",
        kind="laboratory",
        price=Decimal("120.00"),
        en="Blood count",
        zh="血常规",
        keywords="blood",
    )


@pytest.fixture
def insurer(db):
    return Insurer.objects.create(code="globalcare", name="Global Care Assistance", country="GB")


@pytest.fixture
def other_insurer(db):
    return Insurer.objects.create(code="otherlife", name="Other Life", country="DE")


@pytest.fixture
def agents(insurer, other_insurer):
    mine = make_user("gc-agent", Role.INSURER_AGENT)
    InsurerAgent.objects.create(user=mine, insurer=insurer)
    theirs = make_user("ol-agent", Role.INSURER_AGENT)
    InsurerAgent.objects.create(user=theirs, insurer=other_insurer)
    return {"mine": mine, "other": theirs}


@pytest.fixture
def insured(treated_case, users, hospital, insurer):
    """The case is covered by Global Care, which guaranteed 800 CNY."""
    contract = Contract.objects.create(hospital=hospital, insurer=insurer, direct_billing=True, currency="CNY")
    today = clock.today()
    cover = Coverage.objects.create(
        case=treated_case,
        insurer=insurer,
        contract=contract,
        member_id="GC-123",
        valid_from=today - datetime.timedelta(days=365),
        valid_until=today + datetime.timedelta(days=365),
        recorded_by=users["coordinator"],
    )
    Guarantee.objects.create(
        number="GOP-TEST-1",
        case=treated_case,
        hospital=hospital,
        insurer=insurer,
        coverage=cover,
        contract=contract,
        quote=treated_case.quotes.get(status="accepted"),
        status="approved",
        diagnosis_code="S83.2",
        diagnosis_text="Meniscus tear",
        treating_doctor="Dr Li",
        planned_start=today,
        planned_end=today,
        requested_cny=Decimal("972.00"),
        reference="PA-777",
        approved_amount=Decimal("800.00"),
        approved_currency="CNY",
        created_by=users["coordinator"],
    )
    grant_gop_consent(treated_case.patient.user, treated_case)
    return treated_case


@pytest.fixture
def draft(treated_case, users):
    return services.start_invoice(users["finance"], treated_case)


def confirm_all(actor, invoice):
    for line in invoice.lines.all():
        services.confirm_line(actor, invoice, line.pk, line.quantity)


@pytest.fixture
def issued(insured, users):
    """The insured case's invoice (MRI x2 = 972 CNY): 800 for the insurer, 172 for the patient."""
    invoice = services.start_invoice(users["finance"], insured)
    confirm_all(users["finance"], invoice)
    return services.issue_invoice(users["finance"], invoice)


@pytest.fixture
def other_case(other_hospital, other_patient):
    return make_case(other_patient, other_hospital, state="discharged")
