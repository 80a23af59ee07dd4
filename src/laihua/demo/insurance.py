"""Two fictional insurers (clearly labelled demo), their agents, contracts with the demo hospitals, and a knee
case at the Huangpu demo hospital whose patient accepted a quote, with the patient's coverage recorded and a GOP
request waiting for Demo Global Health's answer in the portal (insurance.yaml).

Loading twice is harmless: insurers and contracts are keyed, the case is found by its "opened" event's
demo key, and coverage and the GOP request are only added when missing. Runs after cases and quotes."""

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
from laihua.demo import cases as demo_cases
from laihua.demo import datafiles
from laihua.demo import quotes as demo_quotes
from laihua.demo.hospitals import BY_CODE
from laihua.hospitals.models import Hospital
from laihua.insurance import services
from laihua.insurance.models import Contract, Guarantee, Insurer, InsurerAgent
from laihua.kit import clock


def _read() -> dict:
    data = datafiles.read("insurance")
    datafiles.require("insurance", ["case", "hospital"], data["case"]["hospital"], BY_CODE)
    for index, contract in enumerate(data["contracts"]):
        for position, code in enumerate([] if contract["hospitals"] == "all" else contract["hospitals"]):
            datafiles.require("insurance", ["contracts", index, "hospitals", position], code, BY_CODE)
    return data


_DATA = _read()
INSURERS = _DATA["insurers"]
# The demo agent account itself comes from demo.hospitals (people.yaml holds the only demo accounts).
AGENTS = _DATA["agents"]
CONTRACTS = _DATA["contracts"]
CASE = _DATA["case"]
CASE_KEY = CASE["key"]
HOSPITAL = BY_CODE[CASE["hospital"]]
AMOUNTS = ("preauth_threshold_cny", "copay_percent", "excess_cny")  # contract terms written as decimals


def coverage_data(spec: dict) -> dict:
    """The coverage as the coordinator records it: valid from 1 January this year for `valid_days` days."""
    start = clock.today().replace(month=1, day=1)
    details = {key: value for key, value in spec.items() if key != "valid_days"}
    return {**details, "valid_from": start, "valid_until": start + datetime.timedelta(days=spec["valid_days"])}


def _insurers() -> dict[str, Insurer]:
    found = {}
    for spec in INSURERS:
        values = {k: v for k, v in spec.items() if k != "code"}
        found[spec["code"]], _created = Insurer.objects.update_or_create(
            code=spec["code"], defaults={**values, "active": True, "is_demo": True}
        )
    return found


def _agents(insurers: dict[str, Insurer]) -> None:
    for agent in AGENTS:
        user = User.objects.filter(username=agent["username"], role=Role.INSURER_AGENT).first()
        if user is not None:
            InsurerAgent.objects.update_or_create(user=user, defaults={"insurer": insurers[agent["insurer"]]})


def _contracts(insurers: dict[str, Insurer]) -> None:
    for hospital in Hospital.objects.filter(is_demo=True):
        for contract in CONTRACTS:
            named = contract["hospitals"]
            if named != "all" and hospital.slug not in {BY_CODE[code].slug for code in named}:
                continue
            terms = {key: Decimal(value) if key in AMOUNTS else value for key, value in contract["terms"].items()}
            Contract.objects.get_or_create(hospital=hospital, insurer=insurers[contract["insurer"]], defaults=terms)


def _case(patient, hospital) -> Case | None:
    event = CaseEvent.objects.filter(kind="opened", case__patient=patient, detail__demo=CASE_KEY).first()
    if event is not None:
        return event.case
    codes = [HOSPITAL.item_code(code) for code in CASE["services"]]
    items = list(CatalogItem.objects.filter(hospital=hospital, code__in=codes))
    coordinator = hospital.staff.filter(role=Role.COORDINATOR, is_active=True).order_by("pk").first()
    if len(items) < 2 or coordinator is None:
        return None
    arrival = clock.today() + datetime.timedelta(days=CASE["arrival_in_days"])
    case = Case.objects.create(
        reference=f"new-{uuid.uuid4().hex[:16]}",
        patient=patient,
        hospital=hospital,
        department=items[0].department if items[0].department_id == items[1].department_id else None,
        description=CASE["description"],
        desired_arrival=arrival,
        desired_departure=arrival + datetime.timedelta(days=CASE["stay_days"]),
        insurer_name=CASE["insurance"]["insurer"],
        insurance_policy=CASE["insurance"]["policy"],
        insurance_member=CASE["insurance"]["member"],
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
    insurers = _insurers()
    _agents(insurers)
    _contracts(insurers)
    hospital = Hospital.objects.filter(slug=HOSPITAL.slug).first()
    patient = demo_cases.demo_patient()
    if hospital is None or patient is None:
        return 0
    case = _case(patient, hospital)
    if case is None:
        return 0
    if not case.quotes.exists():
        demo_quotes.load()  # gives the accepted case its accepted quote
    if services.accepted_quote(case) is None:
        return 0
    coordinator = case.coordinator
    if services.coverage_of(case) is None:
        services.record_coverage(coordinator, case, coverage_data(_DATA["coverage"]))
    if Guarantee.objects.filter(case=case).exists():
        return 0
    if services.consent_for(case, services.coverage_of(case).insurer) is None:
        services.grant_gop_consent(patient.user, case)  # the patient's consent to send their data to the insurer
    services.send_guarantee_request(coordinator, case, dict(_DATA["guarantee_request"]))
    return 1
