"""Reminders and notices: `remind_overdue` (run by `laihua insurance remind`) reminds the coordinator once about
every GOP request past its deadline without an answer; the insurer's agents hear of a new request and the
coordinator of the answer, by e-mail in their own language, without medical detail."""

import datetime

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import translation

from laihua.accounts.models import Role
from laihua.audit.services import record_event
from laihua.cases.services import add_event
from laihua.insurance.models import Guarantee, GuaranteeStatus
from laihua.kit import clock


def remind_overdue(now: datetime.datetime | None = None) -> list[str]:
    """Remind the coordinator once about every GOP request past its deadline without an answer."""
    now = now or clock.now()
    reminded = []
    due = Guarantee.objects.filter(status=GuaranteeStatus.SUBMITTED, deadline_at__lt=now, reminded_at__isnull=True)
    for pk in due.values_list("pk", flat=True):
        with transaction.atomic():
            gop = (
                Guarantee.objects.select_for_update()
                .select_related("case", "insurer", "hospital")
                .filter(pk=pk, status=GuaranteeStatus.SUBMITTED, reminded_at__isnull=True)
                .first()
            )
            if gop is None:
                continue
            gop.reminded_at = now
            gop.save(update_fields=["reminded_at", "updated_at"])
            add_event(
                gop.case, None, "gop_overdue", staff_only=True, gop=gop.number, deadline=gop.deadline_at.isoformat()
            )
            record_event(
                None,
                "insurance.gop.remind",
                gop,
                hospital=gop.hospital,
                detail={"case": gop.case.reference, "gop": gop.number, "by": "system"},
            )
            notify_coordinator(gop, "gop_overdue")  # an outbox row in this transaction: sent after it commits
        reminded.append(gop.number)
    return reminded


def _send(users, kind: str, gop: Guarantee, url_for) -> int:
    sent = 0
    for user in users:
        if not user or not user.email:
            continue
        language = user.preferred_language or "zh-hans"
        with translation.override(language):
            data = {"gop": gop, "case": gop.case, "user": user, "url": url_for(language)}
            subject = render_to_string(f"insurance/email/{kind}_subject.txt", data).strip()
            body = render_to_string(f"insurance/email/{kind}.txt", data)
        sent += send_mail(subject, body, None, [user.email])
    return sent


def notify_coordinator(gop: Guarantee, kind: str) -> int:
    from laihua.cases.notices import case_url

    case = gop.case
    if case.coordinator_id:
        users = [case.coordinator]
    else:
        users = list(case.hospital.staff.filter(role=Role.COORDINATOR, is_active=True))
    return _send(users, kind, gop, lambda language: case_url(case, language))


def notify_insurer(gop: Guarantee) -> int:
    from django.urls import reverse

    users = [link.user for link in gop.insurer.agents.select_related("user").filter(user__is_active=True)]

    def url(language):
        with translation.override(language):
            return settings.SITE_URL.rstrip("/") + reverse("insurance:portal_detail", args=[gop.number])

    return _send(users, "gop_received", gop, url)
