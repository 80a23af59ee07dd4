"""The patient's separate consent to send health data to their insurer for a guarantee of payment and for
claims after treatment (PIPL arts. 28-30 and 38-39: sensitive data, sent abroad).

A payment consent is a `Consent` with use = payment: the recipient is an organisation named by an identifier
(not an e-mail address), the purpose is fixed, and it covers every kind of data a request or a claim carries
(`PaymentDataType`), from today for a period. The insurance domain decides which insurer (the case's coverage)
and links the row to it (`insurance.models.InsurerConsent`); records only keeps the consent and serves it as a
FHIR Consent. Withdrawing is records' own `services.withdraw_consent`, the same for every consent.

Only the patient grants it: staff cannot consent for them (a signed paper consent cannot be recorded yet).
"""

import datetime

from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _

from laihua.accounts.models import Role
from laihua.audit.services import record_event
from laihua.cases.models import Case
from laihua.cases.services import add_event, require_case_party
from laihua.errors import Conflict, InvalidInput, PermissionDenied
from laihua.kit import clock
from laihua.records.models import PAYMENT_PURPOSE, Consent, ConsentStatus, ConsentUse, PaymentDataType

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
) -> Consent:
    """The case's patient consents to the organisation identified by (system, identifier) receiving their
    diagnosis, treating doctor, clinical notes and itemised estimate or bill for payment. Audited
    (records.consent_grant) and on the case's timeline. Refused while such a consent is already in force."""
    require_case_party(actor, case)
    if actor.role != Role.PATIENT:
        raise PermissionDenied(
            _("Only the patient can give this consent, on their own pages: ask the patient for it."), field="consent"
        )
    if not recipient_system or not recipient_identifier:
        raise InvalidInput(_("Name the insurer."), field="insurer")
    start, end = payment_period(period_end)
    in_force = active_payment_consents(case).filter(
        recipient_system=recipient_system, recipient_identifier=recipient_identifier
    )
    if in_force.exists():
        raise Conflict(_("You have already given this consent."), code="consent_exists", field="consent")
    consent = Consent.objects.create(
        patient=case.patient,
        case=case,
        use=ConsentUse.PAYMENT,
        recipient_name=recipient_name[:200],
        recipient_system=recipient_system[:100],
        recipient_identifier=recipient_identifier[:100],
        recipient_country=(recipient_country or "")[:2].upper(),
        purpose=_in_english(PAYMENT_PURPOSE)[:300],  # as stored; pages show it in the reader's language
        data_types=list(PaymentDataType.values),
        period_start=start,
        period_end=end,
        granted_by=actor,
    )
    record_event(
        actor,
        "records.consent_grant",
        consent,
        hospital=case.hospital,
        detail={"use": ConsentUse.PAYMENT, "recipient": recipient_name, "identifier": recipient_identifier},
    )
    add_event(case, actor, "payment_consent_granted", note=recipient_name)
    return consent
