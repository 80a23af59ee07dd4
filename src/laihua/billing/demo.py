"""Demo billing: a discharged case at Huangpu with an issued invoice split between Demo Global Health and the
patient, a deposit from the patient, the claim answered and the insurer's remittance. Idempotent."""

import datetime
import uuid

from django.db import transaction
from django.utils import timezone

from laihua.accounts.models import Role, User
from laihua.billing import services
from laihua.billing.models import Invoice
from laihua.cases.models import Case, CaseEvent
from laihua.cases.services import add_event, move
from laihua.cases.states import State
from laihua.catalog.models import CatalogItem
from laihua.hospitals.models import Hospital
from laihua.kit import clock

CASE_KEY = "billing-discharged-huangpu"
HUANGPU = "huangpu-international-demo"
CODES = ("HIDH-CON-GP", "HIDH-RAD-MRI-1")
EXTRA = "HIDH-LAB-CBC"
INSURER = "demo-global-health"


def _staff(hospital, role):
    return hospital.staff.filter(role=role, is_active=True).order_by("pk").first()


def _case(patient, hospital, coordinator) -> Case | None:
    event = CaseEvent.objects.filter(kind="opened", case__patient=patient, detail__demo=CASE_KEY).first()
    if event is not None:
        return event.case
    items = list(CatalogItem.objects.filter(hospital=hospital, code__in=CODES).order_by("code"))
    if len(items) < len(CODES):
        return None
    case = Case.objects.create(
        reference=f"new-{uuid.uuid4().hex[:16]}",
        patient=patient,
        hospital=hospital,
        description="Knee pain after a skiing fall: a consultation and an MRI, billed to my insurer. (demo)",
        insurer_name="Demo Global Health",
        insurance_policy="DGH-0000-0003",
        insurance_member="M-000124",
        language="en",
        coordinator=coordinator,
        state=State.TRIAGE,
    )
    case.reference = f"LH-{timezone.localtime(case.created_at):%Y}-{case.pk:06d}"
    case.save(update_fields=["reference"])
    case.services.set(items)
    add_event(case, patient.user, "opened", demo=CASE_KEY, files=0)
    return case


def _treat(case: Case, coordinator) -> Case:
    """Quote, acceptance by the patient, then the stay up to discharge."""
    from laihua.quotes import services as quotes

    if case.state == State.TRIAGE:
        quote = quotes.create_draft(
            coordinator, case, {"valid_until": clock.today() + datetime.timedelta(days=30), "deposit": "500"}
        )
        for item in case.services.order_by("code"):
            quotes.add_line(coordinator, quote, {"item": item.pk, "quantity": 1})
        quotes.send_quote(coordinator, quote)
        quotes.accept_quote(case.patient.user, quote)
        case.refresh_from_db()
    for state in (State.SCHEDULED, State.ARRIVED, State.IN_TREATMENT, State.DISCHARGED):
        if case.state != State.DISCHARGED:
            case = move(coordinator, case, state)
    return case


def _cover(case: Case, coordinator) -> bool:
    """The patient's coverage with Demo Global Health and its approved guarantee (the insurer's answer)."""
    from laihua.insurance import services as insurance
    from laihua.insurance.models import Contract, Guarantee, Insurer

    insurer = Insurer.objects.filter(code=INSURER).first()
    contract = Contract.objects.filter(hospital=case.hospital, insurer=insurer).first() if insurer else None
    if contract is None:
        return False
    today = clock.today()
    if insurance.coverage_of(case) is None:
        insurance.record_coverage(
            coordinator,
            case,
            {
                "insurer": INSURER,
                "member_id": "M-000124",
                "policy_number": "DGH-0000-0003",
                "plan": "Worldwide Gold (demo)",
                "valid_from": today.replace(month=1, day=1),
                "valid_until": today.replace(month=1, day=1) + datetime.timedelta(days=729),
            },
        )
    if insurance.consent_for(case, insurer) is None:  # the patient's consent to send their data to the insurer
        insurance.grant_gop_consent(case.patient.user, case)
    if not Guarantee.objects.filter(case=case).exists():
        # Through the insurance services, as a coordinator and the insurer's agent would: the request
        # carries its lines and its FHIR Claim, and the answer its ClaimResponse.
        gop = insurance.send_guarantee_request(
            coordinator,
            case,
            {
                "diagnosis_code": "S83.6",
                "diagnosis_text": "Sprain of the knee (demo)",
                "treating_doctor": "Dr Demo Zhang (orthopaedics)",
                "planned_start": (today - datetime.timedelta(days=3)).isoformat(),
                "planned_end": today.isoformat(),
            },
        )
        agent = User.objects.filter(role=Role.INSURER_AGENT, insurer_agent__insurer=insurer).first()
        if agent is None:
            return False
        insurance.answer_guarantee_request(
            agent,
            gop,
            {
                "status": "approved",
                "reference": "DGH-PA-2026-0042",
                "amount": "1000.00",
                "currency": "CNY",
                "valid_from": (today - datetime.timedelta(days=10)).isoformat(),
                "valid_until": (today + datetime.timedelta(days=80)).isoformat(),
            },
        )
    return True


def _bill(case: Case, finance, admin) -> Invoice:
    invoice = case.invoices.exclude(status="cancelled").first()
    if invoice is None:
        invoice = services.start_invoice(finance, case)
        deposit = {"kind": "deposit", "method": "card", "reference": "POS-DEMO-0001", "amount": "500"}
        services.record_payment(finance, invoice, deposit, idempotency_key=f"demo-deposit-{case.pk}")
        extra = CatalogItem.objects.filter(hospital=case.hospital, code=EXTRA).first()
        if extra is not None:
            services.add_extra(
                finance, invoice, {"item": extra.pk, "quantity": 1, "reason": "Blood count before the MRI"}
            )
        for line in invoice.lines.all():
            services.confirm_line(finance, invoice, line.pk, line.quantity)
        invoice = services.issue_invoice(finance, invoice)
    if invoice.insurer_id and not invoice.claims.exists():
        claim = services.submit_claim(finance, invoice)
        lines = [
            {"sequence": line.position, "paid": line.insurer_cny} for line in invoice.lines.filter(insurer_cny__gt=0)
        ]
        services.enter_claim_response(finance, claim, lines, note="Paid in full (demo)")
        remittance = {
            "kind": "remittance",
            "method": "bank_transfer",
            "reference": "DGH-REMIT-0042",
            "amount": str(invoice.insurer_cny),
        }
        services.record_payment(finance, invoice, remittance, idempotency_key=f"demo-remittance-{case.pk}")
    return invoice


@transaction.atomic
def load() -> Invoice | None:
    """The demo discharged case with its invoice, deposit, claim and remittance (made once)."""
    from laihua.cases.demo import _demo_patient

    hospital = Hospital.objects.filter(slug=HUANGPU).first()
    patient = _demo_patient()
    if hospital is None or patient is None:
        return None
    coordinator, finance = _staff(hospital, Role.COORDINATOR), _staff(hospital, Role.FINANCE)
    admin = _staff(hospital, Role.HOSPITAL_ADMIN)
    if coordinator is None or finance is None:
        return None
    case = _case(patient, hospital, coordinator)
    if case is None:
        return None
    case = _treat(case, coordinator)
    if not _cover(case, coordinator):
        return None
    return _bill(case, finance, admin)
