"""The patient's separate consent to send health data to their insurer for a guarantee of payment and for
claims after treatment (PIPL arts. 28-30 and 38-39: sensitive data, sent abroad).

A payment consent is a `Consent` with use = payment: the recipient is an organisation named by an identifier
(not an e-mail address), the purpose is fixed, and it covers every kind of data a request or a claim carries
(`PaymentDataType`), from today for a period. The insurance domain decides which insurer (the case's coverage)
and links the row to it (`insurance.models.InsurerConsent`); records only keeps the consent and serves it as a
FHIR Consent. Withdrawing is records' own `services.withdraw_consent`, the same for every consent.

Only the patient grants it, on their pages; or the hospital's coordinators and admins record a consent the
patient signed on paper, with its scan (`paper`: checked like every attachment, a PDF, JPEG or PNG). Staff never
consent for the patient without that paper.

The paper helpers here (`check_paper`, `create_consent`, `PAPER_RECORDERS`) serve both records' own consents to
send records and insurance's payment consents.
"""

import datetime
from dataclasses import dataclass

from django.db import transaction
from django.http import FileResponse
from django.utils import translation
from django.utils.translation import gettext as _

from laihua.accounts.models import Role
from laihua.audit.services import record_event
from laihua.cases.models import Case
from laihua.cases.services import add_event, require_case_party, require_case_staff
from laihua.cases.uploads import check_upload, display_name
from laihua.errors import Conflict, DomainError, InvalidInput, PermissionDenied
from laihua.kit import clock
from laihua.records.models import PAYMENT_PURPOSE, Consent, ConsentStatus, ConsentUse, PaymentDataType

PAPER_RECORDERS = (Role.COORDINATOR, Role.HOSPITAL_ADMIN)
PAPER_KINDS = ("pdf", "jpeg", "png")
PAPER_EXTENSIONS = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}
DEFAULT_DAYS = 365  # a claim after treatment can come months after the request
MAX_DAYS = 3 * 365


def payment_period(period_end=None, *, today: datetime.date | None = None) -> tuple[datetime.date, datetime.date]:
    """From today until `period_end` (default: a year from today); never in the past, at most three years."""
    today = today or clock.today()
    if period_end in (None, ""):
        return today, today + datetime.timedelta(days=DEFAULT_DAYS)
    if isinstance(period_end, datetime.date):
        end = period_end
    else:
        try:
            end = datetime.date.fromisoformat(str(period_end))
        except ValueError:
            raise InvalidInput(_("Write the date as YYYY-MM-DD."), field="period_end") from None
    if end < today:
        raise InvalidInput(_("The period has already ended."), field="period_end")
    if end > today + datetime.timedelta(days=MAX_DAYS):
        raise InvalidInput(_("A consent to an insurer can last at most three years."), field="period_end")
    return today, end


def _in_english(text) -> str:
    with translation.override("en"):
        return str(text)


def active_payment_consents(case: Case, *, on: datetime.date | None = None):
    """The case's payment consents in force on `on` (default today); the caller narrows them to a recipient."""
    on = on or clock.today()
    return Consent.objects.filter(
        case=case,
        use=ConsentUse.PAYMENT,
        status=ConsentStatus.ACTIVE,
        period_start__lte=on,
        period_end__gte=on,
    )


@dataclass(frozen=True)
class Paper:
    """The scan of a consent the patient signed, checked by its content."""

    upload: object
    content_type: str
    sha256: str


def check_paper(upload) -> Paper:
    """The scan of a signed consent: a PDF, JPEG or PNG checked like every attachment, else InvalidInput(file)."""
    if upload is None:
        raise InvalidInput(_("Attach the scan of the signed consent (PDF, JPEG or PNG)."), field="file")
    kind, content_type, _size, digest = check_upload(upload)
    if kind not in PAPER_KINDS:
        raise InvalidInput(_("The scan of a signed consent must be a PDF, a JPEG or a PNG image."), field="file")
    return Paper(upload, content_type, digest)


def may_record_paper(actor, case: Case) -> bool:
    """Is the actor a coordinator or an admin of the case's hospital (offered the paper consent forms)?"""
    return actor.role in PAPER_RECORDERS and actor.hospital_id == case.hospital_id


def paper_response(consent: Consent) -> FileResponse:
    """The scan of a paper consent as a download (never inline), with the content type found when it was checked.
    The caller has checked (and audited) that the actor may read the consent."""
    try:
        handle = consent.paper_file.open("rb")
    except FileNotFoundError:
        raise DomainError(_("This file is missing from the storage."), code="file_missing", status=410) from None
    extension = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}.get(
        consent.paper_content_type, "bin"
    )
    return FileResponse(
        handle,
        as_attachment=True,
        filename=f"consent-{consent.pk}.{extension}",
        content_type=consent.paper_content_type or "application/octet-stream",
    )


def require_paper_recorder(actor, case: Case) -> None:
    """A coordinator or an admin of the case's hospital records a paper consent."""
    require_case_staff(actor, case, PAPER_RECORDERS)


def create_consent(actor, case: Case, *, paper: Paper | None = None, **fields) -> Consent:
    """Store a consent: given by the patient (`actor`) on their pages, or recorded by `actor` from the signed
    `paper`, whose scan is kept with it. The caller checked who may do which, in its transaction."""
    if paper is None:
        return Consent.objects.create(patient=case.patient, case=case, granted_by=actor, **fields)
    consent = Consent(
        patient=case.patient,
        case=case,
        recorded_by=actor,
        paper_content_type=paper.content_type,
        paper_sha256=paper.sha256,
        **fields,
    )
    paper.upload.seek(0)
    consent.paper_file.save(display_name(getattr(paper.upload, "name", "")), paper.upload, save=False)
    try:
        with transaction.atomic():
            consent.save()
    except Exception:
        consent.paper_file.delete(save=False)
        raise
    return consent


@transaction.atomic
def grant_payment_consent(
    actor,
    case: Case,
    *,
    recipient_name: str,
    recipient_system: str,
    recipient_identifier: str,
    recipient_country: str = "",
    period_end=None,
    paper: Paper | None = None,
) -> Consent:
    """The case's patient consents to the organisation identified by (system, identifier) receiving their
    diagnosis, treating doctor, clinical notes and itemised estimate or bill for payment; or, with `paper`, a
    coordinator or admin of the case's hospital records that consent signed on paper. Audited
    (records.consent_grant) and on the case's timeline. Refused while such a consent is already in force."""
    if paper is not None:
        require_paper_recorder(actor, case)
    else:
        require_case_party(actor, case)
        if actor.role != Role.PATIENT:
            raise PermissionDenied(
                _("Only the patient can give this consent, on their own pages: ask the patient for it."),
                field="consent",
            )
    if not recipient_system or not recipient_identifier:
        raise InvalidInput(_("Name the insurer."), field="insurer")
    start, end = payment_period(period_end)
    in_force = active_payment_consents(case).filter(
        recipient_system=recipient_system, recipient_identifier=recipient_identifier
    )
    if in_force.exists():
        message = (
            _("The patient has already given this consent.") if paper else _("You have already given this consent.")
        )
        raise Conflict(message, code="consent_exists", field="consent")
    consent = create_consent(
        actor,
        case,
        paper=paper,
        use=ConsentUse.PAYMENT,
        recipient_name=recipient_name[:200],
        recipient_system=recipient_system[:100],
        recipient_identifier=recipient_identifier[:100],
        recipient_country=(recipient_country or "")[:2].upper(),
        purpose=_in_english(PAYMENT_PURPOSE)[:300],  # as stored; pages show it in the reader's language
        data_types=list(PaymentDataType.values),
        period_start=start,
        period_end=end,
    )
    detail = {"use": ConsentUse.PAYMENT, "recipient": recipient_name, "identifier": recipient_identifier}
    if paper is not None:
        detail.update(paper=True, sha256=paper.sha256)
    record_event(actor, "records.consent_grant", consent, hospital=case.hospital, detail=detail)
    add_event(case, actor, "payment_consent_granted", note=recipient_name, paper=paper is not None)
    return consent
