"""Sending records outside the hospital under a consent, as a link to a download page that serves one recipient.

The recipient named by the patient's consent gets an e-mail with a link and nothing else (no health data,
no attachment). The link carries a long random token (`secrets.token_urlsafe(32)`, 256 bits) that is
stored only as its SHA-256, so a copy of the database cannot open it; one token opens one transfer. The
page serves the IPS (FHIR JSON and XML) and the PDF restricted to the consent's data types until the
link expires (`LAIHUA_TRANSFER_LINK_DAYS`, 14 by default), is revoked by the patient or the hospital's
staff, or the consent stops covering it (withdrawn, its period over). Every opening and every refused
opening is audited with the client's address (`records.transfer_access`, `records.transfer_access_refused`);
the case's records page lists them.

The link alone opens nothing: a browser shows the records only after it proved that its user reads the
recipient's mailbox now. It asks for a 6-digit one-time code, e-mailed to the transfer's recipient address at
that moment (valid CODE_MINUTES, kept only as a keyed hash, a new one replacing the old, CODE_ATTEMPTS wrong
attempts each, CODES_PER_ADDRESS_PER_HOUR codes an hour for one client address and CODES_PER_HOUR for the
transfer, so that whoever holds a leaked link cannot use up the recipient's codes from one address); the right
code gives that browser an opening (`TransferOpening`: a random key in a signed cookie, stored only as its
SHA-256) until the link's expiry. The link's state is checked at every request, so a revocation or expiry
closes every verified browser at once. A forwarded e-mail, or the link leaked into a log or onto a shared
screen, opens nothing: the code goes to the mailbox, not to whoever holds the link
(`records.transfer_code_sent`, `records.transfer_verified`, `records.transfer_code_refused`)."""

import datetime
import hashlib
import hmac
import secrets

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.urls import reverse
from django.utils import translation
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from laihua.accounts.models import Role
from laihua.audit.models import AuditEvent
from laihua.audit.services import record_event
from laihua.cases.models import Case
from laihua.cases.services import add_event, require_case_staff
from laihua.errors import Conflict, DomainError, InvalidInput, NotFound, PermissionDenied
from laihua.kit import clock, requestctx
from laihua.records.models import (
    Consent,
    ConsentStatus,
    ConsentUse,
    DataType,
    Transfer,
    TransferCode,
    TransferOpening,
)
from laihua.records.services.access import RECORD_STAFF, SENDERS, require_records_access
from laihua.records.services.consents import ConsentRequired, matching_consent
from laihua.records.services.exporting import _kinds_for, _pdf_context, build_export, pdf_parts
from laihua.records.services.viewing import by_kind, case_items

LANGUAGES = ("en", "zh-hans")
ACCESS = "records.transfer_access"
ACCESS_REFUSED = "records.transfer_access_refused"
CODE_SENT = "records.transfer_code_sent"
VERIFIED = "records.transfer_verified"
CODE_REFUSED = "records.transfer_code_refused"
LOGGED = (ACCESS, ACCESS_REFUSED, CODE_SENT, VERIFIED, CODE_REFUSED)  # the access log of a transfer
CODE_MINUTES = 10
CODE_ATTEMPTS = 5
CODES_PER_HOUR = 15  # per transfer
CODES_PER_ADDRESS_PER_HOUR = 5  # per transfer and client address


class LinkGone(DomainError):
    """The link expired, was revoked, or its consent no longer covers it: a clear page, never the data."""

    status = 410
    code = "link_gone"
    default_message = gettext_lazy("This link no longer opens the records.")


class NotVerified(DomainError):
    """The link alone, in a browser that has not entered a code sent to the recipient: never the data."""

    status = 403
    code = "not_verified"
    default_message = gettext_lazy("Enter the code sent to your e-mail address to open the records.")

    def __init__(self, transfer: Transfer):
        super().__init__()
        self.transfer = transfer


class CodeRefused(DomainError):
    """A code not sent or not accepted: `reason` says why (too many codes or attempts answer 429)."""

    status = 422
    code = "code_refused"

    def __init__(self, transfer: Transfer, reason: str, message, *, status: int | None = None):
        super().__init__(message, field="code", status=status)
        self.transfer = transfer
        self.reason = reason


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


def _find(token: str) -> Transfer:
    transfer = (
        Transfer.objects.select_related("case", "case__patient", "case__hospital", "consent")
        .filter(token_hash=token_hash(token))
        .first()
        if token
        else None
    )
    if transfer is None:
        raise NotFound(_("This link is not known."))
    return transfer


def _gone(transfer: Transfer, what: str) -> LinkGone | None:
    """The refusal (audited) of a link that no longer opens, else None."""
    reason = _gone_reason(transfer)
    if not reason:
        return None
    record_event(
        None, ACCESS_REFUSED, transfer, hospital=transfer.case.hospital, detail={"what": what, "reason": reason}
    )
    error = LinkGone()
    error.reason = reason
    return error


def opening_hash(key: str) -> str:
    return hashlib.sha256(str(key or "").encode()).hexdigest()


def is_verified(transfer: Transfer, key: str | None) -> bool:
    """Whether `key` (from a browser's cookie) is an opening of this transfer that has not expired."""
    if not key:
        return False
    openings = TransferOpening.objects.filter(transfer=transfer, key_hash=opening_hash(key))
    return openings.filter(expires_at__gt=clock.now()).exists()


def open_transfer(token: str, *, what: str = "page", key: str | None = None) -> Transfer:
    """The transfer a link's token opens in the browser holding the opening `key`, audited with the client's
    address; a link that no longer opens is refused (LinkGone), a browser not verified with a code is refused
    (NotVerified), both audited, and an unknown token is NotFound."""
    transfer = _find(token)
    gone = _gone(transfer, what)
    if gone:
        raise gone
    if not is_verified(transfer, key):
        record_event(
            None,
            ACCESS_REFUSED,
            transfer,
            hospital=transfer.case.hospital,
            detail={"what": what, "reason": "unverified"},
        )
        raise NotVerified(transfer)
    record_event(None, ACCESS, transfer, hospital=transfer.case.hospital, detail={"what": what})
    return transfer


def mask_email(address: str) -> str:
    """An address as the page shows it to whoever holds the link: d***@clinic.example."""
    local, _at, domain = str(address or "").partition("@")
    return f"{local[:1]}***@{domain}"


def _code_hash(transfer: Transfer, code: str) -> str:
    """A keyed hash: a copy of the database alone cannot try the million codes against it."""
    return salted_hmac("laihua.records.transfer_code", f"{transfer.pk}:{code}", algorithm="sha256").hexdigest()


def live_code(transfer: Transfer) -> TransferCode | None:
    """The code waiting to be entered (the newest, not closed, not expired, attempts left), if any."""
    return (
        transfer.codes.filter(closed_at__isnull=True, expires_at__gt=clock.now(), attempts__lt=CODE_ATTEMPTS)
        .order_by("-sent_at", "-pk")
        .first()
    )


def _refuse_code(transfer: Transfer, reason: str, message, *, status: int | None = None, **detail) -> CodeRefused:
    record_event(None, CODE_REFUSED, transfer, hospital=transfer.case.hospital, detail={"reason": reason, **detail})
    return CodeRefused(transfer, reason, message, status=status)


def send_code(token: str, *, language: str = "", fallback: str = "en") -> TransferCode:
    """E-mail a new one-time code to the transfer's recipient address (replacing any earlier code), at most
    CODES_PER_ADDRESS_PER_HOUR an hour to one client address and CODES_PER_HOUR to all (CodeRefused, 429);
    the e-mail says nothing about the patient. It speaks the `language` asked for, else the transfer's, else
    `fallback` (the browser's)."""
    transfer = _find(token)
    refusal = _gone(transfer, "code")
    if refusal:
        raise refusal
    address = requestctx.client_ip.get()
    with transaction.atomic():
        Transfer.objects.select_for_update().only("pk").get(pk=transfer.pk)  # one at a time per transfer
        now = clock.now()
        hour = datetime.timedelta(hours=1)
        recent = list(
            transfer.codes.filter(sent_at__gt=now - hour).order_by("sent_at").values_list("sent_at", "asked_from")
        )
        everyone = [sent_at for sent_at, _asked_from in recent]
        mine = [sent_at for sent_at, asked_from in recent if asked_from == address]
        full = everyone if len(everyone) >= CODES_PER_HOUR else mine if len(mine) >= CODES_PER_ADDRESS_PER_HOUR else []
        if full:
            minutes = max(1, -int(-(full[0] + hour - now).total_seconds() // 60))
            refusal = _refuse_code(
                transfer,
                "too_many_codes",
                ngettext(
                    "%(count)d codes were sent in the last hour: ask for a new one in %(minutes)d minute.",
                    "%(count)d codes were sent in the last hour: ask for a new one in %(minutes)d minutes.",
                    minutes,
                )
                % {"count": len(full), "minutes": minutes},
                status=429,
            )
        else:
            transfer.codes.filter(closed_at__isnull=True).update(closed_at=now)
            code = f"{secrets.randbelow(10**6):06d}"
            sent = TransferCode.objects.create(
                transfer=transfer,
                code_hash=_code_hash(transfer, code),
                asked_from=address,
                sent_at=now,
                expires_at=now + datetime.timedelta(minutes=CODE_MINUTES),
            )
            record_event(
                None,
                CODE_SENT,
                transfer,
                hospital=transfer.case.hospital,
                detail={"expires": sent.expires_at.isoformat(timespec="seconds")},
            )
            transaction.on_commit(_code_message(transfer, code, language or transfer.language or fallback).send)
    if refusal:
        raise refusal
    return sent


def _code_message(transfer: Transfer, code: str, language: str) -> EmailMessage:
    """The code, how long it works, and what to do if unasked; no patient, hospital or link."""
    with translation.override(language or "en"):
        subject = _("Your code to open the shared medical records")
        body = _(
            "Your code: %(code)s\n\n"
            "Enter it on the page that asked for it, within %(minutes)d minutes. It opens the records in that "
            "browser only.\n\n"
            "If you did not ask for a code, someone else may hold the link sent to you: ignore this message and "
            "tell the hospital."
        ) % {"code": code, "minutes": CODE_MINUTES}
    return EmailMessage(subject=subject, body=body, to=[transfer.recipient_email])


def verify_code(token: str, code: str) -> tuple[Transfer, str]:
    """Check a code entered in a browser against the transfer's live code (constant time). The right one
    closes the code and returns the transfer with a new opening key for that browser; a wrong, expired or
    spent code is refused (CodeRefused, audited: after CODE_ATTEMPTS wrong ones, a new code is needed)."""
    transfer = _find(token)
    refusal = _gone(transfer, "code")
    if refusal:
        raise refusal
    entered = "".join(str(code or "").split())[:20]
    key = ""
    with transaction.atomic():
        Transfer.objects.select_for_update().only("pk").get(pk=transfer.pk)
        now = clock.now()
        row = transfer.codes.filter(closed_at__isnull=True).order_by("-sent_at", "-pk").first()
        if row is None:
            refusal = _refuse_code(transfer, "no_code", _("No code is waiting: ask for a code first."))
        elif row.expires_at <= now:
            refusal = _refuse_code(transfer, "code_expired", _("This code has expired: ask for a new one."))
        elif row.attempts >= CODE_ATTEMPTS:
            refusal = _refuse_code(
                transfer, "too_many_attempts", _("Too many wrong codes: ask for a new one."), status=429
            )
        elif not hmac.compare_digest(row.code_hash, _code_hash(transfer, entered)):
            row.attempts += 1
            row.save(update_fields=["attempts"])
            left = CODE_ATTEMPTS - row.attempts
            message = (
                ngettext(
                    "This code is not right: %(left)d more attempt.",
                    "This code is not right: %(left)d more attempts.",
                    left,
                )
                % {"left": left}
                if left
                else _("Too many wrong codes: ask for a new one.")
            )
            refusal = _refuse_code(transfer, "wrong_code", message, status=None if left else 429, attempts=row.attempts)
        else:
            row.closed_at = now
            row.save(update_fields=["closed_at"])
            key = secrets.token_urlsafe(32)
            opening = TransferOpening.objects.create(
                transfer=transfer, key_hash=opening_hash(key), verified_at=now, expires_at=transfer.expires_at
            )
            record_event(None, VERIFIED, transfer, hospital=transfer.case.hospital, detail={"opening": opening.pk})
    if refusal:
        raise refusal
    return transfer, key


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
    of openings and refused openings, codes sent, verified browsers and refused codes, with time, address and
    what was opened)."""
    require_records_access(actor, case)
    transfers = list(Transfer.objects.filter(case=case).select_related("consent", "sent_by", "revoked_by"))
    events = AuditEvent.objects.filter(
        action__in=LOGGED,
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
