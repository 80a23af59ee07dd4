"""E-mail notices about a case, in the recipient's language; they say what happened, never medical detail."""

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from laihua.cases.models import Case


def case_url(case: Case, language: str) -> str:
    with translation.override(language):
        return settings.SITE_URL.rstrip("/") + reverse("cases:detail", args=[case.reference])


def notify(case: Case, recipients, kind: str, **context) -> int:
    """Send the notice `kind` (templates cases/email/<kind>_subject.txt and <kind>.txt) to each recipient.

    Each recipient is a user; the text is in their preferred language (patients: the case's language).
    """
    sent = 0
    for user in recipients:
        if not user or not user.email:
            continue
        language = case.language if user.role == "patient" else (user.preferred_language or "zh-hans")
        with translation.override(language):
            data = {"case": case, "user": user, "url": case_url(case, language), **context}
            subject = render_to_string(f"cases/email/{kind}_subject.txt", data).strip()
            body = render_to_string(f"cases/email/{kind}.txt", data)
        sent += send_mail(subject, body, None, [user.email])
    return sent


def notify_patient(case: Case, kind: str, **context) -> int:
    return notify(case, [case.patient.user], kind, **context)


def notify_staff(case: Case, kind: str, **context) -> int:
    """The case's coordinator, or every coordinator of the hospital while nobody is assigned."""
    from laihua.accounts.models import Role

    if case.coordinator_id:
        recipients = [case.coordinator]
    else:
        recipients = list(case.hospital.staff.filter(role=Role.COORDINATOR, is_active=True))
    return notify(case, recipients, kind, **context)
