"""Two GOP requests for one case, or two answers to one request, at the same moment: exactly one wins."""

import datetime

import pytest

from laihua.cases.models import Case
from laihua.insurance import services
from laihua.insurance.models import Guarantee, GuaranteeStatus
from laihua.insurance.tests.conftest import GOP_DATA
from laihua.kit import clock
from laihua.quotes.tests.test_concurrency import _race  # the same two-thread race


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_sending_twice_at_once_sends_one_request(coverage, users):
    coordinator = users["coordinator"]
    outcomes = _race(
        [lambda: services.send_guarantee_request(coordinator, Case.objects.get(pk=coverage.case_id), GOP_DATA)] * 2
    )
    assert outcomes == ["conflict", "ok"]
    assert Guarantee.objects.filter(case_id=coverage.case_id).count() == 1
    assert Case.objects.get(pk=coverage.case_id).events.filter(kind="gop_sent").count() == 1


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_approving_and_denying_at_once_records_one_answer(gop, agent):
    today = clock.today()
    approve = {
        "status": "approved",
        "reference": "R-1",
        "amount": "100",
        "currency": "USD",
        "valid_from": today,
        "valid_until": today + datetime.timedelta(days=31),
    }
    deny = {"status": "denied", "disposition": "Not covered."}
    outcomes = _race(
        [
            lambda: services.answer_guarantee_request(agent, Guarantee.objects.get(pk=gop.pk), approve),
            lambda: services.answer_guarantee_request(agent, Guarantee.objects.get(pk=gop.pk), deny),
        ]
    )
    assert outcomes == ["gop_not_open", "ok"]
    assert Guarantee.objects.get(pk=gop.pk).status in (GuaranteeStatus.APPROVED, GuaranteeStatus.DENIED)
    assert Case.objects.get(pk=gop.case_id).events.filter(kind="gop_answered").count() == 1
