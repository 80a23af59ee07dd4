"""A small, hand-counted history at the `east` hospital (and one case at `west` that east must never see).

| case | country | department | service | opened | first answer | quote sent | accepted | arrived | discharged |
| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
| A | US | radiology | MRI-01 | 2026-01-05 12:00 | +2 h | 01-07 (2 d) | 01-08 | 02-10 (36 d) | 02-14 (4 d) |
| B | DE | orthopaedics | HIP-01 | 2026-01-20 12:00 | +30 h (late) | 01-25 (5 d) | 02-01 | 03-01 (40 d) | 03-09 (8 d) |
| C | US | radiology | MRI-01 | 2026-02-03 12:00 | — | | | | |
| D | GB | — | — | 2026-02-10 12:00 | +10 h | 02-12 (2 d) | | | |

Statements: A issued 2026-02-14, 1,000.00 CNY (patient 400.00, Global Care 600.00); B issued 2026-03-09,
30,000.50 CNY, all the patient's. Payments: A's patient 400.00 on 02-14, Global Care's remittance 600.00 on
03-16 (30 days after issue); B's patient 30,000.50 on 03-09 and a refund of 0.50 on 03-10."""

import datetime
import itertools
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from laihua.accounts.models import Role
from laihua.billing.models import Invoice, Payment
from laihua.cases.models import Case, CaseEvent
from laihua.quotes.models import Quote
from tests.builders import make_case, make_item, make_patient, make_user

TZ = ZoneInfo("Asia/Shanghai")
_serial = itertools.count(1)


def at(day: str, hour: int = 12) -> datetime.datetime:
    return datetime.datetime.fromisoformat(day).replace(hour=hour, tzinfo=TZ)


def open_case(patient, hospital, opened, *, department=None, services=(), answered_after_h=None):
    case = make_case(patient, hospital, department=department, services=services)
    first = opened + datetime.timedelta(hours=answered_after_h) if answered_after_h is not None else None
    Case.objects.filter(pk=case.pk).update(created_at=opened, first_response_at=first)
    case.refresh_from_db()
    return case


def quote(case, user, sent, accepted=None):
    n = next(_serial)
    return Quote.objects.create(
        case=case,
        revision=1,
        number=f"Q-T-{n}",
        status="accepted" if accepted else "sent",
        quote_date=sent.date(),
        currency="USD",
        created_by=user,
        sent_at=sent,
        accepted_at=accepted,
    )


def reach(case, state, moment):
    event = CaseEvent.objects.create(case=case, kind="moved", to_state=state)
    CaseEvent.objects.filter(pk=event.pk).update(at=moment)
    Case.objects.filter(pk=case.pk).update(state=state)


def invoice(case, user, issued, total, patient, insurer, insurer_name=""):
    return Invoice.objects.create(
        case=case,
        hospital=case.hospital,
        number=f"INV-T-{next(_serial)}",
        status="issued",
        insurer_name=insurer_name,
        currency="USD",
        total_cny=total,
        patient_cny=patient,
        insurer_cny=insurer,
        issue_date=issued,
        created_by=user,
    )


def pay(statement, user, received, amount, *, kind="balance", payer="patient"):
    return Payment.objects.create(
        invoice=statement,
        hospital=statement.hospital,
        kind=kind,
        payer=payer,
        method="bank_transfer",
        reference=f"ref-{next(_serial)}",
        amount=amount,
        amount_cny=amount,
        received_on=received,
        idempotency_key=f"key-{next(_serial)}",
        recorded_by=user,
    )


@pytest.fixture
def history(users, hospital, other_hospital):
    coordinator = users["coordinator"]
    radiology = hospital.departments.get(code="radiology")
    orthopaedics = hospital.departments.get(code="orthopaedics")
    mri = make_item(hospital, code="MRI-01")
    hip = make_item(
        hospital, code="HIP-01", kind="surgery", en="Hip replacement", zh="髋关节置换", department="orthopaedics"
    )
    us = make_patient(users["patient"], nationality="US")
    de = make_patient(make_user("p-de", Role.PATIENT), nationality="DE")
    gb = make_patient(make_user("p-gb", Role.PATIENT), nationality="GB")

    a = open_case(us, hospital, at("2026-01-05"), department=radiology, services=[mri], answered_after_h=2)
    quote(a, coordinator, at("2026-01-07"), accepted=at("2026-01-08"))
    reach(a, "arrived", at("2026-02-10"))
    reach(a, "discharged", at("2026-02-14"))
    a_statement = invoice(
        a,
        coordinator,
        datetime.date(2026, 2, 14),
        Decimal("1000.00"),
        Decimal("400.00"),
        Decimal("600.00"),
        "Global Care",
    )
    pay(a_statement, coordinator, datetime.date(2026, 2, 14), Decimal("400.00"))
    pay(a_statement, coordinator, datetime.date(2026, 3, 16), Decimal("600.00"), kind="remittance", payer="insurer")

    b = open_case(de, hospital, at("2026-01-20"), department=orthopaedics, services=[hip], answered_after_h=30)
    quote(b, coordinator, at("2026-01-25"), accepted=at("2026-02-01"))
    reach(b, "arrived", at("2026-03-01"))
    reach(b, "discharged", at("2026-03-09"))
    b_statement = invoice(
        b, coordinator, datetime.date(2026, 3, 9), Decimal("30000.50"), Decimal("30000.50"), Decimal("0.00")
    )
    pay(b_statement, coordinator, datetime.date(2026, 3, 9), Decimal("30000.50"))
    pay(b_statement, coordinator, datetime.date(2026, 3, 10), Decimal("0.50"), kind="refund")

    open_case(us, hospital, at("2026-02-03"), department=radiology, services=[mri])
    d = open_case(gb, hospital, at("2026-02-10"), answered_after_h=10)
    quote(d, coordinator, at("2026-02-12"))

    west = open_case(us, other_hospital, at("2026-01-10"), answered_after_h=1)
    quote(west, users["other_coordinator"], at("2026-01-11"))
    return {"mri": mri, "hip": hip, "cases": (a, b, d)}


PERIOD = {"start": "2026-01", "end": "2026-03"}
