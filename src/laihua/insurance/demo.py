"""Demo data: two fictional insurers (clearly labelled demo), their agents, contracts with the demo
hospitals, and a knee case at the Huangpu demo hospital whose patient accepted a quote, with the
patient's coverage recorded and a GOP request waiting for Demo Global Health's answer in the portal.

Loading twice is harmless: insurers and contracts are keyed, the case is found by its "opened" event's
demo key, and coverage and the GOP request are only added when missing. Run after cases and quotes."""

import datetime
import uuid
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from laihua.accounts.models import Role, User
from laihua.cases.models import Case, CaseEvent
from laihua.cases.services import add_event
from laihua.cases.states import State
from laihua.catalog.models import CatalogItem
from laihua.hospitals.models import Hospital
from laihua.insurance import services
from laihua.insurance.models import Contract, Guarantee, Insurer, InsurerAgent
from laihua.kit import clock

CASE_KEY = "insurance-knee-huangpu"
HUANGPU = "huangpu-international-demo"

INSURERS = (
    {
        "code": "demo-global-health",
        "name": "Demo Global Health (demo insurer)",
        "country": "GB",
        "payer_id": "DGH-DEMO",
        "contact_name": "Direct billing desk (demo)",
        "contact_email": "gop@demo-global-health.example",
        "contact_phone": "+44 20 0000 0000",
        "api_contact_email": "fhir@demo-global-health.example",
        "api_endpoint": "https://fhir.demo-global-health.example/r4",
    },
    {
        "code": "demo-assist",
        "name": "Demo Assist Worldwide (demo assistance company)",
        "country": "CH",
        "payer_id": "DAW-DEMO",
        "contact_name": "Medical assistance (demo)",
        "contact_email": "cases@demo-assist.example",
        "contact_phone": "+41 22 000 00 00",
    },
)
# The demo agent account itself comes from hospitals.demo (its USERS are the only demo accounts).
AGENTS = (("insurer-agent", "demo-global-health"),)


def _insurers() -> dict[str, Insurer]:
    found = {}
    for spec in INSURERS:
        values = {k: v for k, v in spec.items() if k != "code"}
        found[spec["code"]], _created = Insurer.objects.update_or_create(
            code=spec["code"], defaults={**values, "active": True, "is_demo": True}
        )
    return found


def _agents(insurers: dict[str, Insurer]) -> None:
    for username, code in AGENTS:
        user = User.objects.filter(username=username, role=Role.INSURER_AGENT).first()
        if user is not None:
            InsurerAgent.objects.update_or_create(user=user, defaults={"insurer": insurers[code]})


def _contracts(insurers: dict[str, Insurer]) -> None:
    for hospital in Hospital.objects.filter(is_demo=True):
        Contract.objects.get_or_create(
            hospital=hospital,
            insurer=insurers["demo-global-health"],
            defaults={
                "direct_billing": True,
                "preauth_kinds": ["procedure", "inpatient_day", "package"],
                "preauth_threshold_cny": Decimal("3000.00"),
                "answer_hours": 48,
                "currency": "USD",
                "covered_kinds": [],
                "copay_percent": Decimal("10.00"),
                "excess_cny": Decimal("500.00"),
                "notes": "Demo contract: GOP for procedures, stays, packages and any line above 3,000 CNY.",
            },
        )
        if hospital.slug == HUANGPU:
            Contract.objects.get_or_create(
                hospital=hospital,
                insurer=insurers["demo-assist"],
                defaults={
                    "direct_billing": True,
                    "preauth_kinds": ["procedure", "imaging"],
                    "answer_hours": 24,
                    "currency": "EUR",
                    "notes": "Demo contract with an assistance company.",
                },
            )


def _case(patient, hospital) -> Case | None:
    event = CaseEvent.objects.filter(kind="opened", case__patient=patient, detail__demo=CASE_KEY).first()
    if event is not None:
        return event.case
    items = list(CatalogItem.objects.filter(hospital=hospital, code__in=["HIDH-RAD-MRI-1", "HIDH-ORTH-ARTHRO"]))
    coordinator = hospital.staff.filter(role=Role.COORDINATOR, is_active=True).order_by("pk").first()
    if len(items) < 2 or coordinator is None:
        return None
    arrival = clock.today() + datetime.timedelta(days=21)
    case = Case.objects.create(
        reference=f"new-{uuid.uuid4().hex[:16]}",
        patient=patient,
        hospital=hospital,
        department=items[0].department if items[0].department_id == items[1].department_id else None,
        description="Torn meniscus in the left knee after a fall; my insurer pays the hospital directly. (demo)",
        desired_arrival=arrival,
        desired_departure=arrival + datetime.timedelta(days=5),
        insurer_name="Demo Global Health",
        insurance_policy="DGH-0000-0002",
        insurance_member="M-000123",
        language="en",
        coordinator=coordinator,
        state=State.ACCEPTED,
    )
    case.reference = f"LH-{timezone.localtime(case.created_at):%Y}-{case.pk:06d}"
    case.save(update_fields=["reference"])
    case.services.set(items)
    add_event(case, patient.user, "opened", demo=CASE_KEY, files=0)
    return case


@transaction.atomic
def load() -> int:
    """Insurers, agents, contracts, and the demo GOP case; returns 1 when a GOP request was sent now."""
    from laihua.cases.demo import _demo_patient
    from laihua.quotes import demo as quotes_demo

    insurers = _insurers()
    _agents(insurers)
    _contracts(insurers)
    hospital = Hospital.objects.filter(slug=HUANGPU).first()
    patient = _demo_patient()
    if hospital is None or patient is None:
        return 0
    case = _case(patient, hospital)
    if case is None:
        return 0
    if not case.quotes.exists():
        quotes_demo.load()  # gives the accepted case its accepted quote
    if services.accepted_quote(case) is None:
        return 0
    coordinator = case.coordinator
    if services.coverage_of(case) is None:
        today = clock.today()
        services.record_coverage(
            coordinator,
            case,
            {
                "insurer": "demo-global-health",
                "member_id": "M-000123",
                "policy_number": "DGH-0000-0002",
                "plan": "Worldwide Gold (demo)",
                "valid_from": today.replace(month=1, day=1),
                "valid_until": today.replace(month=1, day=1) + datetime.timedelta(days=729),
            },
        )
    if Guarantee.objects.filter(case=case).exists():
        return 0
    if services.consent_for(case, services.coverage_of(case).insurer) is None:
        services.grant_gop_consent(patient.user, case)  # the patient's consent to send their data to the insurer
    services.send_guarantee_request(
        coordinator,
        case,
        {
            "diagnosis_code": "S83.2",
            "diagnosis_text": "Tear of meniscus, current injury, left knee",
            "treating_doctor": "Dr Demo Zhang (orthopaedics)",
            "clinical_notes": "Pain and locking of the left knee since a fall; MRI planned, arthroscopy likely. (demo)",
        },
    )
    return 1
