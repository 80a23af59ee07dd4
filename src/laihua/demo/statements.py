"""Two statements of the demo patient at Huangpu that show the money rules (statements.yaml), made through the
services as the coordinator, the insurer's agent and finance would. Idempotent: a case is found by its key.

- A partly approved guarantee with the interpreter declined (and the insurer's reason), a second interpreter
  session priced by hand, the shortfall confirmed and the statement issued: the insurer pays the MRI, the patient
  the interpreter lines.
- A statement pinned in the patient's dollars and paid exactly the dollars shown, after the day's rate moved: the
  statement is balanced and the difference is an exchange gain in CNY."""

import datetime
import uuid
from decimal import Decimal

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
from laihua.demo.hospitals import BY_CODE, DEMO_RATE_SOURCE
from laihua.demo.insurance import coverage_data
from laihua.hospitals.models import Hospital
from laihua.insurance import services as insurance
from laihua.insurance.models import Contract, Guarantee, Insurer
from laihua.kit import clock
from laihua.quotes import services as quotes
from laihua.rates.models import ExchangeRate

_DATA = datafiles.read("statements")
PARTIAL, FOREIGN = _DATA["partial"], _DATA["foreign"]
for _part, _spec in (("partial", PARTIAL), ("foreign", FOREIGN)):
    _hospital = BY_CODE[
        datafiles.require("statements", [_part, "case", "hospital"], _spec["case"]["hospital"], BY_CODE)
    ]
    for _index, _service in enumerate(_spec["case"]["services"]):
        datafiles.require("statements", [_part, "case", "services", _index], _service, list(_hospital.prices))
PARTIAL_KEY, FOREIGN_KEY = PARTIAL["case"]["key"], FOREIGN["case"]["key"]
TREATMENT = (State.SCHEDULED, State.ARRIVED, State.IN_TREATMENT, State.DISCHARGED)


def _day(days: int) -> str:
    return (clock.today() + datetime.timedelta(days=days)).isoformat()


def _staff(hospital, role):
    return hospital.staff.filter(role=role, is_active=True).order_by("pk").first()


def _case(spec: dict, patient, hospital, coordinator) -> Case | None:
    """The demo case of `spec` (found by its key), opened in triage when missing."""
    event = CaseEvent.objects.filter(kind="opened", case__patient=patient, detail__demo=spec["key"]).first()
    if event is not None:
        return event.case
    demo_hospital = BY_CODE[spec["hospital"]]
    codes = [demo_hospital.item_code(code) for code in spec["services"]]
    items = list(CatalogItem.objects.filter(hospital=hospital, code__in=codes).order_by("code"))
    if len(items) < len(codes):
        return None
    insured = spec.get("insurance", {})
    case = Case.objects.create(
        reference=f"new-{uuid.uuid4().hex[:16]}",
        patient=patient,
        hospital=hospital,
        description=spec["description"],
        insurer_name=insured.get("insurer", ""),
        insurance_policy=insured.get("policy", ""),
        insurance_member=insured.get("member", ""),
        language="en",
        coordinator=coordinator,
        state=State.TRIAGE,
    )
    case.reference = f"LH-{timezone.localtime(case.created_at):%Y}-{case.pk:06d}"
    case.save(update_fields=["reference"])
    case.services.set(items)
    add_event(case, patient.user, "opened", demo=spec["key"], files=0)
    return case


def _treat(case: Case, coordinator, *, interpreter: dict | None = None, currency: str | None = None) -> Case:
    """Quote (the services, and an interpreter priced by hand), accepted by the patient, then the stay up to
    discharge."""
    if case.state == State.TRIAGE:
        draft = {"valid_until": clock.today() + datetime.timedelta(days=30), "deposit": "0"}
        if currency:
            draft["currency"] = currency
        quote = quotes.create_draft(coordinator, case, draft)
        for item in case.services.order_by("code"):
            quotes.add_line(coordinator, quote, {"item": item.pk, "quantity": 1})
        if interpreter:
            quotes.add_line(coordinator, quote, {**interpreter, "quantity": 1})
        quotes.send_quote(coordinator, quote)
        quotes.accept_quote(case.patient.user, quote)
        case.refresh_from_db()
    for state in TREATMENT:
        if case.state != State.DISCHARGED:
            case = move(coordinator, case, state)
    return case


def _partly_approved(case: Case, coordinator) -> Guarantee | None:
    """The coverage, the patient's consent for the insurer, and the GOP request the insurer's agent answered:
    partly approved, the interpreter declined with its reason."""
    insurer = Insurer.objects.filter(code=PARTIAL["coverage"]["insurer"]).first()
    if insurer is None or not Contract.objects.filter(hospital=case.hospital, insurer=insurer).exists():
        return None
    if insurance.coverage_of(case) is None:
        insurance.record_coverage(coordinator, case, coverage_data(PARTIAL["coverage"]))
    if insurance.consent_for(case, insurer) is None:
        insurance.grant_gop_consent(case.patient.user, case)
    gop = Guarantee.objects.filter(case=case).order_by("pk").first()
    if gop is None:
        request = PARTIAL["guarantee_request"]
        gop = insurance.send_guarantee_request(
            coordinator,
            case,
            {**request, "planned_start": _day(request["planned_start"]), "planned_end": _day(request["planned_end"])},
        )
    if gop.status == "submitted":
        agent = User.objects.filter(role=Role.INSURER_AGENT, insurer_agent__insurer=insurer).first()
        if agent is None:
            return None
        answer = dict(PARTIAL["guarantee_answer"])
        reason = answer.pop("declined_reason")
        declined = gop.lines.get(code=PARTIAL["interpreter"]["code"]).sequence
        approved = [line.sequence for line in gop.lines.exclude(sequence=declined)]
        gop = insurance.answer_guarantee_request(
            agent,
            gop,
            {
                **answer,
                "valid_from": _day(answer["valid_from"]),
                "valid_until": _day(answer["valid_until"]),
                "lines": [
                    *({"sequence": sequence, "decision": "approved"} for sequence in approved),
                    {"sequence": declined, "decision": "declined", "reason": reason},
                ],
            },
        )
    return gop


def _issue(case: Case, finance, extras=()) -> Invoice:
    """The case's statement: drafted, the extras added, every line confirmed, issued (finance confirming the
    shortfall the draft shows, if any)."""
    invoice = case.invoices.exclude(status="cancelled").first()
    if invoice is None:
        invoice = services.start_invoice(finance, case)
        for extra in extras:
            services.add_extra(finance, invoice, extra)
    if invoice.is_draft:
        for line in invoice.lines.all():
            services.confirm_line(finance, invoice, line.pk, line.quantity)
        shown = services.split_of(invoice)
        invoice = services.issue_invoice(
            finance, invoice, confirm_shortfall=shown.shortfall, seen_insurer_cny=str(shown.insurer)
        )
    return invoice


def load_partial(patient, hospital, coordinator, finance) -> Invoice | None:
    case = _case(PARTIAL["case"], patient, hospital, coordinator)
    if case is None:
        return None
    case = _treat(case, coordinator, interpreter=PARTIAL["interpreter"])
    if _partly_approved(case, coordinator) is None:
        return None
    extra = PARTIAL["extra"]
    hand_priced = {**extra, "code": PARTIAL["interpreter"]["code"], "kind": "other"}
    return _issue(case, finance, extras=[hand_priced])


def _day_rate_moved(invoice: Invoice) -> None:
    """The day's rate, published after the statement was issued: `rate_change_percent` above the pinned rate (a
    demo rate dated today, only when the table holds none for today)."""
    today = clock.today()
    if invoice.rate_date == today or ExchangeRate.objects.filter(currency=invoice.currency, rate_date=today).exists():
        return
    moved = invoice.rate_cny_per_unit * (1 + Decimal(FOREIGN["rate_change_percent"]) / 100)
    ExchangeRate.objects.create(
        currency=invoice.currency,
        rate_date=today,
        cny_per_unit=moved.quantize(Decimal("0.00000001")),
        source=DEMO_RATE_SOURCE,
    )


def load_foreign(patient, hospital, coordinator, finance) -> Invoice | None:
    case = _case(FOREIGN["case"], patient, hospital, coordinator)
    if case is None:
        return None
    case = _treat(case, coordinator, currency=FOREIGN["currency"])
    invoice = _issue(case, finance)
    if not invoice.payments.exists():
        _day_rate_moved(invoice)
        shown = services.pinned_amounts(invoice)
        if shown is not None and shown.patient_due > 0:
            payment = {
                **FOREIGN["payment"],
                "kind": "balance",
                "currency": invoice.currency,
                "amount": str(shown.patient_due),
            }
            services.record_payment(finance, invoice, payment, idempotency_key=f"demo-statement-{case.pk}")
            invoice.refresh_from_db()
    return invoice


@transaction.atomic
def load() -> tuple[Invoice | None, Invoice | None]:
    """The partly approved statement and the statement paid in dollars (made once)."""
    patient = demo_cases.demo_patient()
    made = []
    for spec, loader in ((PARTIAL, load_partial), (FOREIGN, load_foreign)):
        hospital = Hospital.objects.filter(slug=BY_CODE[spec["case"]["hospital"]].slug).first()
        staff = [_staff(hospital, role) for role in (Role.COORDINATOR, Role.FINANCE)] if hospital else [None]
        ready = patient is not None and None not in staff
        made.append(loader(patient, hospital, *staff) if ready else None)
    return made[0], made[1]
