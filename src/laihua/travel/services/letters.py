"""Invitation letters: issued by the case's hospital (a coordinator or hospital admin) once the patient
has accepted a quote. Every printed field is kept as a snapshot with the PDF as issued; issuing again
revokes the earlier letters, which stay in the history. And the hospital admin's letter settings.
"""

import base64
import hashlib
import logging

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import translation
from django.utils.translation import gettext as _
from django_countries.fields import Country

from laihua.accounts.models import Role
from laihua.audit.services import record_event
from laihua.cases.models import Case
from laihua.cases.services import add_event, get_case, require_case_staff
from laihua.cases.states import State
from laihua.errors import Conflict, FormInvalid, InvalidInput, NotFound
from laihua.kit import clock
from laihua.kit.i18n import pick
from laihua.travel.forms import LetterForm, LetterSettingsForm
from laihua.travel.models import EntryScheme, InvitationLetter, LetterSettings, Payer
from laihua.travel.services.common import CHINESE, LETTER_ROLES, LETTER_STATES
from laihua.travel.services.stay import trip_dates

logger = logging.getLogger(__name__)


class CaseNotAccepted(Conflict):
    code = "case_not_accepted"


class SignatoryMissing(Conflict):
    code = "signatory_missing"


# Invitation letters


def letter_settings(hospital) -> LetterSettings:
    return LetterSettings.objects.filter(hospital=hospital).first() or LetterSettings(hospital=hospital)


def require_letter_staff(actor, case: Case) -> None:
    require_case_staff(actor, case, LETTER_ROLES)


def may_issue(actor, case: Case) -> bool:
    return (
        actor is not None
        and actor.is_authenticated
        and actor.role in LETTER_ROLES
        and actor.hospital_id == case.hospital_id
    )


def require_letter_state(case: Case) -> None:
    if case.state not in LETTER_STATES:
        raise CaseNotAccepted(
            _("An invitation letter is issued once the patient has accepted a quote; this case is “%(state)s”.")
            % {"state": State(case.state).label}
        )


def second_language(case: Case) -> str:
    """The letter's language beside Chinese: the patient's, when the site speaks it, else English."""
    language = (case.language or "").lower()
    offered = {code for code, _name in settings.LANGUAGES}
    return language if language in offered and language != CHINESE else "en"


def letter_defaults(case: Case) -> dict:
    """The issue form's starting values, from the case and its trip's dates."""
    names = [pick(item.name) for item in case.services.all()]
    parts = [pick(case.department.name)] if case.department else []
    if names:
        parts.append(", ".join(names))
    dates = trip_dates(case)  # the flights, else the confirmed plan, else the desired dates
    return {
        "arrival": dates.arrival,
        "departure": dates.departure,
        "purpose": "; ".join(parts),
        "payer": Payer.INSURER if case.insurer_name else Payer.SELF,
        "payer_name": case.insurer_name,
        "companions": [],
    }


def letter_form(case: Case, data=None, *, initial=None) -> LetterForm:
    return LetterForm(
        data,
        initial=initial if initial is not None else letter_defaults(case),
        companions=case.patient.companions.all(),
        today=clock.today(),
    )


def _both(texts: dict | None) -> dict:
    return {"en": pick(texts, "en"), CHINESE: pick(texts, CHINESE)}


def _country(code) -> dict:
    country = Country(code=str(code))
    names = {}
    for language in ("en", CHINESE):
        with translation.override(language):
            names[language] = str(country.name)
    return {"code": country.code, "name": names}


def _person(person) -> dict:
    return {
        "family_name": person.family_name,
        "given_names": person.given_names,
        "full_name": person.full_name,
        "sex": person.sex,
        "date_of_birth": person.date_of_birth.isoformat(),
        "nationality": _country(person.nationality.code),
        "passport_number": person.passport_number,
    }


def _snapshot(case: Case, chosen: LetterSettings, values: dict, companions, number: str, language: str) -> dict:
    hospital, patient = case.hospital, case.patient
    invitee = _person(patient)
    invitee["passport_expiry"] = patient.passport_expiry.isoformat() if patient.passport_expiry else ""
    stamp = _stamp_bytes(chosen)
    return {
        "number": number,
        "case": case.reference,
        "issued_on": clock.today().isoformat(),
        "language": language,
        "invitee": invitee,
        "companions": [dict(_person(companion), relation=companion.relation) for companion in companions],
        "purpose": values["purpose"],
        "department": _both(case.department.name) if case.department else None,
        "services": [_both(item.name) for item in case.services.all()],
        "arrival": values["arrival"].isoformat(),
        "departure": values["departure"].isoformat(),
        "places": [
            {"city": _both(hospital.city.name), "hospital": _both(hospital.name), "address": _both(hospital.address)}
        ],
        "payer": {"kind": values["payer"], "name": values["payer_name"]},
        "inviter": {
            "name": _both(hospital.name),
            "department": _both(hospital.intl_department),
            "address": _both(hospital.address),
            "phone": chosen.phone or hospital.intl_phone,
            "email": hospital.intl_email,
            "website": hospital.website,
            "signatory_name": _both(chosen.signatory_name),
            "signatory_title": _both(chosen.signatory_title),
            "stamp_sha256": hashlib.sha256(stamp).hexdigest() if stamp else "",
        },
    }


def _stamp_bytes(chosen: LetterSettings) -> bytes:
    if not chosen.stamp:
        return b""
    try:
        with chosen.stamp.open("rb") as image:
            return image.read()
    except OSError:
        logger.warning("The stamp image of %s cannot be read; the letter is issued without it.", chosen.hospital)
        return b""


def _stamp_data_uri(stamp: bytes) -> str:
    if not stamp:
        return ""
    kind = "image/png" if stamp.startswith(b"\x89PNG") else "image/jpeg"
    return f"data:{kind};base64,{base64.b64encode(stamp).decode()}"


def _next_number(chosen: LetterSettings, year: int) -> str:
    start = f"{chosen.prefix}-{year}-"
    taken = InvitationLetter.objects.filter(hospital=chosen.hospital, number__startswith=start).count()
    number = f"{start}{taken + 1:04d}"
    while InvitationLetter.objects.filter(hospital=chosen.hospital, number=number).exists():
        taken += 1
        number = f"{start}{taken + 1:04d}"
    return number


def render_letter_pdf(snapshot: dict, *, stamp: bytes = b"", revoked: bool = False) -> bytes:
    """The letter's PDF from its snapshot: Chinese beside the second language, fixed text in both."""
    from laihua.kit.pdf import render_pdf
    from laihua.travel.letter import letter_context

    language = snapshot.get("language", "en")
    context = letter_context(snapshot, language)
    context.update({"stamp": _stamp_data_uri(stamp), "revoked": revoked})
    return render_pdf("travel/letter_pdf.html", context, language=language)


def issue_letter(actor, reference: str, data) -> InvitationLetter:
    """Issue the hospital's invitation letter for an accepted case; earlier letters are revoked, kept.

    `data`: arrival, departure, purpose, payer, payer_name, companions (ids of the patient's companions).
    """
    case = get_case(actor, reference, audit=None)
    require_letter_staff(actor, case)
    require_letter_state(case)
    chosen = letter_settings(case.hospital)
    if not chosen.pk or not chosen.has_signatory:
        raise SignatoryMissing(
            _(
                "Your hospital's letters have no signatory yet: a hospital admin sets the signatory's name and "
                "title in the letter settings first."
            ),
            field="signatory",
        )
    form = letter_form(case, data, initial={})
    if not form.is_valid():
        raise FormInvalid(form)
    values = form.cleaned_data
    companions = list(case.patient.companions.filter(pk__in=values["companions"]).order_by("pk"))
    if len(companions) != len(set(values["companions"])):
        raise InvalidInput(_("Choose only this patient's companions."), field="companions")
    with transaction.atomic():
        chosen = LetterSettings.objects.select_for_update().select_related("hospital").get(pk=chosen.pk)
        letter = _create_letter(actor, case, chosen, values, companions)
    transaction.on_commit(lambda: _notify_patient(case, letter))
    return letter


def _create_letter(actor, case: Case, chosen: LetterSettings, values: dict, companions) -> InvitationLetter:
    now = clock.now()
    number = _next_number(chosen, clock.today().year)
    language = second_language(case)
    snapshot = _snapshot(case, chosen, values, companions, number, language)
    pdf = render_letter_pdf(snapshot, stamp=_stamp_bytes(chosen))
    earlier = list(InvitationLetter.objects.filter(case=case, revoked=False).values_list("number", flat=True))
    InvitationLetter.objects.filter(case=case, revoked=False).update(
        revoked=True, revoked_at=now, revoked_by=actor, revoke_reason=_("Replaced by %(number)s") % {"number": number}
    )
    letter = InvitationLetter.objects.create(
        case=case,
        hospital=case.hospital,
        number=number,
        issued_by=actor,
        issued_at=now,
        language=language,
        snapshot=snapshot,
        pdf=pdf,
        pdf_sha256=hashlib.sha256(pdf).hexdigest(),
    )
    add_event(case, actor, "letter_issued", note=number, letter=number, replaced=earlier)
    record_event(
        actor,
        "travel.letter.issue",
        case,
        hospital=case.hospital,
        detail={
            "letter": number,
            "replaced": earlier,
            "arrival": snapshot["arrival"],
            "departure": snapshot["departure"],
            "companions": len(companions),
        },
    )
    return letter


def _notify_patient(case: Case, letter: InvitationLetter) -> None:
    """An e-mail that the letter is ready; a failure to send never undoes the letter."""
    from laihua.cases.notices import notify_patient

    try:
        notify_patient(case, "invitation_letter", letter=letter)
    except Exception:  # noqa: BLE001 - the letter is issued; the notice is best effort, and logged
        logger.exception("The invitation letter notice for %s could not be sent.", case)


def letters_for_case(actor, case: Case) -> QuerySet[InvitationLetter]:
    """The case's letters the actor may see: staff who issue letters all of them, the patient the valid ones."""
    letters = InvitationLetter.objects.filter(case=case).select_related("issued_by").defer("pdf")
    if actor.role == Role.PATIENT:
        if case.patient.user_id != actor.pk:
            return letters.none()
        return letters.filter(revoked=False)
    if may_issue(actor, case):
        return letters
    return letters.none()


def may_read_letters(actor, case: Case) -> bool:
    if actor is None or not actor.is_authenticated:
        return False
    if actor.role == Role.PATIENT:
        return case.patient.user_id == actor.pk
    return may_issue(actor, case)


def list_letters(actor, reference: str) -> list[InvitationLetter]:
    """The letters of a case (audited): its patient sees the valid ones, its coordinators every one."""
    case = get_case(actor, reference, audit=None)
    if actor.role != Role.PATIENT:
        require_letter_staff(actor, case)
    letters = list(letters_for_case(actor, case))
    record_event(actor, "travel.letter.list", case, hospital=case.hospital, detail={"count": len(letters)})
    return letters


def get_letter(actor, letter_id: int) -> InvitationLetter:
    """A letter the actor may read (NotFound otherwise, never a hint that it exists)."""
    letter = InvitationLetter.objects.select_related("case", "case__patient", "hospital").filter(pk=letter_id).first()
    if letter is None:
        raise NotFound(_("No such letter."))
    try:
        case = get_case(actor, letter.case.reference, audit=None)
    except NotFound:
        raise NotFound(_("No such letter.")) from None
    if actor.role != Role.PATIENT:
        require_letter_staff(actor, case)
    elif letter.revoked:
        raise NotFound(_("This letter was replaced or withdrawn; download the current one."))
    return letter


def letter_pdf(actor, letter_id: int) -> tuple[InvitationLetter, bytes]:
    """The PDF as issued; every download is audited."""
    letter = get_letter(actor, letter_id)
    record_event(
        actor,
        "travel.letter.download",
        letter.case,
        hospital=letter.hospital,
        detail={"letter": letter.number, "revoked": letter.revoked},
    )
    return letter, bytes(letter.pdf)


@transaction.atomic
def revoke_letter(actor, letter_id: int, *, reason: str = "") -> InvitationLetter:
    """Withdraw a letter (it stays in the history, marked revoked)."""
    letter = get_letter(actor, letter_id)
    require_letter_staff(actor, letter.case)
    if letter.revoked:
        raise Conflict(_("This letter is already revoked."), code="letter_revoked")
    reason = " ".join((reason or "").split())[:200] or _("Withdrawn")
    letter.revoked, letter.revoked_at, letter.revoked_by, letter.revoke_reason = True, clock.now(), actor, reason
    letter.save(update_fields=["revoked", "revoked_at", "revoked_by", "revoke_reason"])
    add_event(letter.case, actor, "letter_revoked", note=letter.number, staff_only=False, letter=letter.number)
    record_event(actor, "travel.letter.revoke", letter.case, hospital=letter.hospital, detail={"letter": letter.number})
    return letter


# Letter settings (the hospital admin's)


def settings_for_admin(actor):
    """The actor's own hospital's letter settings (a hospital admin's)."""
    from laihua.accounts.permissions import require_role

    require_role(actor, (Role.HOSPITAL_ADMIN,))
    return letter_settings(actor.hospital)


@transaction.atomic
def save_letter_settings(actor, data, files=None) -> LetterSettings:
    """Change who signs the hospital's letters, the stamp and the number prefix (a hospital admin's own)."""
    current = settings_for_admin(actor)
    form = LetterSettingsForm(data, files, instance=current)
    if not form.is_valid():
        raise FormInvalid(form)
    chosen = form.save(commit=False)
    chosen.hospital = actor.hospital
    chosen.updated_by = actor
    chosen.save()
    record_event(
        actor,
        "travel.letter_settings.change",
        chosen,
        hospital=chosen.hospital,
        detail={"changed": list(form.changed_data)},
    )
    return chosen


def entry_rules(actor):
    """Every scheme with its countries, for the platform admin's overview."""
    from laihua.accounts.permissions import require_role

    require_role(actor, (Role.PLATFORM_ADMIN,))
    return EntryScheme.objects.prefetch_related("countries").order_by("order", "code")
