"""The patient's consent to send their health data to the insurer (PIPL): without it in force for that insurer no
GOP request goes out, nor goes out again; only the patient grants it; a withdrawal leaves what was sent with the
insurer and stops the rest; grant, withdrawal, request and refusals are audited and on the timeline."""

import datetime
import threading
import time

import pytest
from django.db import connection, transaction

from laihua.audit.models import AuditEvent
from laihua.cases.models import Case, CaseEvent, Message
from laihua.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from laihua.insurance import services
from laihua.insurance.models import Guarantee, GuaranteeStatus, InsurerConsent
from laihua.insurance.tests.conftest import GOP_DATA, consent, cover
from laihua.kit import clock
from laihua.records import services as records
from laihua.records.models import Consent, ConsentStatus, ConsentUse, PaymentDataType

pytestmark = pytest.mark.django_db


def pend(gop, agent):
    return services.answer_guarantee_request(
        agent, gop, {"status": "pended", "disposition": "Send the MRI report, please."}
    )


# --- sending needs the consent --------------------------------------------------------------------


def test_no_gop_request_without_the_patients_consent(bare_coverage, users):
    case = bare_coverage.case
    with pytest.raises(services.ConsentMissing) as refused:
        services.send_guarantee_request(users["coordinator"], case, GOP_DATA)
    error = refused.value
    assert (error.code, error.field, error.status) == ("consent_missing", "consent", 409)
    assert "Acme Global Health" in str(error.message) and "Ask the patient for consent" in str(error.message)
    assert not Guarantee.objects.exists()
    assert not case.events.filter(kind="gop_sent").exists()
    event = AuditEvent.objects.get(action="insurance.consent_missing")
    assert event.actor == users["coordinator"]
    assert event.detail == {"case": case.reference, "insurer": "acme", "sending": "gop"}


def test_the_consent_checked_first_names_what_is_missing_before_the_form(bare_coverage, users):
    """A wrong form does not hide the missing consent: that is what blocks the request."""
    with pytest.raises(services.ConsentMissing):
        services.send_guarantee_request(users["coordinator"], bare_coverage.case, {"diagnosis_code": "knee"})


def test_a_consent_for_another_insurer_does_not_count(coverage, users, other_insurer):
    case = coverage.case
    cover(users["coordinator"], case, insurer="zenith", member_id="ZEN-1")  # the patient changed insurer
    with pytest.raises(services.ConsentMissing) as refused:
        services.send_guarantee_request(users["coordinator"], case, GOP_DATA)
    assert "Zenith Assistance" in str(refused.value.message)


def test_an_expired_consent_does_not_count(coverage, users):
    Consent.objects.update(period_end=clock.today() - datetime.timedelta(days=1))
    with pytest.raises(services.ConsentMissing):
        services.send_guarantee_request(users["coordinator"], coverage.case, GOP_DATA)


def test_the_request_names_the_consent_it_was_sent_under(gop):
    consent = Consent.objects.get(case=gop.case)
    event = AuditEvent.objects.get(action="insurance.gop.send")
    assert event.detail["consent"] == consent.pk


# --- the patient grants it ------------------------------------------------------------------------


def test_the_patient_grants_it_for_the_case_insurer(bare_coverage, users):
    case = bare_coverage.case
    granted = services.grant_gop_consent(users["patient"], case)
    assert granted.use == ConsentUse.PAYMENT and granted.status == ConsentStatus.ACTIVE
    assert (granted.recipient_name, granted.recipient_system, granted.recipient_identifier) == (
        "Acme Global Health",
        "urn:laihua:insurer",
        "acme",
    )
    assert granted.data_types == ["diagnosis", "treating_doctor", "clinical_notes", "itemised_estimate"]
    assert set(granted.data_types) == set(PaymentDataType.values)
    assert (granted.period_start, granted.period_end) == (clock.today(), clock.today() + datetime.timedelta(days=365))
    assert InsurerConsent.objects.get(consent=granted).insurer == bare_coverage.insurer
    assert services.consent_for(case, bare_coverage.insurer) == granted
    event = AuditEvent.objects.get(action="records.consent_grant")
    assert event.actor == users["patient"] and event.detail["use"] == "payment"
    line = case.events.get(kind="payment_consent_granted")
    assert line.note == "Acme Global Health" and not line.staff_only
    # then the request goes out
    assert services.send_guarantee_request(users["coordinator"], case, GOP_DATA).status == GuaranteeStatus.SUBMITTED


def test_the_patient_chooses_until_when(bare_coverage, users):
    until = clock.today() + datetime.timedelta(days=90)
    granted = services.grant_gop_consent(users["patient"], bare_coverage.case, period_end=until.isoformat())
    assert granted.period_end == until


@pytest.mark.parametrize(
    "period_end",
    ["yesterday", (datetime.date(2000, 1, 1)).isoformat(), "far"],
)
def test_a_wrong_period_names_the_field_and_saves_nothing(bare_coverage, users, period_end):
    if period_end == "far":
        period_end = (clock.today() + datetime.timedelta(days=4 * 365)).isoformat()
    with pytest.raises(InvalidInput) as refused:
        services.grant_gop_consent(users["patient"], bare_coverage.case, period_end=period_end)
    assert refused.value.field == "period_end"
    assert not Consent.objects.exists() and not InsurerConsent.objects.exists()


def test_given_once(coverage, users):
    with pytest.raises(Conflict) as refused:
        services.grant_gop_consent(users["patient"], coverage.case)
    assert refused.value.code == "consent_exists"
    assert Consent.objects.count() == 1


def test_nothing_to_consent_to_without_an_insurer(quoted_case, users):
    with pytest.raises(Conflict) as refused:
        services.grant_gop_consent(users["patient"], quoted_case)
    assert refused.value.field == "insurer"


@pytest.mark.parametrize(
    ("role", "error"),
    [
        ("coordinator", PermissionDenied),
        ("hospital_admin", PermissionDenied),
        ("clinician", PermissionDenied),
        ("finance", PermissionDenied),
        ("other_coordinator", PermissionDenied),
        ("insurer_agent", PermissionDenied),
        ("platform_admin", PermissionDenied),
    ],
)
def test_nobody_but_the_patient_grants_it(bare_coverage, users, agent, role, error):
    with pytest.raises(error):
        services.grant_gop_consent(users[role], bare_coverage.case)
    assert not Consent.objects.exists()
    assert not AuditEvent.objects.filter(action="records.consent_grant").exists()


def test_another_patient_cannot_grant_it(bare_coverage, other_patient):
    with pytest.raises(NotFound):
        services.grant_gop_consent(other_patient.user, bare_coverage.case)


# --- the desk asks for it -------------------------------------------------------------------------


def test_the_desk_asks_the_patient_with_a_message_and_a_link(
    bare_coverage, users, mailoutbox, settings, django_capture_on_commit_callbacks
):
    settings.SITE_URL = "https://laihua.example"
    case = bare_coverage.case
    with django_capture_on_commit_callbacks(execute=True):  # the e-mail goes out once the message is committed
        message = services.ask_for_consent(users["coordinator"], case)
    assert [mail.to for mail in mailoutbox] == [[users["patient"].email]]
    assert not message.internal and message.author == users["coordinator"]
    assert "Acme Global Health" in message.body
    assert f"https://laihua.example/en/records/cases/{case.reference}/#insurer-consent" in message.body
    assert case.events.filter(kind="payment_consent_requested", staff_only=False).exists()
    event = AuditEvent.objects.get(action="insurance.consent_request")
    assert event.detail["insurer"] == "acme" and event.detail["message"] == message.pk
    assert services.consent_state(case).asked_at is not None


def test_the_request_is_in_the_patients_language(bare_coverage, users):
    case = bare_coverage.case
    Case.objects.filter(pk=case.pk).update(language="zh-hans")
    case.refresh_from_db()
    message = services.ask_for_consent(users["coordinator"], case)
    assert f"/zh-hans/records/cases/{case.reference}/#insurer-consent" in message.body
    assert "同意" in message.body  # "consent", in Chinese


@pytest.mark.parametrize("role", ["clinician", "finance", "patient", "other_coordinator", "insurer_agent"])
def test_only_the_desk_of_the_case_hospital_asks(bare_coverage, users, role):
    with pytest.raises(PermissionDenied):
        services.ask_for_consent(users[role], bare_coverage.case)
    assert not Message.objects.exists()


def test_no_asking_once_it_is_given(coverage, users):
    with pytest.raises(Conflict) as refused:
        services.ask_for_consent(users["coordinator"], coverage.case)
    assert refused.value.code == "consent_exists"


# --- withdrawal -----------------------------------------------------------------------------------


def test_withdrawal_leaves_the_open_request_with_the_insurer_and_stops_sending_it_again(gop, users, agent):
    case = gop.case
    consent = Consent.objects.get(case=case)
    sent = dict(gop.claim_json)
    records.withdraw_consent(users["patient"], consent.pk)

    gop.refresh_from_db()
    assert gop.status == GuaranteeStatus.SUBMITTED and gop.claim_json == sent  # already with the insurer
    assert services.get_guarantee(agent, gop.number).claim_json == sent  # the insurer still reads it
    gop = pend(gop, agent)
    with pytest.raises(services.ConsentMissing) as refused:
        services.resubmit_guarantee_request(users["coordinator"], gop, {"clinical_notes": "MRI report attached."})
    assert "withdrew" in str(refused.value.message)
    gop.refresh_from_db()
    assert gop.status == GuaranteeStatus.PENDED and "MRI report" not in gop.clinical_notes
    assert not case.events.filter(kind="gop_resubmitted").exists()

    withdrawn = AuditEvent.objects.get(action="records.consent_withdraw")
    assert withdrawn.actor == users["patient"] and withdrawn.detail == {"use": "payment"}
    assert case.events.get(kind="payment_consent_withdrawn").note == "Acme Global Health"
    refusal = AuditEvent.objects.get(action="insurance.consent_missing")
    assert refusal.detail["sending"] == "gop_resubmit"
    state = services.consent_state(case)
    assert state.status == "withdrawn" and state.withdrawn.pk == consent.pk


def test_after_a_new_consent_it_goes_out_again(gop, users, agent):
    records.withdraw_consent(users["patient"], Consent.objects.get(case=gop.case).pk)
    gop = pend(gop, agent)
    consent(gop.case)
    again = services.resubmit_guarantee_request(users["coordinator"], gop, {"clinical_notes": "MRI report."})
    assert again.status == GuaranteeStatus.SUBMITTED


@pytest.mark.parametrize(("role", "error"), [("coordinator", PermissionDenied), ("other_coordinator", NotFound)])
def test_staff_cannot_withdraw_it_for_the_patient(coverage, users, role, error):
    consent = Consent.objects.get(case=coverage.case)
    with pytest.raises(error):
        records.withdraw_consent(users[role], consent.pk)
    consent.refresh_from_db()
    assert consent.status == ConsentStatus.ACTIVE


def test_the_insurer_agent_cannot_withdraw_it_nor_see_it(coverage, agent):
    consent = Consent.objects.get(case=coverage.case)
    with pytest.raises(NotFound):
        records.withdraw_consent(agent, consent.pk)


def test_a_payment_consent_does_not_let_records_be_emailed(coverage, users, mailoutbox):
    """It names an insurer for payment, not an e-mail address for records."""
    with pytest.raises(records.ConsentRequired):
        records.send_records(users["coordinator"], coverage.case, recipient_email="")
    with pytest.raises(records.ConsentRequired):
        records.send_records(users["coordinator"], coverage.case, recipient_email="gop@acme.example")
    assert not mailoutbox


# --- a withdrawal and a sending at the same moment ------------------------------------------------


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_request_waits_for_a_withdrawal_in_progress_and_is_refused(coverage, users):
    """The sending locks the consent: it cannot read it as given while the patient's withdrawal commits."""
    consent = Consent.objects.get(case_id=coverage.case_id)
    locked, outcomes = threading.Event(), {}

    def withdraw():
        try:
            with transaction.atomic():
                records.withdraw_consent(users["patient"], consent.pk)
                locked.set()
                time.sleep(0.5)  # the sending starts while the withdrawal is not committed yet
            outcomes["withdraw"] = "ok"
        finally:
            connection.close()

    def send():
        try:
            locked.wait(timeout=10)
            services.send_guarantee_request(users["coordinator"], Case.objects.get(pk=coverage.case_id), GOP_DATA)
            outcomes["send"] = "ok"
        except Conflict as exc:
            outcomes["send"] = exc.code
        finally:
            connection.close()

    threads = [threading.Thread(target=withdraw), threading.Thread(target=send)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert outcomes == {"withdraw": "ok", "send": "consent_missing"}
    assert not Guarantee.objects.filter(case_id=coverage.case_id).exists()
    assert CaseEvent.objects.filter(case_id=coverage.case_id, kind="gop_sent").count() == 0
