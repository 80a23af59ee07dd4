"""Insurance fixtures: two insurers with an agent each, a contract with the test hospital, and a case
whose patient accepted a quote (an MRI twice and a knee arthroscopy), with coverage recorded."""

import datetime
import json
import uuid
from decimal import Decimal
from pathlib import Path

import pytest

from laihua.accounts.models import Role
from laihua.cases.services import move
from laihua.insurance import services
from laihua.insurance.models import Insurer, InsurerAgent
from laihua.kit import clock
from laihua.quotes import services as quotes
from laihua.rates.models import ExchangeRate
from tests.builders import make_case, make_item, make_patient, make_user

DATA = Path(__file__).parent / "data"
# The Da Vinci PAS test kit's Bundles as shared with the project (../shared beside the project root);
# the same files are copied into DATA (with their source noted in docs/insurance.md) for a fresh clone.
SHARED = Path(__file__).resolve().parents[4].parent / "shared" / "fixtures" / "insurer-preauth"


def fixture_json(name: str) -> dict:
    path = SHARED / name if (SHARED / name).is_file() else DATA / name
    return json.loads(path.read_text())


def pas_request(
    case,
    *,
    member_id: str = "ACME-0001",
    identifier: tuple[str, str] = ("https://his.east.example/claims", "HC-0001"),
    diagnoses=(("M23.2", "Meniscus tear, right knee", "principal"),),
    care_team: str = "role",
    items=None,
    currency: str = "CNY",
    period=None,
) -> dict:
    """A PAS request Bundle as the implementation guide writes one: urn:uuid fullUrls and references, the
    Claim first, the care team's provider a PractitionerRole (its Practitioner and Organization in the
    Bundle), diagnoses with their type, and the accepted quote's lines as items unless `items` is given."""
    patient = case.patient
    url = {
        name: f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'{case.reference}/{name}')}"
        for name in ("claim", "patient", "coverage", "insurer", "hospital", "role", "doctor")
    }
    if items is None:
        quote = case.quotes.get(status="accepted")
        items = [(line.code, line.quantity, line.unit_price_cny) for line in quote.lines.order_by("position", "pk")]
    claim = {
        "resourceType": "Claim",
        "id": "claim-1",
        "identifier": [
            {"system": identifier[0], "value": identifier[1]},
            {"system": "urn:laihua:case", "value": case.reference},
        ],
        "status": "active",
        "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/claim-type", "code": "institutional"}]},
        "use": "preauthorization",
        "patient": {"reference": url["patient"]},
        "created": "2026-03-01T09:00:00+08:00",
        "insurer": {"reference": url["insurer"]},
        "provider": {"reference": url["hospital"]},
        "priority": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/processpriority", "code": "normal"}]},
        "insurance": [{"sequence": 1, "focal": True, "coverage": {"reference": url["coverage"]}}],
        "diagnosis": [
            {
                "sequence": n,
                "diagnosisCodeableConcept": {
                    "coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": code, "display": display}]
                },
                "type": [
                    {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/ex-diagnosistype", "code": kind}]}
                ],
            }
            for n, (code, display, kind) in enumerate(diagnoses, start=1)
        ],
        "item": [
            {
                "sequence": n,
                "productOrService": {"coding": [{"system": "urn:example:his-codes", "code": code}]},
                "quantity": {"value": quantity},
                "unitPrice": {"value": float(price), "currency": currency},
            }
            for n, (code, quantity, price) in enumerate(items, start=1)
        ],
    }
    if not claim["diagnosis"]:
        del claim["diagnosis"]
    if not claim["item"]:
        del claim["item"]
    if period:
        claim["billablePeriod"] = {"start": period[0].isoformat(), "end": period[1].isoformat()}
    doctor = {
        "resourceType": "Practitioner",
        "id": "doc",
        "name": [{"family": "Li", "given": ["Wei"], "prefix": ["Dr"]}],
    }
    hospital = {"resourceType": "Organization", "id": "east", "name": "East Demo Hospital"}
    entries = [
        ("claim", claim),
        (
            "patient",
            {
                "resourceType": "Patient",
                "id": "p1",
                "identifier": [{"system": "urn:example:member", "value": member_id}],
                "name": [{"family": patient.family_name.upper(), "given": patient.given_names.split()}],
                "gender": "female",
                "birthDate": patient.date_of_birth.isoformat(),
            },
        ),
        (
            "coverage",
            {
                "resourceType": "Coverage",
                "id": "cov",
                "status": "active",
                "subscriberId": member_id,
                "beneficiary": {"reference": url["patient"]},
                "payor": [{"reference": url["insurer"]}],
            },
        ),
        ("insurer", {"resourceType": "Organization", "id": "acme", "name": "Acme Global Health"}),
        ("hospital", hospital),
    ]
    if care_team == "role":
        claim["careTeam"] = [{"sequence": 1, "provider": {"reference": url["role"]}}]
        entries.append(
            (
                "role",
                {
                    "resourceType": "PractitionerRole",
                    "id": "role",
                    "practitioner": {"reference": url["doctor"]},
                    "organization": {"reference": url["hospital"]},
                },
            )
        )
        entries.append(("doctor", doctor))
    elif care_team == "practitioner":
        claim["careTeam"] = [{"sequence": 1, "provider": {"reference": url["doctor"]}}]
        entries.append(("doctor", doctor))
    elif care_team == "organization":
        claim["careTeam"] = [{"sequence": 1, "provider": {"reference": url["hospital"]}}]
    return {
        "resourceType": "Bundle",
        "identifier": {"system": identifier[0], "value": identifier[1]},
        "type": "collection",
        "timestamp": "2026-03-01T09:00:00+08:00",
        "entry": [{"fullUrl": url[name], "resource": resource} for name, resource in entries],
    }


@pytest.fixture
def rates_today(db):
    today = clock.today()
    ExchangeRate.objects.create(
        currency="USD", rate_date=today, cny_per_unit=Decimal("7.10000000"), source="Test rates"
    )
    ExchangeRate.objects.create(
        currency="EUR", rate_date=today, cny_per_unit=Decimal("7.80000000"), source="Test rates"
    )


@pytest.fixture
def insurer(db):
    return Insurer.objects.create(
        code="acme", name="Acme Global Health", payer_id="ACME-1", contact_email="gop@acme.example"
    )


@pytest.fixture
def other_insurer(db):
    return Insurer.objects.create(code="zenith", name="Zenith Assistance", payer_id="ZEN-9")


@pytest.fixture
def agent(users, insurer):
    InsurerAgent.objects.create(user=users["insurer_agent"], insurer=insurer)
    return users["insurer_agent"]


@pytest.fixture
def other_agent(other_insurer):
    user = make_user("zenith-agent", Role.INSURER_AGENT)
    InsurerAgent.objects.create(user=user, insurer=other_insurer)
    return user


@pytest.fixture
def contract(hospital, insurer, users):
    return services.save_contract(
        users["hospital_admin"],
        hospital,
        {
            "insurer": "acme",
            "direct_billing": True,
            "preauth_kinds": ["procedure"],
            "preauth_threshold_cny": "900",
            "answer_hours": 48,
            "currency": "USD",
        },
    )


@pytest.fixture
def knee(hospital):
    return make_item(
        hospital,
        code="KNEE-01",
        kind="procedure",
        price=Decimal("30000.00"),
        en="Knee arthroscopy",
        zh="膝关节镜手术",
        department="orthopaedics",
    )


def accepted_case(case, users, patient_user, mri, knee):
    """Triage the case, quote an MRI twice and a knee arthroscopy, send it, and let the patient accept."""
    today = clock.today()
    case.desired_arrival = today + datetime.timedelta(days=10)
    case.desired_departure = today + datetime.timedelta(days=20)
    case.save(update_fields=["desired_arrival", "desired_departure"])
    case = move(users["coordinator"], case, "triage")
    quote = quotes.create_draft(users["coordinator"], case, {"valid_until": today + datetime.timedelta(days=30)})
    quotes.add_line(users["coordinator"], quote, {"item": mri.pk, "quantity": 2})
    quotes.add_line(users["coordinator"], quote, {"item": knee.pk, "quantity": 1})
    quote.refresh_from_db()
    quotes.send_quote(users["coordinator"], quote)
    quotes.accept_quote(patient_user, quote)
    case.refresh_from_db()
    return case


@pytest.fixture
def quoted_case(case, users, rates_today, mri, knee):
    return accepted_case(case, users, users["patient"], mri, knee)


def cover(coordinator, case, *, insurer="acme", member_id="ACME-0001", days=365):
    today = clock.today()
    return services.record_coverage(
        coordinator,
        case,
        {
            "insurer": insurer,
            "member_id": member_id,
            "policy_number": "POL-1",
            "plan": "Global Gold",
            "valid_from": today - datetime.timedelta(days=30),
            "valid_until": today + datetime.timedelta(days=days),
        },
    )


def consent(case):
    """The case's patient consents to sending their health data to the case's insurer."""
    return services.grant_gop_consent(case.patient.user, case)


@pytest.fixture
def bare_coverage(quoted_case, users, contract):
    """The coverage, without the patient's consent to send anything to the insurer."""
    return cover(users["coordinator"], quoted_case)


@pytest.fixture
def coverage(bare_coverage):
    """The coverage, and the patient's consent to send their health data to the insurer."""
    consent(bare_coverage.case)
    return bare_coverage


GOP_DATA = {
    "diagnosis_code": "M23.2",
    "diagnosis_text": "Meniscus tear, right knee",
    "treating_doctor": "Dr Li Wei",
    "clinical_notes": "Knee pain after a fall; MRI shows a tear.",
}


@pytest.fixture
def gop(coverage, users, agent):
    return services.send_guarantee_request(users["coordinator"], coverage.case, GOP_DATA)


@pytest.fixture
def other_case(other_hospital, other_insurer, users, other_patient, rates_today):
    """A case at the other hospital, covered by the other insurer, with a GOP request sent."""
    admin = users["other_admin"]
    services.save_contract(
        admin, other_hospital, {"insurer": "zenith", "preauth_kinds": ["imaging"], "currency": "EUR"}
    )
    mri = make_item(other_hospital, code="MRI-W", kind="imaging", price=Decimal("600.00"))
    knee = make_item(
        other_hospital, code="KNEE-W", kind="procedure", price=Decimal("25000.00"), department="orthopaedics"
    )
    case = make_case(other_patient, other_hospital, services=[mri])
    coordinator = users["other_coordinator"]
    staff = {"coordinator": coordinator}
    case = accepted_case(case, staff, other_patient.user, mri, knee)
    cover(coordinator, case, insurer="zenith", member_id="ZEN-777")
    consent(case)
    gop = services.send_guarantee_request(coordinator, case, GOP_DATA)
    return gop


__all__ = ["fixture_json", "make_patient", "pas_request"]
