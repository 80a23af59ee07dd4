"""Whatever the patient, the desk and the insurers do in whatever order (grant, withdraw, let it lapse, change
insurer, send, answer "more information", send again, cancel), a GOP request goes out, or goes out again, exactly
when the patient's consent for its insurer is in force, and a withdrawal never takes back what was sent."""

import datetime

import pytest
from django.db import transaction
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from laihua.audit.models import AuditEvent
from laihua.errors import DomainError
from laihua.insurance import services
from laihua.insurance.models import Guarantee, GuaranteeStatus
from laihua.insurance.tests.conftest import GOP_DATA, cover
from laihua.kit import clock
from laihua.records import services as records
from laihua.records.models import Consent, ConsentStatus

# The steps that move a request forward come more often than those that reset it (lapse, switch, cancel).
STEPS = [
    "grant",
    "grant",
    "withdraw",
    "send",
    "send",
    "pend",
    "pend",
    "resubmit",
    "resubmit",
    "lapse",
    "switch",
    "cancel",
]
OPS = st.lists(st.sampled_from(STEPS), min_size=4, max_size=24)


class Rollback(Exception):
    pass


@pytest.mark.django_db
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=OPS)
@example(ops=["send", "grant", "send", "pend", "withdraw", "resubmit", "grant", "resubmit"])
@example(ops=["grant", "send", "pend", "lapse", "resubmit", "cancel", "switch", "send", "grant", "send"])
def test_a_request_goes_out_exactly_when_the_consent_for_its_insurer_is_in_force(
    bare_coverage, users, agent, other_agent, ops
):
    services.save_contract(users["hospital_admin"], bare_coverage.case.hospital, {"insurer": "zenith"})
    try:
        with transaction.atomic():
            _play(bare_coverage.case, users, {"acme": agent, "zenith": other_agent}, ops)
            raise Rollback
    except Rollback:
        pass


def _play(case, users, agents, ops):
    patient, desk = users["patient"], users["coordinator"]
    insurer = "acme"
    refusals = 0
    for op in ops:
        in_force = services.consent_for(case, services.coverage_of(case).insurer) is not None
        gop = Guarantee.objects.filter(case=case).order_by("-created_at").first()
        sent = {g.pk: (g.status, g.claim_json) for g in Guarantee.objects.filter(case=case)}
        try:  # each service is one transaction (a refusal's audit outlives it)
            if op == "grant":
                services.grant_gop_consent(patient, case)
                assert not in_force  # given once
            elif op == "withdraw":
                consent = Consent.objects.filter(case=case, status=ConsentStatus.ACTIVE).first()
                if consent is not None:
                    records.withdraw_consent(patient, consent.pk)
                    assert all((g.status, g.claim_json) == sent[g.pk] for g in Guarantee.objects.filter(case=case)), (
                        "a withdrawal took back what was sent"
                    )
            elif op == "lapse":
                Consent.objects.filter(case=case).update(period_end=clock.today() - datetime.timedelta(days=1))
            elif op == "switch":
                insurer = "zenith" if insurer == "acme" else "acme"
                cover(desk, case, insurer=insurer, member_id=f"{insurer.upper()}-1")
            elif op == "send":
                new = services.send_guarantee_request(desk, case, GOP_DATA)
                assert in_force and new.insurer == services.coverage_of(case).insurer
            elif op == "pend" and gop is not None and gop.status == GuaranteeStatus.SUBMITTED:
                services.answer_guarantee_request(
                    agents[gop.insurer.code], gop, {"status": "pended", "disposition": "More, please."}
                )
            elif op == "resubmit" and gop is not None:
                services.resubmit_guarantee_request(desk, gop, {"clinical_notes": "Here it is."})
                assert services.consent_for(case, gop.insurer) is not None
            elif op == "cancel" and gop is not None:
                services.cancel_guarantee_request(desk, gop)
        except services.ConsentMissing as refused:
            refusals += 1
            assert op in ("send", "resubmit")
            assert services.consent_for(case, refused.insurer) is None  # refused only without it
        except DomainError:
            if op == "switch":
                insurer = "zenith" if insurer == "acme" else "acme"  # refused under an open request
            if op == "send":  # refused otherwise only while a request is open, or once the consent is there
                assert in_force or (gop is not None and gop.status in ("submitted", "pended"))
        assert AuditEvent.objects.filter(action="insurance.consent_missing").count() == refusals
        for event in AuditEvent.objects.filter(action__in=["insurance.gop.send", "insurance.gop.resubmit"]):
            assert Consent.objects.filter(pk=event.detail["consent"], insurer_link__isnull=False).exists()
