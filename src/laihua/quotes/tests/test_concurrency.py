"""Two acceptances of one quote at the same moment: the row locks let exactly one succeed."""

import threading

import pytest
from django.db import connection

from laihua.audit.models import AuditEvent
from laihua.cases.models import Case
from laihua.errors import Conflict
from laihua.quotes import services
from laihua.quotes.models import Quote, Status


def _race(workers):
    barrier = threading.Barrier(len(workers))
    outcomes = []

    def run(work):
        try:
            barrier.wait(timeout=10)
            work()
            outcomes.append("ok")
        except Conflict as exc:
            outcomes.append(exc.code)
        except Exception as exc:  # noqa: BLE001 - reported in the assertion below
            outcomes.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(work,)) for work in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return sorted(outcomes)


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_accepting_twice_at_once_lets_only_one_succeed(sent, users):
    patient = users["patient"]
    outcomes = _race([lambda: services.accept_quote(patient, Quote.objects.get(pk=sent.pk))] * 2)
    assert outcomes == ["ok", "quote_already_accepted"]
    assert Quote.objects.get(pk=sent.pk).status == Status.ACCEPTED
    assert AuditEvent.objects.filter(action="quote.accept").count() == 1
    case = Case.objects.get(pk=sent.case_id)
    assert case.state == "accepted"
    assert case.events.filter(kind="quote_accepted").count() == 1


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_accepting_while_a_revision_is_sent_never_leaves_both(sent, users):
    revision = services.create_draft(users["coordinator"], sent.case)
    outcomes = _race(
        [
            lambda: services.accept_quote(users["patient"], Quote.objects.get(pk=sent.pk)),
            lambda: services.send_quote(users["coordinator"], Quote.objects.get(pk=revision.pk)),
        ]
    )
    assert outcomes in (["case_not_quotable", "ok"], ["ok", "quote_not_open"])
    statuses = set(Quote.objects.filter(case=sent.case).values_list("status", flat=True))
    assert statuses in ({Status.ACCEPTED, Status.DRAFT}, {Status.SUPERSEDED, Status.SENT})
