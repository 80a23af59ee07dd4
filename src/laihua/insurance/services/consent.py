"""The patient's consent to send their health data to their insurer (PIPL arts. 28-30, 38-39: sensitive personal
information, sent abroad, needs a separate consent naming the recipient, the purpose, the data and the period).

A GOP request, its re-sending after "more information needed", and billing's claims after treatment carry the
diagnosis, the treating doctor, the clinical notes and the itemised estimate or bill to the insurer. Each is
refused (`ConsentMissing`: code `consent_missing`, field `consent`) unless the case's patient has a consent in
force today for that very insurer. The consent is a records `Consent` (use = payment, served as a FHIR Consent)
linked to the `Insurer` by `InsurerConsent`; the check locks it, so a withdrawal and a sending never cross.

- the patient grants it on their records page (`grant_gop_consent`) and withdraws it there (records'
  `withdraw_consent`): withdrawing stops what would be sent later, not what the insurer already has;
- the hospital's desk asks for it (`ask_for_consent`): a message on the case in the patient's language, with
  the link to the page where they grant it (and the usual e-mail that there is news);
- the hospital's coordinators and admins record a consent the patient signed on paper, with its scan
  (`record_paper_gop_consent`: a PDF, JPEG or PNG checked like every attachment; records' paper helper keeps it
  on the consent with who recorded it and when, and the patient sees it on their records page);
- nobody else grants it: not the staff without the signed paper, not the insurer's agent.
Grant, withdrawal, request and every refused sending are audited; grant, withdrawal and request are on the
case's timeline.
"""

import datetime
import functools
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from laihua.accounts.models import Role
from laihua.audit.services import record_event
from laihua.cases.models import Case, CaseEvent, Message
from laihua.cases.services import add_event, post_message, require_case_party, require_case_staff
from laihua.cases.states import DESK
from laihua.errors import Conflict, PermissionDenied
from laihua.insurance.models import Insurer, InsurerConsent
from laihua.insurance.services.coverage import coverage_of
from laihua.records.consents import (
    active_payment_consents,
    check_paper,
    grant_payment_consent,
    require_paper_recorder,
)
from laihua.records.models import Consent, ConsentStatus, ConsentUse, PaymentDataType

INSURER_SYSTEM = "urn:laihua:insurer"  # the insurer's code, as the FHIR Consent names the recipient


class ConsentMissing(Conflict):
    """The patient's consent for this insurer is not in force: nothing goes to the insurer."""

    code = "consent_missing"
    default_message = gettext_lazy("The patient has not consented to sending their health data to this insurer.")

    def __init__(self, case: Case, insurer: Insurer, sending: str, message=None):
        self.case, self.insurer, self.sending = case, insurer, sending
        super().__init__(message, field="consent")


def consent_for(case: Case, insurer: Insurer, *, lock: bool = False) -> Consent | None:
    """The patient's consent for this insurer in force today (locked for the sending's transaction), or None."""
    consents = active_payment_consents(case).filter(insurer_link__insurer=insurer).order_by("-granted_at", "-pk")
    if lock:
        consents = consents.select_for_update(of=("self",))
    return consents.first()


def latest_consent(case: Case, insurer: Insurer) -> Consent | None:
    """The newest payment consent of the case for this insurer, whatever its status."""
    return (
        Consent.objects.filter(case=case, use=ConsentUse.PAYMENT, insurer_link__insurer=insurer)
        .order_by("-granted_at", "-pk")
        .first()
    )


def _missing_message(case: Case, insurer: Insurer) -> str:
    latest = latest_consent(case, insurer)
    if latest is not None and latest.status == ConsentStatus.INACTIVE and latest.withdrawn_at:
        return _(
            "The patient withdrew their consent to send their health data to %(insurer)s on %(date)s: nothing "
            "more can be sent to %(insurer)s. What it already received stays with it."
        ) % {"insurer": insurer.name, "date": latest.withdrawn_at.date().isoformat()}
    return _(
        "The patient's consent to send their health data to %(insurer)s is missing: ask the patient for it "
        "(“Ask the patient for consent” on the case page). Nothing is sent to %(insurer)s without it."
    ) % {"insurer": insurer.name}


def require_consent(case: Case, insurer: Insurer, *, sending: str) -> Consent:
    """The consent in force for this insurer, locked until the caller's transaction ends; else ConsentMissing."""
    consent = consent_for(case, insurer, lock=True)
    if consent is None:
        raise ConsentMissing(case, insurer, sending, _missing_message(case, insurer))
    return consent


def audit_consent_refusal(func):
    """Audit a sending refused for want of consent (insurance.consent_missing), after its transaction rolled
    back: put it above @transaction.atomic."""

    @functools.wraps(func)
    def wrapper(actor, *args, **kwargs):
        try:
            return func(actor, *args, **kwargs)
        except ConsentMissing as refusal:
            record_event(
                actor,
                "insurance.consent_missing",
                refusal.case,
                hospital=refusal.case.hospital,
                detail={"case": refusal.case.reference, "insurer": refusal.insurer.code, "sending": refusal.sending},
            )
            raise

    return wrapper


# --- the patient grants it ------------------------------------------------------------------------


def _insurer_of_case(case: Case) -> Insurer:
    coverage = coverage_of(case)
    if coverage is None:
        raise Conflict(_("No insurer is recorded on this case yet."), field="insurer")
    return coverage.insurer


@transaction.atomic
def grant_gop_consent(actor, case: Case, *, period_end=None) -> Consent:
    """The case's patient consents to their insurer (the coverage's) receiving their diagnosis, treating doctor,
    clinical notes and itemised estimate or bill for a guarantee of payment and claims; nobody else can."""
    require_case_party(actor, case)
    if actor.role != Role.PATIENT:
        raise PermissionDenied(
            _("Only the patient can give this consent, on their own pages: ask the patient for it."), field="consent"
        )
    insurer = _insurer_of_case(case)
    if consent_for(case, insurer) is not None:
        raise Conflict(_("You have already given this consent."), code="consent_exists", field="consent")
    consent = grant_payment_consent(
        actor,
        case,
        recipient_name=insurer.name,
        recipient_system=INSURER_SYSTEM,
        recipient_identifier=insurer.code,
        recipient_country=insurer.country,
        period_end=period_end,
    )
    InsurerConsent.objects.create(consent=consent, insurer=insurer)
    return consent


@transaction.atomic
def record_paper_gop_consent(actor, case: Case, *, file, period_end=None) -> Consent:
    """A coordinator or admin of the case's hospital records the consent to the case's insurer that the patient
    signed on paper, with its scan: the same payment consent as the patient's own, linked to the insurer."""
    require_paper_recorder(actor, case)
    insurer = _insurer_of_case(case)
    if consent_for(case, insurer) is not None:
        raise Conflict(_("The patient has already given this consent."), code="consent_exists", field="consent")
    paper = check_paper(file)
    consent = grant_payment_consent(
        actor,
        case,
        recipient_name=insurer.name,
        recipient_system=INSURER_SYSTEM,
        recipient_identifier=insurer.code,
        recipient_country=insurer.country,
        period_end=period_end,
        paper=paper,
    )
    InsurerConsent.objects.create(consent=consent, insurer=insurer)
    return consent


# --- the desk asks for it -------------------------------------------------------------------------


def consent_page_url(case: Case, language: str) -> str:
    """The patient's records page, where they give (and withdraw) the consent, in their language."""
    with translation.override(language):
        path = reverse("records:case", args=[case.reference])
    return settings.SITE_URL.rstrip("/") + path + "#insurer-consent"


@transaction.atomic
def ask_for_consent(actor, case: Case) -> Message:
    """The hospital's desk asks the patient for the consent: a message on the case in the patient's language,
    naming the insurer and what would be sent, with the link to the page where they give it."""
    require_case_staff(actor, case, DESK)
    insurer = _insurer_of_case(case)
    if consent_for(case, insurer) is not None:
        raise Conflict(_("The patient has already given this consent."), code="consent_exists", field="consent")
    with translation.override(case.language):
        body = _(
            "To ask %(insurer)s for a guarantee of payment, and to send it the bill after your treatment, we need "
            "your consent to send it your diagnosis, your treating doctor, the clinical notes and the itemised "
            "estimate. Please read what would be sent and decide here: %(url)s\n"
            "Without your consent we send nothing to %(insurer)s; you can withdraw it at any time."
        ) % {"insurer": insurer.name, "url": consent_page_url(case, case.language)}
    message = post_message(actor, case, body)
    add_event(case, actor, "payment_consent_requested", note=insurer.name, insurer=insurer.code)
    record_event(
        actor,
        "insurance.consent_request",
        case,
        hospital=case.hospital,
        detail={"case": case.reference, "insurer": insurer.code, "message": message.pk},
    )
    return message


# --- what the pages and the API show --------------------------------------------------------------


@dataclass
class ConsentState:
    """Where the case's consent for its insurer stands."""

    insurer: Insurer | None
    consent: Consent | None  # in force today
    latest: Consent | None  # the newest, whatever its status
    asked_at: datetime.datetime | None

    @property
    def given(self) -> bool:
        return self.consent is not None

    @property
    def withdrawn(self) -> Consent | None:
        """The consent the patient withdrew, when none is in force since."""
        if self.consent is None and self.latest is not None and self.latest.status == ConsentStatus.INACTIVE:
            return self.latest
        return None

    @property
    def status(self) -> str:
        if self.insurer is None:
            return "no_insurer"
        if self.consent is not None:
            return "given"
        return "withdrawn" if self.withdrawn else "missing"

    @property
    def data_types(self) -> list[tuple[str, str]]:
        return list(PaymentDataType.choices)


def consent_state(case: Case) -> ConsentState:
    """The consent of the case's patient for the case's insurer (no access check: the caller checked the case)."""
    coverage = coverage_of(case)
    if coverage is None:
        return ConsentState(None, None, None, None)
    insurer = coverage.insurer
    asked = (
        CaseEvent.objects.filter(case=case, kind="payment_consent_requested", detail__insurer=insurer.code)
        .order_by("-at")
        .values_list("at", flat=True)
        .first()
    )
    return ConsentState(insurer, consent_for(case, insurer), latest_consent(case, insurer), asked)


def get_consent_state(actor, case: Case) -> ConsentState:
    """The consent state for the case's patient or its hospital's staff, audited."""
    require_case_party(actor, case)
    state = consent_state(case)
    record_event(
        actor,
        "insurance.consent_view",
        case,
        hospital=case.hospital,
        detail={"case": case.reference, "status": state.status},
    )
    return state
