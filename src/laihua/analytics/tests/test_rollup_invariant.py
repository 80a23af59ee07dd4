"""The roll-ups equal a count from scratch after any sequence of case moves, quotes, statements and payments at
two hospitals, once the refresh job has rebuilt the hospitals that changed (Hypothesis)."""

import datetime
import itertools
from collections import defaultdict
from decimal import Decimal

import pytest
from django.db.models import Count, Min, Q, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from laihua.analytics.models import COUNTS, CubeMonth, HospitalMonth
from laihua.analytics.services import refresh_all, rollup
from laihua.billing.models import Invoice, Payment
from laihua.cases.models import Case, CaseEvent
from laihua.cases.services import move, post_message
from laihua.cases.states import State, allowed_moves
from laihua.kit import clock
from laihua.quotes.models import Quote
from tests.builders import make_case, make_patient

pytestmark = pytest.mark.django_db
_serial = itertools.count(1)

OPS = st.lists(
    st.tuples(st.sampled_from(["open", "answer", "move", "quote", "accept", "bill", "pay"]), st.integers(0, 50)),
    min_size=1,
    max_size=12,
)


def _month(value):
    return (timezone.localtime(value).date() if isinstance(value, datetime.datetime) else value).replace(day=1)


def recount(hospital) -> dict:
    """{month: {figure: value}} counted straight from the cases, quotes, events, statements and payments."""
    out = defaultdict(lambda: defaultdict(int))
    cases = Case.objects.filter(hospital=hospital).annotate(m=TruncMonth("created_at")).values("m")
    for row in cases.annotate(n=Count("pk"), answered=Count("pk", filter=Q(first_response_at__isnull=False))):
        out[row["m"].date() if isinstance(row["m"], datetime.datetime) else row["m"]]["inquiries"] += row["n"]
        out[row["m"].date() if isinstance(row["m"], datetime.datetime) else row["m"]]["responses"] += row["answered"]
    quotes = Quote.objects.filter(case__hospital=hospital).values("case")
    for first in quotes.filter(sent_at__isnull=False).annotate(t=Min("sent_at")).values_list("t", flat=True):
        out[_month(first)]["quotes"] += 1
    for first in quotes.filter(accepted_at__isnull=False).annotate(t=Min("accepted_at")).values_list("t", flat=True):
        out[_month(first)]["acceptances"] += 1
    for state, name in ((State.ARRIVED, "arrivals"), (State.DISCHARGED, "discharges")):
        events = CaseEvent.objects.filter(case__hospital=hospital, to_state=state).values("case").annotate(t=Min("at"))
        for first in events.values_list("t", flat=True):
            out[_month(first)][name] += 1
    for invoice in Invoice.objects.filter(hospital=hospital, issue_date__isnull=False, status="issued"):
        out[_month(invoice.issue_date)]["invoiced_cny"] += invoice.total_cny
    for payment in Payment.objects.filter(hospital=hospital):
        out[_month(payment.received_on)]["collected_cny"] += payment.signed_cny
    return out


def assert_rollups_equal_recount(hospital):
    counted = recount(hospital)
    rows = {row.month: row for row in HospitalMonth.objects.filter(hospital=hospital)}
    assert set(rows) == set(counted)
    for month, figures in counted.items():
        row = rows[month]
        for name in (*COUNTS[:-1], "invoiced_cny", "collected_cny"):
            assert getattr(row, name) == figures.get(name, 0), (month, name)
        assert sum(row.response_minutes.values()) == row.responses
        assert sum(row.stay_days.values()) <= row.discharges
    # The rows by country, department and service add up to the month's.
    sums = (
        CubeMonth.objects.filter(hospital=hospital)
        .values("month")
        .annotate(inquiries=Sum("inquiries"), arrivals=Sum("arrivals"), invoiced=Sum("invoiced_cny"))
    )
    for row in sums:
        assert row["inquiries"] == rows[row["month"]].inquiries
        assert row["arrivals"] == rows[row["month"]].arrivals
        assert Decimal(row["invoiced"]) == rows[row["month"]].invoiced_cny


@pytest.fixture
def world(users, hospital, other_hospital, mri, patient, monkeypatch):
    # The test runs within seconds: count as changed only what changed after the last refresh began.
    monkeypatch.setattr(rollup, "CHANGE_MARGIN", datetime.timedelta(0))
    other = make_patient(users["other_admin"].__class__.objects.create(username="p2", role="patient"), nationality="DE")
    return {"hospitals": [hospital, other_hospital], "patients": [patient, other], "mri": mri, "users": users}


def apply(world, op: str, pick: int) -> None:
    users = world["users"]
    hospitals = world["hospitals"]
    cases = list(Case.objects.filter(hospital__in=hospitals).order_by("pk"))
    if op == "open" or not cases:
        hospital = hospitals[pick % 2]
        services = [world["mri"]] if hospital == hospitals[0] and pick % 3 else []
        make_case(world["patients"][pick % 2], hospital, services=services)
        return
    case = cases[pick % len(cases)]
    desk = users["coordinator"] if case.hospital == hospitals[0] else users["other_coordinator"]
    if op == "answer":
        post_message(desk, case, "We have your inquiry and will answer in full shortly.")
    elif op == "move":
        choices = allowed_moves(case.state, desk.role)
        if choices:
            move(desk, case, choices[pick % len(choices)])
    elif op == "quote" and case.state == State.TRIAGE:
        Quote.objects.filter(case=case, status="sent").update(status="superseded")
        revision = Quote.objects.filter(case=case).count() + 1
        Quote.objects.create(
            case=case,
            revision=revision,
            number=f"QH-{next(_serial)}",
            status="sent",
            quote_date=clock.today(),
            currency="USD",
            created_by=desk,
            sent_at=clock.now(),
        )
        move(None, case, State.QUOTED, by_system=True)
    elif op == "accept" and case.state == State.QUOTED:
        Quote.objects.filter(case=case, status="sent").update(status="accepted", accepted_at=clock.now())
        move(None, case, State.ACCEPTED, by_system=True)
    elif op == "bill" and case.state == State.DISCHARGED and not case.invoices.exists():
        amount = Decimal(100 + pick) + Decimal("0.25")
        Invoice.objects.create(
            case=case,
            hospital=case.hospital,
            number=f"IH-{next(_serial)}",
            status="issued",
            currency="USD",
            total_cny=amount,
            patient_cny=amount,
            issue_date=clock.today(),
            created_by=desk,
        )
    elif op == "pay":
        invoice = Invoice.objects.filter(case=case).first()
        if invoice is not None:
            Payment.objects.create(
                invoice=invoice,
                hospital=case.hospital,
                kind="balance",
                payer="patient",
                method="card",
                reference=f"r{next(_serial)}",
                amount=Decimal("10.10"),
                amount_cny=Decimal("10.10"),
                received_on=clock.today(),
                idempotency_key=f"k{next(_serial)}",
                recorded_by=desk,
            )


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=OPS)
def test_rollups_equal_a_recount_after_any_moves(world, ops):
    refresh_all(only_changed=True)
    for op, pick in ops:
        apply(world, op, pick)
    refresh_all(only_changed=True)
    for hospital in world["hospitals"]:
        assert_rollups_equal_recount(hospital)
    assert rollup.stale_hospitals() == []
