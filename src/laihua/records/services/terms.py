"""The term list: a code's display in English and Chinese. The platform's list serves every hospital and is
edited by platform administrators only; a hospital keeps its own overrides on top of it, edited by its
coordinators and hospital admins and invisible to every other hospital. An item of a case shows the case's
hospital's override of a code, else the platform's."""

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from laihua.accounts.models import Role
from laihua.accounts.services import require_role
from laihua.audit.services import record_event
from laihua.cases.models import Case
from laihua.errors import InvalidInput, NotFound, PermissionDenied
from laihua.records.models import TermTranslation

TERM_READERS = (Role.HOSPITAL_ADMIN, Role.COORDINATOR, Role.CLINICIAN, Role.PLATFORM_ADMIN)
OVERRIDE_EDITORS = (Role.HOSPITAL_ADMIN, Role.COORDINATOR)
PLATFORM, HOSPITAL = "platform", "hospital"


def may_edit(actor, scope: str) -> bool:
    """May the actor change the platform's list (`platform`) or their hospital's overrides (`hospital`)?"""
    if actor is None or not actor.is_authenticated:
        return False
    if scope == PLATFORM:
        return actor.role == Role.PLATFORM_ADMIN
    return actor.role in OVERRIDE_EDITORS and actor.hospital_id is not None


def translations(items) -> dict:
    """{(case id, system, code): term} for the items' codes: the case's hospital's override, else the platform's."""
    pairs = {(c.get("system", ""), c.get("code", "")) for item in items for c in item.codes}
    if not pairs:
        return {}
    hospital_of = dict(Case.objects.filter(pk__in={item.case_id for item in items}).values_list("pk", "hospital_id"))
    query = Q()
    for system, code in pairs:
        query |= Q(system=system, code=code)
    rows = TermTranslation.objects.filter(query).filter(
        Q(hospital__isnull=True) | Q(hospital_id__in=set(hospital_of.values()))
    )
    platform, overrides = {}, {}
    for term in rows:
        if term.hospital_id is None:
            platform[(term.system, term.code)] = term
        else:
            overrides[(term.hospital_id, term.system, term.code)] = term
    found = {}
    for case_id, hospital_id in hospital_of.items():
        for system, code in pairs:
            term = overrides.get((hospital_id, system, code)) or platform.get((system, code))
            if term is not None:
                found[(case_id, system, code)] = term
    return found


def visible_terms(actor) -> QuerySet[TermTranslation]:
    """The platform's list and, for a hospital's staff, their own hospital's overrides (never another's)."""
    if actor is None or not actor.is_authenticated or actor.role not in TERM_READERS:
        return TermTranslation.objects.none()
    if actor.role == Role.PLATFORM_ADMIN or actor.hospital_id is None:
        return TermTranslation.objects.filter(hospital__isnull=True)
    return TermTranslation.objects.filter(Q(hospital__isnull=True) | Q(hospital_id=actor.hospital_id))


def terms(actor, *, query: str = "") -> QuerySet[TermTranslation]:
    require_role(actor, TERM_READERS)
    rows = visible_terms(actor).select_related("hospital")
    query = (query or "").strip()
    if query:
        rows = rows.filter(Q(code__icontains=query) | Q(en__icontains=query) | Q(zh_hans__icontains=query))
    return rows.order_by("system", "code", "hospital_id")


def _scope(actor, scope: str | None) -> str:
    scope = scope or (PLATFORM if actor.role == Role.PLATFORM_ADMIN else HOSPITAL)
    if scope not in (PLATFORM, HOSPITAL):
        raise InvalidInput(_("Choose the platform's list or your hospital's."), field="scope")
    if scope == PLATFORM and not may_edit(actor, PLATFORM):
        raise PermissionDenied(
            _("Only platform administrators change the platform's term list; save it for your hospital instead."),
            field="scope",
        )
    if scope == HOSPITAL and not may_edit(actor, HOSPITAL):
        raise PermissionDenied(_("Only your hospital's coordinators and administrators change its term list."))
    return scope


@transaction.atomic
def save_term(
    actor, *, system: str, code: str, en: str = "", zh_hans: str = "", scope: str | None = None
) -> TermTranslation:
    """Add or change a code's display: on the platform's list (platform administrators; the default for them) or
    as the actor's hospital's override (its coordinators and admins; the default for them)."""
    require_role(actor, TERM_READERS)
    scope = _scope(actor, scope)
    system, code, en, zh_hans = (str(v or "").strip() for v in (system, code, en, zh_hans))
    if not system:
        raise InvalidInput(_("Give the code system (e.g. http://snomed.info/sct)."), field="system")
    if not code:
        raise InvalidInput(_("Give the code."), field="code")
    if not en and not zh_hans:
        raise InvalidInput(_("Give the English or the Chinese display, or both."), field="zh_hans")
    if len(system) > 255 or len(code) > 100 or len(en) > 255 or len(zh_hans) > 255:
        raise InvalidInput(_("This value is too long."), field="en")
    hospital = actor.hospital if scope == HOSPITAL else None
    term, _created = TermTranslation.objects.update_or_create(
        hospital=hospital, system=system, code=code, defaults={"en": en, "zh_hans": zh_hans, "updated_by": actor}
    )
    record_event(
        actor, "records.term_save", term, hospital=hospital, detail={"system": system, "code": code, "scope": scope}
    )
    return term


@transaction.atomic
def delete_term(actor, pk: int) -> None:
    """Remove a translation: a platform term only by platform administrators, a hospital's override only by its
    coordinators and admins; another hospital's override is not found."""
    require_role(actor, TERM_READERS)
    term = visible_terms(actor).select_for_update().filter(pk=pk).first()
    if term is None:
        raise NotFound(_("No such term."))
    scope = PLATFORM if term.hospital_id is None else HOSPITAL
    if not may_edit(actor, scope):
        raise PermissionDenied(
            _("Only platform administrators remove a term of the platform's list.")
            if scope == PLATFORM
            else _("Only your hospital's coordinators and administrators change its term list.")
        )
    record_event(
        actor,
        "records.term_delete",
        term,
        hospital=term.hospital,
        detail={"system": term.system, "code": term.code, "scope": scope},
    )
    term.delete()
