"""Each role against the reads docs/roles.md decides: a case's consents (the records list on the page and in the API,
FHIR Consent, the insurer's consent state), its invitation letters and the insurers' contracts. Refusals are 403 for
a role the hospital has but that does not read this, 404 for another hospital's, another insurer's or no party's."""

import datetime

import pytest
from django.urls import reverse

from laihua.accounts.models import Role
from laihua.accounts.services import create_api_token
from laihua.audit.models import AuditEvent
from laihua.insurance.models import Contract, Coverage, Insurer, InsurerAgent
from laihua.insurance.services import grant_gop_consent
from laihua.kit import clock
from laihua.records import services as records
from laihua.travel import services as travel
from laihua.travel.models import LetterSettings
from tests.builders import make_case, make_user

pytestmark = pytest.mark.django_db

ROLES = [
    "patient",
    "coordinator",
    "clinician",
    "finance",
    "hospital_admin",
    "agent_of_the_insurer",
    "agent_of_another_insurer",
    "other_hospital_admin",
    "other_hospital_coordinator",
    "platform_admin",
]
NOBODY = {"agent_of_the_insurer": 404, "agent_of_another_insurer": 404, "other_hospital_admin": 404}
NOBODY |= {"other_hospital_coordinator": 404, "platform_admin": 404}
RECORDS_CONSENTS = {"patient": 200, "coordinator": 200, "clinician": 200, "finance": 403, "hospital_admin": 200}
RECORDS_CONSENTS |= NOBODY
PAYMENT_CONSENT = {**RECORDS_CONSENTS, "finance": 200}
LETTERS = {"patient": 200, "coordinator": 200, "clinician": 403, "finance": 403, "hospital_admin": 200, **NOBODY}
CONTRACT = {"patient": 403, "coordinator": 200, "clinician": 403, "finance": 200, "hospital_admin": 200}
CONTRACT |= {"agent_of_the_insurer": 200, "agent_of_another_insurer": 404, "other_hospital_admin": 404}
CONTRACT |= {"other_hospital_coordinator": 404, "platform_admin": 200}


@pytest.fixture
def world(users, patient, hospital, mri):
    """An accepted case covered by Global Care under its contract with the hospital, the patient's consent to send
    records to their home doctor and to send health data to the insurer, and an invitation letter."""
    arrival = clock.today() + datetime.timedelta(days=30)
    case = make_case(
        patient,
        hospital,
        state="accepted",
        services=[mri],
        desired_arrival=arrival,
        desired_departure=arrival + datetime.timedelta(days=12),
    )
    insurer = Insurer.objects.create(code="globalcare", name="Global Care Assistance", country="GB")
    other = Insurer.objects.create(code="otherlife", name="Other Life", country="DE")
    agents = {}
    for name, company in (("agent_of_the_insurer", insurer), ("agent_of_another_insurer", other)):
        agents[name] = make_user(name.replace("_", "-"), Role.INSURER_AGENT)
        InsurerAgent.objects.create(user=agents[name], insurer=company)
    contract = Contract.objects.create(hospital=hospital, insurer=insurer, direct_billing=True, currency="CNY")
    Coverage.objects.create(
        case=case,
        insurer=insurer,
        contract=contract,
        member_id="GC-123",
        valid_from=clock.today() - datetime.timedelta(days=365),
        valid_until=clock.today() + datetime.timedelta(days=365),
        recorded_by=users["coordinator"],
    )
    payment_consent = grant_gop_consent(patient.user, case)
    records_consent = records.grant_consent(
        patient.user,
        case,
        recipient_name="Dr Home",
        recipient_email="home@example.org",
        purpose="Follow-up at home",
        data_types=["summary"],
        period_start=clock.today(),
        period_end=clock.today() + datetime.timedelta(days=90),
    )
    LetterSettings.objects.create(
        hospital=hospital,
        signatory_name={"en": "ZHANG Wei", "zh-hans": "张伟"},
        signatory_title={"en": "Director", "zh-hans": "主任"},
        reference_prefix="EAST",
    )
    letter = travel.issue_letter(
        users["coordinator"],
        case.reference,
        {
            "arrival": case.desired_arrival.isoformat(),
            "departure": case.desired_departure.isoformat(),
            "purpose": "MRI of the right knee",
            "payer": "self",
            "payer_name": "",
            "companions": [],
        },
    )
    actors = {
        **{name: users[name] for name in ("coordinator", "clinician", "finance", "hospital_admin", "platform_admin")},
        "patient": patient.user,
        "other_hospital_admin": users["other_admin"],
        "other_hospital_coordinator": users["other_coordinator"],
        **agents,
    }
    return {
        "case": case,
        "contract": contract,
        "payment_consent": payment_consent,
        "records_consent": records_consent,
        "letter": letter,
        "actors": actors,
    }


def get(client, user, url):
    return client.get(url, headers={"Authorization": f"Bearer {create_api_token(user, user, 'test')[1]}"})


def audited(user, action) -> int:
    return AuditEvent.objects.filter(actor=user, action=action).count()


@pytest.mark.parametrize("who", ROLES)
def test_the_records_consents_of_a_case(client, world, who):
    actor, case = world["actors"][who], world["case"]
    response = get(client, actor, f"/api/records/cases/{case.reference}/consents")
    assert response.status_code == RECORDS_CONSENTS[who], response.content
    client.force_login(actor)
    page = client.get(reverse("records:case", args=[case.reference]))
    assert page.status_code == RECORDS_CONSENTS[who]
    if RECORDS_CONSENTS[who] == 200:
        assert {row["id"] for row in response.json()} == {world["records_consent"].pk, world["payment_consent"].pk}
        assert "Dr Home" in page.content.decode()
        # Each read of the list (API, page) is audited, naming the consents read.
        events = AuditEvent.objects.filter(actor=actor, action="records.consent_view")
        assert events.count() == 2
        assert set(events.first().detail["consents"]) == {world["records_consent"].pk, world["payment_consent"].pk}
    else:
        assert audited(actor, "records.consent_view") == 0


@pytest.mark.parametrize("who", ROLES)
def test_fhir_consent_reads(client, world, who):
    actor = world["actors"][who]
    for key, expected in (("records_consent", RECORDS_CONSENTS[who]), ("payment_consent", PAYMENT_CONSENT[who])):
        before = audited(actor, "records.consent_view")
        response = get(client, actor, f"/fhir/Consent/{world[key].pk}")
        assert response.status_code == expected, (key, response.content)
        assert audited(actor, "records.consent_view") == before + (expected == 200)
        if expected == 200:
            assert response.json()["resourceType"] == "Consent"


@pytest.mark.parametrize("who", ROLES)
def test_the_insurer_consent_state(client, world, who):
    actor = world["actors"][who]
    response = get(client, actor, f"/api/insurance/cases/{world['case'].reference}/consent")
    expected = PAYMENT_CONSENT[who]
    assert response.status_code == expected
    assert audited(actor, "insurance.consent_view") == (expected == 200)
    if expected == 200:  # the FHIR link it gives opens for whoever reads the state
        assert response.json()["status"] == "given"
        assert get(client, actor, f"/fhir/Consent/{world['payment_consent'].pk}").status_code == 200


@pytest.mark.parametrize("who", ROLES)
def test_invitation_letters(client, world, who):
    actor, letter = world["actors"][who], world["letter"]
    listed = get(client, actor, f"/api/travel/letters?case={world['case'].reference}")
    pdf = get(client, actor, f"/api/travel/letters/{letter.pk}/pdf")
    assert (listed.status_code, pdf.status_code) == (LETTERS[who], LETTERS[who])
    assert audited(actor, "travel.letter.download") == (LETTERS[who] == 200)
    if LETTERS[who] == 200:
        assert [row["number"] for row in listed.json()] == [letter.number] and pdf.content.startswith(b"%PDF")


@pytest.mark.parametrize("who", ROLES)
def test_insurer_contracts(client, world, who):
    actor, contract = world["actors"][who], world["contract"]
    one = get(client, actor, f"/api/insurance/contracts/{contract.pk}")
    listed = get(client, actor, "/api/insurance/contracts")
    client.force_login(actor)
    page = client.get(reverse("insurance:contracts"))
    assert one.status_code == CONTRACT[who], one.content
    refused_role = CONTRACT[who] == 403
    assert listed.status_code == page.status_code == (403 if refused_role else 200)
    if not refused_role:  # another hospital's or insurer's list is theirs, without this contract
        assert (contract.pk in [row["id"] for row in listed.json()]) == (CONTRACT[who] == 200)
        assert ('id="contract-globalcare"' in page.content.decode()) == (CONTRACT[who] == 200)
