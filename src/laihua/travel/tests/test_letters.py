import datetime
import io

import pytest
from django.core import mail
from pypdf import PdfReader

from laihua.audit.models import AuditEvent
from laihua.cases.models import CaseEvent
from laihua.errors import InvalidInput, NotFound, PermissionDenied
from laihua.travel import services
from laihua.travel.models import InvitationLetter
from laihua.travel.tests.conftest import letter_data

pytestmark = pytest.mark.django_db


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def issue(actor, case, **extra):
    return services.issue_letter(actor, case.reference, letter_data(case, **extra))


def test_letter_pdf_holds_the_passport_number_and_chinese_and_english_headings(
    accepted, users, signatory, companion, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        letter = issue(users["coordinator"], accepted, companions=[str(companion.pk)])
    text = pdf_text(bytes(letter.pdf))
    assert "邀请函" in text and "Letter of Invitation" in text
    assert "X1234567" in text  # the full passport number, for the consulate
    assert "C7654321" in text and "DOE John" in text  # the companion ticked
    assert "DOE Jane" in text and "美国" in text and "United States" in text
    assert "就医" in text and "Medical treatment" in text
    assert "张伟" in text and "国际医疗部主任" in text
    assert "东方示范医院" in text and "East Demo Hospital" in text
    assert letter.number == f"EAST-{letter.issued_at.year}-0001"
    assert letter.snapshot["invitee"]["passport_number"] == "X1234567"
    assert letter.snapshot["arrival"] == accepted.desired_arrival.isoformat()
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [users["patient"].email]
    assert letter.number in mail.outbox[0].body
    assert AuditEvent.objects.filter(action="travel.letter.issue", object_id=str(accepted.pk)).exists()
    assert CaseEvent.objects.filter(case=accepted, kind="letter_issued").exists()


def test_letter_is_refused_before_the_patient_accepts_a_quote(accepted, users, signatory):
    for state in ("inquiry", "triage", "quoted", "declined", "cancelled", "expired"):
        accepted.state = state
        accepted.save(update_fields=["state"])
        with pytest.raises(services.CaseNotAccepted) as error:
            issue(users["coordinator"], accepted)
        assert error.value.status == 409
    assert not InvitationLetter.objects.exists()


def test_letter_is_refused_to_other_hospitals_staff_and_other_patients_as_not_found(
    accepted, users, signatory, other_patient
):
    for actor in (users["other_coordinator"], users["other_admin"], other_patient.user):
        with pytest.raises(NotFound):
            issue(actor, accepted)
    assert not InvitationLetter.objects.exists()


def test_letter_is_refused_to_clinicians_finance_and_the_patient(accepted, users, signatory):
    for actor in (users["clinician"], users["finance"], users["patient"]):
        with pytest.raises(PermissionDenied):
            issue(actor, accepted)
    assert not InvitationLetter.objects.exists()


def test_a_hospital_admin_may_issue_too(accepted, users, signatory):
    assert issue(users["hospital_admin"], accepted).issued_by == users["hospital_admin"]


def test_a_missing_signatory_is_a_clear_error(accepted, users, signatory):
    signatory.signatory_title = {}
    signatory.save()
    with pytest.raises(services.SignatoryMissing) as error:
        issue(users["coordinator"], accepted)
    assert "signatory" in str(error.value.message)
    assert not InvitationLetter.objects.exists()


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"departure": "2000-01-01"}, "departure"),
        ({"arrival": "2001-01-01", "departure": "2001-01-10"}, "arrival"),
        ({"arrival": "someday"}, "arrival"),
        ({"payer": "insurer", "payer_name": ""}, "payer_name"),
        ({"payer": "lottery"}, "payer"),
        ({"purpose": "   "}, "purpose"),
        ({"companions": ["999999"]}, "companions"),
    ],
)
def test_bad_letter_input_names_the_field_and_issues_nothing(accepted, users, signatory, extra, field):
    with pytest.raises(InvalidInput) as error:
        issue(users["coordinator"], accepted, **extra)
    assert error.value.field == field
    assert not InvitationLetter.objects.exists()


def test_another_patients_companion_cannot_be_put_on_the_letter(accepted, users, signatory, other_patient):
    stranger = other_patient.companions.create(
        family_name="X",
        relation="friend",
        sex="F",
        date_of_birth=datetime.date(1990, 1, 1),
        nationality="DE",
        passport_number="D000111",
    )
    with pytest.raises(InvalidInput) as error:
        issue(users["coordinator"], accepted, companions=[str(stranger.pk)])
    assert error.value.field == "companions"


def test_reissuing_revokes_the_earlier_letter_and_keeps_it_in_the_history(accepted, users, signatory):
    first = issue(users["coordinator"], accepted)
    later_departure = accepted.desired_departure + datetime.timedelta(days=5)
    second = issue(
        users["coordinator"], accepted, departure=later_departure.isoformat(), payer="insurer", payer_name="Bupa Global"
    )
    first.refresh_from_db()
    assert first.revoked and second.number in first.revoke_reason and not second.revoked
    assert first.snapshot["departure"] == accepted.desired_departure.isoformat()  # as it was printed
    assert second.snapshot["departure"] == later_departure.isoformat()
    assert second.number.endswith("-0002")
    assert "Bupa Global" in pdf_text(bytes(second.pdf))
    assert [letter.number for letter in services.list_letters(users["coordinator"], accepted.reference)] == [
        second.number,
        first.number,
    ]
    assert [letter.number for letter in services.list_letters(users["patient"], accepted.reference)] == [second.number]


def test_patient_downloads_the_letter_and_the_download_is_audited(accepted, users, signatory):
    letter = issue(users["coordinator"], accepted)
    found, pdf = services.letter_pdf(users["patient"], letter.pk)
    assert found == letter and pdf.startswith(b"%PDF")
    event = AuditEvent.objects.get(action="travel.letter.download")
    assert event.actor == users["patient"] and event.detail["letter"] == letter.number


def test_letter_download_is_refused_to_other_patients_other_hospitals_and_clinicians(
    accepted, users, signatory, other_patient
):
    letter = issue(users["coordinator"], accepted)
    for actor in (other_patient.user, users["other_coordinator"]):
        with pytest.raises(NotFound):
            services.letter_pdf(actor, letter.pk)
    with pytest.raises(PermissionDenied):
        services.letter_pdf(users["clinician"], letter.pk)
    assert not AuditEvent.objects.filter(action="travel.letter.download").exists()


def test_patient_cannot_download_a_revoked_letter_but_staff_can(accepted, users, signatory):
    letter = issue(users["coordinator"], accepted)
    with pytest.raises(PermissionDenied):
        services.revoke_letter(users["patient"], letter.pk)
    services.revoke_letter(users["coordinator"], letter.pk, reason="Wrong dates")
    with pytest.raises(NotFound):
        services.letter_pdf(users["patient"], letter.pk)
    assert services.letter_pdf(users["coordinator"], letter.pk)[0].revoked
    assert AuditEvent.objects.filter(action="travel.letter.revoke").count() == 1
