"""The demo loader (idempotent, a GOP waiting in the portal) and `laihua insurance remind|list`."""

import datetime
import io

import pytest
from django.core import mail
from django.core.management import call_command
from django.core.management.base import CommandError

from laihua.insurance import services
from laihua.insurance.models import Contract, Guarantee, GuaranteeStatus, Insurer
from laihua.kit import clock


@pytest.fixture
def demo(db, settings):
    settings.LAIHUA_DEMO = True
    call_command("load_demo", verbosity=0)


def test_the_demo_has_insurers_contracts_and_a_gop_waiting_for_the_agent(demo):
    from laihua.accounts.models import User

    assert set(Insurer.objects.filter(is_demo=True).values_list("code", flat=True)) == {
        "demo-global-health",
        "demo-assist",
    }
    agent = User.objects.get(username="insurer-agent")
    assert services.insurer_of(agent).code == "demo-global-health"
    gop = Guarantee.objects.get(case__events__kind="opened", case__events__detail__demo="insurance-knee-huangpu")
    assert gop.status == GuaranteeStatus.SUBMITTED and gop.quote.status == "accepted"
    assert gop.lines.filter(needs_preauth=True).exists() and gop.claim_json["resourceType"] == "Bundle"
    assert services.coverage_problems(gop.coverage) == []
    assert gop in services.visible_guarantees(agent)
    gops, contracts = Guarantee.objects.count(), Contract.objects.count()
    from laihua.demo import insurance as insurance_demo

    assert insurance_demo.load() == 0  # loading again adds nothing
    assert Guarantee.objects.count() == gops and Contract.objects.count() == contracts


@pytest.mark.django_db
def test_the_remind_command_reminds_once(gop, monkeypatch, django_capture_on_commit_callbacks):
    out, err = io.StringIO(), io.StringIO()
    call_command("insurance", "remind", stdout=out, stderr=err)
    assert out.getvalue() == "" and "0 reminders" in err.getvalue()
    later = gop.deadline_at + datetime.timedelta(hours=1)
    monkeypatch.setattr(clock, "now", lambda: later)
    out = io.StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("insurance", "remind", stdout=out, stderr=io.StringIO())
    assert out.getvalue().split() == [gop.number]
    out = io.StringIO()
    call_command("insurance", "remind", stdout=out, stderr=io.StringIO())
    assert out.getvalue() == ""
    assert len([m for m in mail.outbox if "尚未获得答复" in m.subject]) == 1  # staff without a language: Chinese
    listing = io.StringIO()
    call_command("insurance", "list", "--insurer", "acme", stdout=listing)
    assert gop.number in listing.getvalue() and "OVERDUE" in listing.getvalue()
    with pytest.raises(CommandError):
        call_command("insurance", "list", "--insurer", "nobody")
