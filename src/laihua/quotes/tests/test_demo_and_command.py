import datetime
from io import StringIO

import pytest
from django.core.management import call_command

from laihua.accounts.models import Role
from laihua.demo import quotes as demo
from laihua.kit import clock
from laihua.quotes import services
from laihua.quotes.models import Quote, Status
from tests.builders import make_case, make_patient, make_user

pytestmark = pytest.mark.django_db


def test_demo_quotes_follow_the_state_of_each_case_and_load_once(users, patient, hospital, mri, rates_today):
    triage = make_case(patient, hospital, state="triage", services=[mri])
    quoted = make_case(patient, hospital, state="quoted", services=[mri])
    accepted = make_case(patient, hospital, state="accepted")
    inquiry = make_case(patient, hospital, state="inquiry", services=[mri])
    stranger = make_patient(make_user("mn", Role.PATIENT), nationality="MN", currency="MNT")
    no_rate = make_case(stranger, hospital, state="quoted", services=[mri])

    summary = demo.load()
    assert (summary.created, summary.skipped) == (3, 1)
    assert Quote.objects.get(case=triage).status == Status.DRAFT
    sent = Quote.objects.get(case=quoted)
    assert sent.status == Status.SENT and sent.total_converted is not None and sent.rate_date == clock.today()
    assert sent.total_cny == sum(sent.lines.values_list("amount_cny", flat=True))
    assert sent.lines.filter(manual=True).count() == 1 and sent.deposit_cny <= sent.total_cny
    assert Quote.objects.get(case=accepted).status == Status.ACCEPTED  # priced from the catalog's first service
    assert not Quote.objects.filter(case__in=[inquiry, no_rate]).exists()

    assert demo.load().created == 0
    assert Quote.objects.count() == 3


def test_demo_skips_gracefully_without_cases(db):
    assert demo.load().created == 0


def test_a_demo_quote_can_be_accepted_by_its_patient(users, patient, hospital, mri, rates_today):
    case = make_case(patient, hospital, state="quoted", services=[mri])
    demo.load()
    quote = Quote.objects.get(case=case)
    assert services.accept_quote(users["patient"], quote).status == Status.ACCEPTED


def test_the_expire_command_expires_past_validity(sent):
    Quote.objects.filter(pk=sent.pk).update(valid_until=clock.today() - datetime.timedelta(days=1))
    out = StringIO()
    call_command("quotes", "expire", stdout=out)
    assert "1 quote expired." in out.getvalue() and sent.number in out.getvalue()
    assert Quote.objects.get(pk=sent.pk).status == Status.EXPIRED


def test_the_expire_command_takes_a_date(sent):
    future = (sent.valid_until + datetime.timedelta(days=1)).isoformat()
    call_command("quotes", "expire", "--date", future, stdout=StringIO())
    assert Quote.objects.get(pk=sent.pk).status == Status.EXPIRED


def test_the_expire_command_refuses_a_bad_date(db):
    from django.core.management import CommandError

    with pytest.raises(CommandError):
        call_command("quotes", "expire", "--date", "tomorrow", stdout=StringIO())
