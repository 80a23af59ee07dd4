"""Sending records outside the hospital under a consent, as a link to a download page.

The recipient named by the patient's consent gets an e-mail with a link and nothing else (no health data,
no attachment). The link carries a long random token (`secrets.token_urlsafe(32)`, 256 bits) that is
stored only as its SHA-256, so a copy of the database cannot open it; one token opens one transfer. The
page serves the IPS (FHIR JSON and XML) and the PDF restricted to the consent's data types until the
link expires (`LAIHUA_TRANSFER_LINK_DAYS`, 14 by default), is revoked by the patient or the hospital's
staff, or the consent stops covering it (withdrawn, its period over). Every opening and every refused
opening is audited with the client's address (`records.transfer_access`, `records.transfer_access_refused`);
the case's records page lists them.

No one-time code is sent besides the link: it would go to the same mailbox as the link, so it would add
a step for the doctor without adding a second factor; the token's length, the expiry and revocation are
what protect the link."""

import datetime
import hashlib
import secrets

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from laihua.accounts.models import Role
from laihua.audit.models import AuditEvent
from laihua.audit.services import record_event
from laihua.cases.models import Case
from laihua.cases.services import add_event, require_case_staff
from laihua.errors import Conflict, DomainError, InvalidInput, NotFound, PermissionDenied
from laihua.kit import clock
from laihua.records.models import Consent, ConsentStatus, ConsentUse, DataType, Transfer
from laihua.records.services.access import RECORD_STAFF, SENDERS, require_records_access
from laihua.records.services.consents import ConsentRequired, matching_consent
from laihua.records.services.exporting import _kinds_for, _pdf_context, build_export, pdf_parts
from laihua.records.services.viewing import by_kind, case_items

LANGUAGES = ("en", "zh-hans")
ACCESS = "records.transfer_access"
ACCESS_REFUSED = "records.transfer_access_refused"


class LinkGone(DomainError):
    """The link expired, was revoked, or its consent no longer covers it: a clear page, never the data."""

    status = 410
    code = "link_gone"
    default_message = gettext_lazy("This link no longer opens the records.")


def token_hash(token: str) -> str:
    return hashlib.sha256(str(token or "").encode()).hexdigest()


def link_days() -> int:
    return int(getattr(settings, "LAIHUA_TRANSFER_LINK_DAYS", 14))


def transfer_link(token: str) -> str:
    return settings.SITE_URL.rstrip("/") + reverse("transfer_page", args=[token])


def _language(value: str, consent: Consent) -> str:
    language = str(value or getattr(consent, "recipient_language", "") or "").lower()
    if language and language not in LANGUAGES:
        raise InvalidInput(_("Choose English or Chinese."), field="language")
    return language


def send_records(
    actor, case: Case, *, recipient_email: str, data_types: list[str] | None = None, language: str = ""
) -> Transfer:
    """Send a consented recipient a link to the case's records (restricted to the consent's data types);
    else refuse. The transfer's `link` (an attribute, never stored) is the address the e-mail carries."""
    require_case_staff(actor, case, SENDERS)
    recipient_email = str(recipient_email or "").strip()
    candidates = Consent.objects.filter(
        case=case, use=ConsentUse.RECORDS, status=ConsentStatus.ACTIVE, recipient_email__iexact=recipient_email
    ).order_by("-granted_at")
    wanted = list(data_types) if data_types else (list(candidates[0].data_types) if candidates else [])
    consent = matching_consent(case, recipient_email, wanted) if wanted else None
    if consent is None:
        record_event(
            actor,
            "records.transfer_refused",
            case,
            hospital=case.hospital,
            detail={"recipient": recipient_email, "data_types": wanted},
        )
        raise ConsentRequired()
    language = _language(language, consent)
    token = secrets.token_urlsafe(32)
    expires = clock.now() + datetime.timedelta(days=link_days())
    with transaction.atomic():
        build_export(case, data_types=wanted)  # proven writable before anyone is told it is there
        transfer = Transfer.objects.create(
            consent=consent,
            case=case,
            sent_by=actor,
            recipient_email=consent.recipient_email,
            data_types=wanted,
            token_hash=token_hash(token),
            expires_at=expires,
            language=language,
        )
        record_event(
            actor,
            "records.transfer",
            transfer,
            hospital=case.hospital,
            detail={
                "case": case.reference,
                "consent": consent.pk,
                "recipient": consent.recipient_email,
                "data_types": wanted,
                "expires": expires.isoformat(timespec="seconds"),
            },
        )
        add_event(case, actor, "records_sent", note=consent.recipient_name, staff_only=True)
    transfer.link = transfer_link(token)
    transaction.on_commit(_message(transfer, transfer.link, language).send)
    return transfer


def _message(transfer: Transfer, link: str, language: str) -> EmailMessage:
    """The e-mail: the hospital, the link and its expiry; no name, diagnosis or attachment."""
    hospital = transfer.case.hospital.name
    with translation.override(language or "en"):
        expires = transfer.expires_at.date().isoformat()
        body = _(
            "A hospital has shared medical records with you, with the patient's consent.\n\n"
            "Open them here (the link works until %(date)s and only for you; do not forward it):\n%(link)s\n\n"
            "If you did not expect this message, ignore it."
        ) % {"date": expires, "link": link}
        subject = _("Medical records shared with you by %(hospital)s") % {
            "hospital": hospital.get("en") or hospital.get("zh-hans", "")
        }
    return EmailMessage(subject=subject, body=body, to=[transfer.recipient_email])


def _gone_reason(transfer: Transfer) -> str:
    """Why a transfer's link no longer opens ("" while it does)."""
    if transfer.revoked_at:
        return "revoked"
    if transfer.expires_at is None or transfer.expires_at <= clock.now():
        return "expired"
    consent = transfer.consent
    today = clock.today()
    if consent.status != ConsentStatus.ACTIVE:
        return "consent_withdrawn"
    if not (consent.period_start <= today <= consent.period_end):
        return "consent_ended"
    return ""


def open_transfer(token: str, *, what: str = "page") -> Transfer:
    """The transfer a link's token opens, audited with the client's address; a link that no longer opens
    is refused (LinkGone, audited) and an unknown token is NotFound."""
    transfer = (
        Transfer.objects.select_related("case", "case__patient", "case__hospital", "consent")
        .filter(token_hash=token_hash(token))
        .first()
        if token
        else None
    )
    if transfer is None:
        raise NotFound(_("This link is not known."))
    reason = _gone_reason(transfer)
    if reason:
        record_event(
            None, ACCESS_REFUSED, transfer, hospital=transfer.case.hospital, detail={"what": what, "reason": reason}
        )
        error = LinkGone()
        error.reason = reason
        raise error
    record_event(None, ACCESS, transfer, hospital=transfer.case.hospital, detail={"what": what})
    return transfer


def transfer_bundle(transfer: Transfer) -> dict:
    return build_export(transfer.case, data_types=transfer.data_types)


def shows_pdf(transfer: Transfer) -> bool:
    """The PDF shows every record of the case: only for a consent to the summary or the discharge summary."""
    return DataType.SUMMARY in transfer.data_types or DataType.DISCHARGE in transfer.data_types


def transfer_page_context(transfer: Transfer) -> dict:
    """What the recipient's page shows: the items the consent covers by kind (displays in English and
    Chinese), and the discharge summary when the consent covers it."""
    case = transfer.case
    kinds = _kinds_for(transfer.data_types)
    context = _pdf_context(case) if shows_pdf(transfer) else {"case": case, "patient": case.patient}
    if not shows_pdf(transfer):
        context["summary"] = None
        context["sections"] = by_kind(case_items(case, kinds))
    return {**context, "transfer": transfer, "shows_pdf": shows_pdf(transfer)}


def transfer_pdf(transfer: Transfer, language: str) -> bytes:
    from laihua.kit.pdf import render_pdf_parts

    if not shows_pdf(transfer):
        raise NotFound(_("The PDF is not part of these records."))
    parts = pdf_parts(_pdf_context(transfer.case))
    return render_pdf_parts("records/summary_pdf.html", parts, language=language)


def _transfer_for(actor, pk: int) -> Transfer:
    transfer = Transfer.objects.select_related("case", "case__hospital").filter(pk=pk).first()
    if transfer is None:
        raise NotFound(_("No such transfer."))
    require_records_access(actor, transfer.case)
    return transfer


@transaction.atomic
def revoke_transfer(actor, pk: int) -> Transfer:
    """The patient or the hospital's staff stop a link from opening the records (audited)."""
    transfer = _transfer_for(actor, pk)
    if actor.role not in (Role.PATIENT, *RECORD_STAFF):  # pragma: no cover - require_records_access refused
        raise PermissionDenied()
    transfer = Transfer.objects.select_for_update().get(pk=transfer.pk)
    if transfer.revoked_at:
        raise Conflict(_("This link was already revoked."))
    transfer.revoked_at = clock.now()
    transfer.revoked_by = actor
    transfer.save(update_fields=["revoked_at", "revoked_by"])
    record_event(
        actor,
        "records.transfer_revoke",
        transfer,
        hospital=transfer.case.hospital,
        detail={"case": transfer.case.reference},
    )
    add_event(transfer.case, actor, "records_link_revoked", note=transfer.consent.recipient_name)
    return transfer


def transfers_of_case(actor, case: Case) -> list[Transfer]:
    """The case's transfers, newest first, each with its state and its accesses (`accesses`: audit events
    of openings and refused openings, with time, address and what was opened)."""
    require_records_access(actor, case)
    transfers = list(Transfer.objects.filter(case=case).select_related("consent", "sent_by", "revoked_by"))
    events = AuditEvent.objects.filter(
        action__in=(ACCESS, ACCESS_REFUSED),
        object_type=Transfer._meta.label_lower,
        object_id__in=[str(t.pk) for t in transfers],
    ).order_by("-at", "-pk")
    accesses: dict[str, list] = {}
    for event in events[:2000]:
        accesses.setdefault(event.object_id, []).append(event)
    for transfer in transfers:
        transfer.accesses = accesses.get(str(transfer.pk), [])
        transfer.state = _gone_reason(transfer) or "open"
    return transfers
