"""A discharged case at Huangpu with an issued invoice split between Demo Global Health and the patient, a
deposit from the patient, the claim answered and the insurer's remittance (billing.yaml). Idempotent."""

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
from laihua.demo import cases as demo_cases
from laihua.demo import datafiles
from laihua.demo.hospitals import BY_CODE
from laihua.demo.insurance import coverage_data
from laihua.hospitals.models import Hospital
from laihua.insurance import services as insurance
from laihua.insurance.models import Contract, Guarantee, Insurer
from laihua.kit import clock
from laihua.quotes import services as quotes

_DATA = datafiles.read("billing")
CASE = _DATA["case"]
CASE_KEY = CASE["key"]
HOSPITAL = BY_CODE[datafiles.require("billing", ["case", "hospital"], CASE["hospital"], BY_CODE)]
INSURER = _DATA["coverage"]["insurer"]
TREATMENT = (State.SCHEDULED, State.ARRIVED, State.IN_TREATMENT, State.DISCHARGED)


def _day(days: int) -> str:
    return (clock.today() + datetime.timedelta(days=days)).isoformat()


def _staff(hospital, role):
    return hospital.staff.filter(role=role, is_active=True).order_by("pk").first()


def _case(patient, hospital, coordinator) -> Case | None:
    event = CaseEvent.objects.filter(kind="opened", case__patient=patient, detail__demo=CASE_KEY).first()
    if event is not None:
        return event.case
    codes = [HOSPITAL.item_code(code) for code in CASE["services"]]
    items = list(CatalogItem.objects.filter(hospital=hospital, code__in=codes).order_by("code"))
    if len(items) < len(codes):
        return None
    case = Case.objects.create(
        reference=f"new-{uuid.uuid4().hex[:16]}",
        patient=patient,
        hospital=hospital,
        description=CASE["description"],
        insurer_name=CASE["insurance"]["insurer"],
        insurance_policy=CASE["insurance"]["policy"],
        insurance_member=CASE["insurance"]["member"],
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
    if case.state == State.TRIAGE:
        terms = _DATA["quote"]
        valid_until = clock.today() + datetime.timedelta(days=terms["valid_days"])
        quote = quotes.create_draft(coordinator, case, {"valid_until": valid_until, "deposit": terms["deposit"]})
        for item in case.services.order_by("code"):
            quotes.add_line(coordinator, quote, {"item": item.pk, "quantity": 1})
        quotes.send_quote(coordinator, quote)
        quotes.accept_quote(case.patient.user, quote)
        case.refresh_from_db()
    for state in TREATMENT:
        if case.state != State.DISCHARGED:
            case = move(coordinator, case, state)
    return case


def _cover(case: Case, coordinator) -> bool:
    """The patient's coverage with the demo insurer and its approved guarantee (the insurer's answer)."""
    insurer = Insurer.objects.filter(code=INSURER).first()
    contract = Contract.objects.filter(hospital=case.hospital, insurer=insurer).first() if insurer else None
    if contract is None:
        return False
    if insurance.coverage_of(case) is None:
        insurance.record_coverage(coordinator, case, coverage_data(_DATA["coverage"]))
    if insurance.consent_for(case, insurer) is None:  # the patient's consent to send their data to the insurer
        insurance.grant_gop_consent(case.patient.user, case)
    if not Guarantee.objects.filter(case=case).exists():
        # Through the insurance services, as a coordinator and the insurer's agent would: the request
        # carries its lines and its FHIR Claim, and the answer its ClaimResponse.
        request = _DATA["guarantee_request"]
        gop = insurance.send_guarantee_request(
            coordinator,
            case,
            {**request, "planned_start": _day(request["planned_start"]), "planned_end": _day(request["planned_end"])},
        )
        agent = User.objects.filter(role=Role.INSURER_AGENT, insurer_agent__insurer=insurer).first()
        if agent is None:
            return False
        answer = _DATA["guarantee_answer"]
        insurance.answer_guarantee_request(
            agent,
            gop,
            {**answer, "valid_from": _day(answer["valid_from"]), "valid_until": _day(answer["valid_until"])},
        )
    return True


def _bill(case: Case, finance) -> Invoice:
    invoice = case.invoices.exclude(status="cancelled").first()
    if invoice is None:
        invoice = services.start_invoice(finance, case)
        deposit = dict(_DATA["deposit"])
        services.record_payment(finance, invoice, deposit, idempotency_key=f"demo-deposit-{case.pk}")
        extra_spec = _DATA["extra"]
        extra_code = HOSPITAL.item_code(extra_spec["service"])
        extra = CatalogItem.objects.filter(hospital=case.hospital, code=extra_code).first()
        if extra is not None:
            services.add_extra(
                finance,
                invoice,
                {"item": extra.pk, "quantity": extra_spec["quantity"], "reason": extra_spec["reason"]},
            )
        for line in invoice.lines.all():
            services.confirm_line(finance, invoice, line.pk, line.quantity)
        invoice = services.issue_invoice(finance, invoice)
    if invoice.insurer_id and not invoice.claims.exists():
        claim = services.submit_claim(finance, invoice)
        lines = [
            {"sequence": line.position, "paid": line.insurer_cny} for line in invoice.lines.filter(insurer_cny__gt=0)
        ]
        services.enter_claim_response(finance, claim, lines, note=_DATA["claim_note"])
        remittance = {**_DATA["remittance"], "amount": str(invoice.insurer_cny)}
        services.record_payment(finance, invoice, remittance, idempotency_key=f"demo-remittance-{case.pk}")
    return invoice


@transaction.atomic
def load() -> Invoice | None:
    """The demo discharged case with its invoice, deposit, claim and remittance (made once)."""
    hospital = Hospital.objects.filter(slug=HOSPITAL.slug).first()
    patient = demo_cases.demo_patient()
    if hospital is None or patient is None:
        return None
    coordinator, finance = _staff(hospital, Role.COORDINATOR), _staff(hospital, Role.FINANCE)
    if coordinator is None or finance is None:
        return None
    case = _case(patient, hospital, coordinator)
    if case is None:
        return None
    case = _treat(case, coordinator)
    if not _cover(case, coordinator):
        return None
    return _bill(case, finance)
