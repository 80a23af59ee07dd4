"""First-response reminders: the coordinators of an unanswered case are told once when its first answer is due
soon and once when it is overdue, in their language, on the timeline and in the audit trail; never for an
answered or closed case, never anyone of another hospital; two workers at once send each notice once."""

import datetime
import io
import threading

import pytest
from django.core import mail
from django.core.management import call_command
from django.test import override_settings

from laihua.accounts.models import Role
from laihua.audit.models import AuditEvent
from laihua.cases.models import Case, CaseEvent
from laihua.cases.services import DUE_SOON, OVERDUE, note_first_response, remind_first_response
from laihua.cases.states import State
from laihua.jobs.models import OutgoingEmail
from laihua.jobs.tasks import remind_first_response as remind_job
from tests.builders import make_case, make_user


def _opened(case, hours_ago: float, now: datetime.datetime) -> Case:
    Case.objects.filter(pk=case.pk).update(created_at=now - datetime.timedelta(hours=hours_ago))
    case.refresh_from_db()
    return case


@pytest.fixture
def now():
    return datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)


def test_due_soon_then_overdue_each_once_to_the_assigned_coordinator_in_their_language(
    case, users, now, settings, mailoutbox
):
    settings.LAIHUA_FIRST_RESPONSE_HOURS, settings.LAIHUA_FIRST_RESPONSE_WARN_PERCENT = 24, 80
    coordinator = users["coordinator"]
    coordinator.preferred_language = "en"
    coordinator.save(update_fields=["preferred_language"])
    make_user("east-coord-2", Role.COORDINATOR, case.hospital)  # not told: the case has its coordinator
    Case.objects.filter(pk=case.pk).update(coordinator=coordinator)
    _opened(case, 19, now)  # 79% of the target
    assert remind_first_response(now=now) == []
    _opened(case, 20, now)  # 83%
    assert remind_first_response(now=now) == [(case.reference, DUE_SOON)]
    assert remind_first_response(now=now) == []
    (message,) = mailoutbox
    assert message.to == [coordinator.email]
    assert case.reference in message.subject and "due soon" in message.subject
    assert "2026-03-02 21:00" in message.body  # due 24 h after 13:00 UTC, in the site's time zone (UTC+8)

    _opened(case, 25, now)
    assert remind_first_response(now=now) == [(case.reference, OVERDUE)]
    assert remind_first_response(now=now + datetime.timedelta(hours=3)) == []
    assert len(mailoutbox) == 2 and "overdue" in mailoutbox[1].subject
    case.refresh_from_db()
    assert case.first_response_warned_at == now and case.first_response_reminded_at == now
    kinds = list(
        CaseEvent.objects.filter(case=case, kind__startswith="first_response").values_list("kind", "staff_only")
    )
    assert kinds == [(DUE_SOON, True), (OVERDUE, True)]
    audits = AuditEvent.objects.filter(action="case.first_response_remind", hospital_id=case.hospital_id)
    assert sorted(a.detail["notice"] for a in audits) == [DUE_SOON, OVERDUE]


def test_an_unassigned_case_tells_every_active_coordinator_of_its_hospital_and_nobody_else(
    case, users, now, mailoutbox
):
    users["coordinator"].preferred_language = "zh-hans"
    users["coordinator"].save(update_fields=["preferred_language"])
    second = make_user("east-coord-2", Role.COORDINATOR, case.hospital, preferred_language="en")
    make_user("east-coord-gone", Role.COORDINATOR, case.hospital, is_active=False)
    _opened(case, 30, now)
    assert remind_first_response(now=now) == [(case.reference, OVERDUE)]
    by_address = {message.to[0]: message for message in mailoutbox}
    assert set(by_address) == {users["coordinator"].email, second.email}  # not the other hospital's, not the gone
    assert "逾期" in by_address[users["coordinator"].email].subject  # the recipient's language
    assert "overdue" in by_address[second.email].subject
    # found overdue at once: not told afterwards that it is due soon
    assert remind_first_response(now=now) == []
    assert not CaseEvent.objects.filter(case=case, kind=DUE_SOON).exists()


@pytest.mark.parametrize(
    "settle", ["answered", State.CANCELLED, State.DECLINED], ids=["answered", "cancelled", "declined"]
)
def test_nothing_for_an_answered_or_closed_case(case, now, mailoutbox, settle):
    _opened(case, 30, now)
    if settle == "answered":
        note_first_response(case)
    else:
        Case.objects.filter(pk=case.pk).update(state=settle)
    assert remind_first_response(now=now) == []
    assert mailoutbox == [] and not CaseEvent.objects.filter(case=case, kind__startswith="first_response").exists()
    case.refresh_from_db()
    assert case.first_response_reminded_at is None


def test_each_hospital_s_case_goes_to_its_own_coordinators(case, users, other_hospital, now, mailoutbox):
    other_case = make_case(case.patient, other_hospital)
    _opened(case, 30, now)
    _opened(other_case, 30, now)
    assert sorted(remind_first_response(now=now)) == sorted(
        [(case.reference, OVERDUE), (other_case.reference, OVERDUE)]
    )
    sent = {message.to[0]: message.subject for message in mailoutbox}
    assert (
        case.reference in sent[users["coordinator"].email]
        and other_case.reference not in sent[users["coordinator"].email]
    )
    assert other_case.reference in sent[users["other_coordinator"].email]
    assert case.reference not in sent[users["other_coordinator"].email]


def test_the_warning_can_be_turned_off(case, now, settings, mailoutbox):
    settings.LAIHUA_FIRST_RESPONSE_WARN_PERCENT = 0
    _opened(case, 23, now)
    assert remind_first_response(now=now) == []


def test_the_job_and_the_command_write_outbox_rows_once_however_often_they_run(case, users, settings):
    settings.EMAIL_BACKEND = "laihua.jobs.mail.OutboxBackend"
    _opened(case, 30, datetime.datetime.now(datetime.UTC))
    assert remind_job.delay().get() == [f"{case.reference} {OVERDUE}"]
    assert remind_job.delay().get() == []
    out, err = io.StringIO(), io.StringIO()
    call_command("cases", "remind", stdout=out, stderr=err)
    assert out.getvalue() == "" and "0 reminders" in err.getvalue()
    assert list(OutgoingEmail.objects.values_list("to", flat=True)) == [[users["coordinator"].email]]


def test_the_command_prints_what_it_sent(case, now):
    _opened(case, 30, datetime.datetime.now(datetime.UTC))
    out, err = io.StringIO(), io.StringIO()
    call_command("cases", "remind", stdout=out, stderr=err)
    assert out.getvalue() == f"{case.reference}\t{OVERDUE}\n" and "1 reminder sent" in err.getvalue()
    assert len(mail.outbox) == 1


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_send_each_notice_once(hospital, users, patient, mri):
    """Four workers run the reminder job at the same moment over the same overdue cases: the conditional UPDATE
    lets exactly one claim each case, so each coordinator gets one e-mail per case."""
    from django.db import connection

    cases = [make_case(patient, hospital, services=[mri]) for _ in range(3)]
    Case.objects.filter(pk__in=[c.pk for c in cases]).update(
        created_at=datetime.datetime.now(datetime.UTC) - datetime.timedelta(hours=30)
    )
    barrier = threading.Barrier(4)
    results, lock = [], threading.Lock()

    def run():
        try:
            barrier.wait()
            sent = remind_first_response()
        finally:
            connection.close()
        with lock:
            results.extend(sent)

    with override_settings(EMAIL_BACKEND="laihua.jobs.mail.OutboxBackend"):
        threads = [threading.Thread(target=run) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert sorted(results) == sorted((c.reference, OVERDUE) for c in cases)
    assert OutgoingEmail.objects.count() == 3
    assert CaseEvent.objects.filter(kind=OVERDUE).count() == 3
