"""Travel: which entry route fits a patient's trip, and the hospital's invitation letter for a visa.

Entry guidance reads the entry rules (travel.models, shipped from travel/data/ and edited by the
platform admin) for a nationality and an arrival date: a country is on a scheme only for arrivals
within its dates, so a route that ends before the arrival is never offered, only mentioned as
ended. Each route says whether the planned stay fits, by how many days it does not, whether medical
treatment is a listed purpose, and its conditions and source; the visa comes last, as the route
open to everyone.

The invitation letter is issued by the case's hospital (a coordinator or hospital admin) once the
patient has accepted a quote. Every printed field is kept as a snapshot with the PDF as issued;
issuing again revokes the earlier letters, which stay in the history.
"""

import base64
import datetime
import hashlib
import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django_countries import countries
from django_countries.fields import Country

from laihua.accounts.models import Role
from laihua.audit.services import record_event
from laihua.cases.models import Case
from laihua.cases.services import add_event, get_case, require_case_staff
from laihua.cases.states import DESK, State
from laihua.errors import Conflict, InvalidInput, NotFound
from laihua.kit import clock
from laihua.kit.i18n import pick
from laihua.travel.forms import GuidanceForm, LetterForm, LetterSettingsForm
from laihua.travel.models import EntryScheme, InvitationLetter, LetterSettings, Payer, SchemeCountry

logger = logging.getLogger(__name__)

LETTER_ROLES = DESK  # coordinators and hospital admins issue, revoke and read letters
LETTER_STATES = (
    State.ACCEPTED,
    State.SCHEDULED,
    State.ARRIVED,
    State.IN_TREATMENT,
    State.DISCHARGED,
    State.FOLLOW_UP,
)
CHINESE = "zh-hans"


class FormInvalid(InvalidInput):
    """A form's errors: the first names its field; pages show them all."""

    def __init__(self, form):
        self.form = form
        name, errors = next(iter(form.errors.items()))
        if name == "__all__":
            super().__init__(errors[0])
            return
        label = form.fields[name].label if name in form.fields else name
        super().__init__(_("%(field)s: %(error)s") % {"field": label, "error": errors[0]}, field=name)


class CaseNotAccepted(Conflict):
    code = "case_not_accepted"


class SignatoryMissing(Conflict):
    code = "signatory_missing"


# Entry guidance


@dataclass
class Route:
    """One way in for this trip, with what the traveller must know about it."""

    scheme: EntryScheme
    listing: SchemeCountry | None  # None for the route open to every nationality
    stay_days: int | None
    place_fits: bool | None  # None: the hospital is not known (the public check)
    warnings: list[str] = field(default_factory=list)

    @property
    def code(self) -> str:
        return self.scheme.code

    @property
    def fallback(self) -> bool:
        return self.scheme.all_nationalities

    @property
    def max_stay_days(self) -> int | None:
        return self.scheme.max_stay_days

    @property
    def exceeded_by(self) -> int:
        if self.stay_days is None or self.max_stay_days is None:
            return 0
        return max(0, self.stay_days - self.max_stay_days)

    @property
    def fits_stay(self) -> bool | None:
        if self.stay_days is None:
            return None
        return self.exceeded_by == 0

    @property
    def fits(self) -> bool:
        return self.fits_stay is not False and self.place_fits is not False

    @property
    def medical_purpose(self) -> bool:
        return self.scheme.medical_purpose

    @property
    def valid_from(self) -> datetime.date | None:
        return self.listing.valid_from if self.listing else None

    @property
    def valid_until(self) -> datetime.date | None:
        return self.listing.valid_until if self.listing else None

    @property
    def source_title(self) -> str:
        return (self.listing.source_title if self.listing else "") or self.scheme.source_title

    @property
    def source_url(self) -> str:
        return (self.listing.source_url if self.listing else "") or self.scheme.source_url

    def as_dict(self) -> dict:
        return {
            "scheme": self.code,
            "name": pick(self.scheme.name),
            "fallback": self.fallback,
            "fits": self.fits,
            "max_stay_days": self.max_stay_days,
            "stay_days": self.stay_days,
            "fits_stay": self.fits_stay,
            "exceeded_by_days": self.exceeded_by,
            "medical_purpose_listed": self.medical_purpose,
            "place_fits": self.place_fits,
            "onward_ticket_required": self.scheme.onward_ticket_required,
            "conditions": pick(self.scheme.conditions),
            "notes": pick(self.scheme.notes),
            "country_note": pick(self.listing.note) if self.listing else "",
            "valid_from": self.valid_from,
            "valid_until": self.valid_until,
            "source_title": self.source_title,
            "source_url": self.source_url,
            "warnings": list(self.warnings),
        }


@dataclass
class Guidance:
    nationality: Country
    arrival: datetime.date | None
    departure: datetime.date | None
    checked_for: datetime.date  # the arrival date the rules were read for
    routes: list[Route]
    ended: list[str] = field(default_factory=list)  # schemes the nationality is on, but not for this arrival
    warnings: list[str] = field(default_factory=list)

    @property
    def best(self) -> Route | None:
        """The first route that fits the trip as planned (the visa when nothing else does).

        A transit route is left out (a patient going home afterwards does not transit) and so is a route
        limited to some places when the hospital is not known.
        """
        return next(
            (
                route
                for route in self.routes
                if route.fits and route.place_fits is True and not route.scheme.onward_ticket_required
            ),
            None,
        )

    @property
    def stay_days(self) -> int | None:
        if self.arrival and self.departure:
            return (self.departure - self.arrival).days
        return None

    def as_dict(self) -> dict:
        return {
            "nationality": self.nationality.code,
            "nationality_name": str(self.nationality.name),
            "arrival": self.arrival,
            "departure": self.departure,
            "stay_days": self.stay_days,
            "checked_for": self.checked_for,
            "best": self.best.code if self.best else None,
            "routes": [route.as_dict() for route in self.routes],
            "ended": list(self.ended),
            "warnings": list(self.warnings),
        }


def _route_warnings(route: Route, guidance: Guidance, city: str | None) -> None:
    scheme = route.scheme
    if route.fits_stay is False:
        route.warnings.append(
            ngettext(
                "The planned stay of %(stay)d days is longer than this route allows (%(max)d days): "
                "%(over)d day too many.",
                "The planned stay of %(stay)d days is longer than this route allows (%(max)d days): "
                "%(over)d days too many.",
                route.exceeded_by,
            )
            % {"stay": route.stay_days, "max": route.max_stay_days, "over": route.exceeded_by}
        )
    if not scheme.medical_purpose:
        route.warnings.append(
            _(
                "Medical treatment is not among this route's listed purposes, and whether it is accepted is "
                "unconfirmed: ask the Chinese embassy or consulate before relying on it."
            )
        )
    if scheme.onward_ticket_required:
        route.warnings.append(
            _(
                "Only when travelling on to a third country or region with a confirmed onward ticket, "
                "not when returning to where the journey began."
            )
        )
    if route.place_fits is False:
        route.warnings.append(
            _("This route covers a stay only where its conditions say; %(city)s is not one of those places.")
            % {"city": city}
        )
    elif route.place_fits is None and scheme.only_in_cities:
        route.warnings.append(_("This route covers a stay only where its conditions say."))
    until = route.valid_until
    if until and guidance.departure and guidance.departure > until:
        route.warnings.append(
            _(
                "This route is open to arrivals until %(date)s and the planned departure is later: "
                "confirm the stay allowed before travelling."
            )
            % {"date": until.isoformat()}
        )


def _ended_message(scheme: EntryScheme, listings: list[SchemeCountry], country: Country, day) -> str:
    periods = ", ".join(
        f"{item.valid_from.isoformat()} – {item.valid_until.isoformat() if item.valid_until else '…'}"
        for item in listings
    )
    return _(
        "%(scheme)s: open to %(country)s for arrivals %(periods)s only; the planned arrival on %(day)s is "
        "outside these dates. Do not count on an extension until one is announced."
    ) % {"scheme": pick(scheme.name), "country": country.name, "periods": periods, "day": day.isoformat()}


def _sort_key(route: Route):
    """Fitting routes first; a route known to fit the hospital's place before one that may not."""
    return (
        route.fallback,
        not route.fits,
        route.place_fits is not True,
        not route.medical_purpose,
        route.scheme.order,
        route.code,
    )


def entry_guidance(
    case: Case | None = None,
    *,
    nationality: str | None = None,
    arrival: datetime.date | None = None,
    departure: datetime.date | None = None,
    day: datetime.date | None = None,
) -> Guidance:
    """The entry routes for a case's patient and dates, or for a nationality and dates, best first.

    The rules are read for the arrival date (or `day`, default today, when there is none yet).
    Public data only: no access check here; `case_guidance` checks and audits a case's reading.
    """
    day = day or clock.today()
    city = None
    if case is not None:
        nationality = case.patient.nationality.code
        arrival, departure = case.desired_arrival, case.desired_departure
        city = case.hospital.city.slug
    country = Country(code=(nationality or "").upper())
    if not country.code or country.code not in dict(countries):
        raise InvalidInput(_("Give a nationality as a two-letter ISO 3166-1 code, e.g. FR."), field="nationality")
    checked_for = arrival or day
    guidance = Guidance(country, arrival, departure if arrival else None, checked_for, routes=[])
    if arrival is None:
        guidance.warnings.append(_("No travel dates yet: the routes are checked for an arrival today."))
    elif arrival < day:
        guidance.warnings.append(_("The planned arrival date has passed."))
    if guidance.departure and guidance.departure < arrival:
        guidance.warnings.append(_("The planned departure comes before the arrival."))
        guidance.departure = None
    stay = guidance.stay_days
    listings: dict[int, list[SchemeCountry]] = {}
    for item in SchemeCountry.objects.filter(country=country.code, scheme__active=True).select_related("scheme"):
        listings.setdefault(item.scheme_id, []).append(item)
    for scheme in EntryScheme.objects.filter(active=True):
        if scheme.all_nationalities:
            route = Route(scheme, None, stay, _place_fits(scheme, city))
        else:
            mine = listings.get(scheme.pk, [])
            current = next((item for item in mine if item.covers(checked_for)), None)
            if current is None:
                if mine:
                    guidance.ended.append(_ended_message(scheme, mine, country, checked_for))
                continue
            route = Route(scheme, current, stay, _place_fits(scheme, city))
        _route_warnings(route, guidance, str(case.hospital.city) if case else None)
        guidance.routes.append(route)
    guidance.routes.sort(key=_sort_key)
    return guidance


def _place_fits(scheme: EntryScheme, city: str | None) -> bool | None:
    if not scheme.only_in_cities:
        return True
    if city is None:
        return None
    return city in scheme.only_in_cities


def public_guidance(data) -> Guidance:
    """The check anyone may make: a nationality and optional dates, from a form or query parameters."""
    form = GuidanceForm(data)
    if not form.is_valid():
        raise FormInvalid(form)
    values = form.cleaned_data
    return entry_guidance(nationality=values["nationality"], arrival=values["arrival"], departure=values["departure"])


def case_guidance(actor, case_or_reference, *, day: datetime.date | None = None) -> Guidance:
    """The entry routes for one case, for its patient or its hospital's staff; the reading is audited."""
    reference = case_or_reference.reference if isinstance(case_or_reference, Case) else case_or_reference
    case = get_case(actor, reference, audit=None)  # the one scoping query, even when handed a case
    guidance = entry_guidance(case, day=day)
    record_event(
        actor,
        "travel.guidance.view",
        case,
        hospital=case.hospital,
        detail={"routes": [route.code for route in guidance.routes], "checked_for": guidance.checked_for.isoformat()},
    )
    return guidance


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
    """The issue form's starting values, from the case."""
    names = [pick(item.name) for item in case.services.all()]
    parts = [pick(case.department.name)] if case.department else []
    if names:
        parts.append(", ".join(names))
    return {
        "arrival": case.desired_arrival,
        "departure": case.desired_departure,
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
