"""The patient's consents (PIPL art. 38-39); sending records under them is in `transfers`."""

import datetime

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from laihua.accounts.models import Role
from laihua.accounts.services import require_role
from laihua.audit.services import record_event
from laihua.cases.models import Case
from laihua.cases.services import add_event, require_case_party
from laihua.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from laihua.kit import clock
from laihua.records.consents import check_paper, create_consent, require_paper_recorder
from laihua.records.models import (
    Consent,
    ConsentStatus,
    ConsentUse,
    DataType,
)
from laihua.records.services.access import require_records_access, visible_consents


class ConsentRequired(PermissionDenied):
    code = "consent_required"
    default_message = gettext_lazy("The patient has not consented to sending these records to this recipient.")


def _date(value, field: str) -> datetime.date:
    if isinstance(value, datetime.date):
        return value
    try:
        return datetime.date.fromisoformat(str(value or ""))
    except ValueError:
        raise InvalidInput(_("Write the date as YYYY-MM-DD."), field=field) from None


def _records_consent_fields(
    *, recipient_name, recipient_email, purpose, data_types, period_start, period_end, recipient_country
) -> dict:
    """A consent to send records, checked field by field (InvalidInput naming the field)."""
    recipient_name = str(recipient_name or "").strip()
    if not recipient_name:
        raise InvalidInput(_("Name the recipient."), field="recipient_name")
    recipient_email = str(recipient_email or "").strip()
    try:
        validate_email(recipient_email)
    except ValidationError:
        raise InvalidInput(_("Give the recipient's e-mail address."), field="recipient_email") from None
    purpose = str(purpose or "").strip()
    if not purpose:
        raise InvalidInput(_("Say what the records are for."), field="purpose")
    data_types = [str(t) for t in data_types or []]
    if not data_types:
        raise InvalidInput(_("Choose which records may be sent."), field="data_types")
    unknown = [t for t in data_types if t not in DataType.values]
    if unknown:
        raise InvalidInput(_("Unknown data type “%(type)s”.") % {"type": unknown[0]}, field="data_types")
    start, end = _date(period_start, "period_start"), _date(period_end, "period_end")
    if end < start:
        raise InvalidInput(_("The period ends before it starts."), field="period_end")
    if end < clock.today():
        raise InvalidInput(_("The period has already ended."), field="period_end")
    return {
        "recipient_name": recipient_name[:200],
        "recipient_email": recipient_email,
        "recipient_country": str(recipient_country or "")[:2].upper(),
        "purpose": purpose[:300],
        "data_types": sorted(set(data_types)),
        "period_start": start,
        "period_end": end,
    }


@transaction.atomic
def grant_consent(
    actor,
    case: Case,
    *,
    recipient_name: str,
    recipient_email: str,
    purpose: str,
    data_types: list[str],
    period_start,
    period_end,
    recipient_country: str = "",
) -> Consent:
    """The patient consents separately to one recipient receiving some of their records for a purpose and period."""
    require_case_party(actor, case)
    if actor.role != Role.PATIENT:
        raise PermissionDenied(_("Only the patient can give this consent."))
    fields = _records_consent_fields(
        recipient_name=recipient_name,
        recipient_email=recipient_email,
        purpose=purpose,
        data_types=data_types,
        period_start=period_start,
        period_end=period_end,
        recipient_country=recipient_country,
    )
    consent = create_consent(actor, case, **fields)
    record_event(
        actor, "records.consent_grant", consent, hospital=case.hospital, detail={"recipient": fields["recipient_name"]}
    )
    add_event(case, actor, "consent_granted", note=fields["recipient_name"])
    return consent


@transaction.atomic
def record_paper_consent(
    actor,
    case: Case,
    *,
    file,
    recipient_name: str,
    recipient_email: str,
    purpose: str,
    data_types: list[str],
    period_start,
    period_end,
    recipient_country: str = "",
) -> Consent:
    """A coordinator or admin of the case's hospital records a consent to send records that the patient signed on
    paper, with its scan (PDF, JPEG or PNG, checked like every attachment). It then counts like one the patient
    gave on their pages, shows who recorded it and when, and the patient sees it and its scan and may withdraw it."""
    require_paper_recorder(actor, case)
    fields = _records_consent_fields(
        recipient_name=recipient_name,
        recipient_email=recipient_email,
        purpose=purpose,
        data_types=data_types,
        period_start=period_start,
        period_end=period_end,
        recipient_country=recipient_country,
    )
    paper = check_paper(file)
    consent = create_consent(actor, case, paper=paper, **fields)
    record_event(
        actor,
        "records.consent_grant",
        consent,
        hospital=case.hospital,
        detail={"recipient": fields["recipient_name"], "paper": True, "sha256": paper.sha256},
    )
    add_event(case, actor, "consent_granted", note=fields["recipient_name"], paper=True)
    return consent


def get_consent(actor, pk: int, *, audit: str | None = "records.consent_view") -> Consent:
    require_role(actor, Role.values)
    consent = visible_consents(actor).filter(pk=pk).first()
    if consent is None:
        hidden = (
            Consent.objects.filter(pk=pk, case__hospital_id=actor.hospital_id).exists() if actor.hospital_id else False
        )
        if hidden:  # the hospital's staff whose role does not read it: refused, as on the case's records page
            raise PermissionDenied()
        raise NotFound(_("No such consent."))
    if audit:
        record_event(actor, audit, consent, hospital=consent.case.hospital)
    return consent


def consents_of_case(actor, case: Case) -> list[Consent]:
    """The case's consents, for its patient and its hospital's records staff; the read is audited like every
    other read of patient data (records.consent_view, with the case and the consents read)."""
    require_records_access(actor, case)
    consents = list(visible_consents(actor).filter(case=case).select_related("recorded_by"))
    record_event(
        actor,
        "records.consent_view",
        case,
        hospital=case.hospital,
        detail={"case": case.reference, "consents": [c.pk for c in consents]},
    )
    return consents


def paper_of_consent(actor, pk: int) -> Consent:
    """A consent recorded from paper, to download its scan: for whoever may read the consent (its patient, its
    hospital's records staff); audited as records.consent_paper_view. Another's consent is not found."""
    consent = get_consent(actor, pk, audit=None)
    if not consent.on_paper:
        raise NotFound(_("This consent was not signed on paper."))
    record_event(
        actor,
        "records.consent_paper_view",
        consent,
        hospital=consent.case.hospital,
        detail={"case": consent.case.reference, "sha256": consent.paper_sha256},
    )
    return consent


@transaction.atomic
def withdraw_consent(actor, pk: int) -> Consent:
    """The patient withdraws a consent: no transfer under it from now on."""
    consent = get_consent(actor, pk, audit=None)
    if actor.role != Role.PATIENT:
        raise PermissionDenied(_("Only the patient can withdraw this consent."))
    consent = Consent.objects.select_for_update().get(pk=consent.pk)
    if consent.status != ConsentStatus.ACTIVE:
        raise Conflict(_("This consent is no longer active."))
    consent.status = ConsentStatus.INACTIVE
    consent.withdrawn_at = clock.now()
    consent.save(update_fields=["status", "withdrawn_at"])
    record_event(
        actor, "records.consent_withdraw", consent, hospital=consent.case.hospital, detail={"use": consent.use}
    )
    kind = "payment_consent_withdrawn" if consent.use == ConsentUse.PAYMENT else "consent_withdrawn"
    add_event(consent.case, actor, kind, note=consent.recipient_name)
    return consent


def matching_consent(case: Case, recipient_email: str, data_types: list[str]) -> Consent | None:
    """An active consent of the case's patient naming this recipient and covering the data types today."""
    today = clock.today()
    for consent in Consent.objects.filter(
        patient_id=case.patient_id,
        case=case,
        use=ConsentUse.RECORDS,
        status=ConsentStatus.ACTIVE,
        recipient_email__iexact=(recipient_email or "").strip(),
        period_start__lte=today,
        period_end__gte=today,
    ):
        if set(data_types) <= set(consent.data_types):
            return consent
    return None
