"""Insurers and contracts: the insurers to choose from, and the one contract a hospital admin keeps per insurer
(direct billing, what needs pre-authorisation by kind of service and above an amount, the answer deadline, the
currency paid in, and for billing's split the kinds covered, the co-payment and the excess)."""

import datetime
from collections.abc import Mapping
from decimal import Decimal

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from laihua.accounts.models import Role
from laihua.accounts.permissions import STAFF_ROLES, require_hospital_staff, require_role
from laihua.audit.services import record_event
from laihua.catalog.models import Kind
from laihua.errors import InvalidInput, NotFound
from laihua.insurance.models import Contract, Insurer
from laihua.insurance.services.access import insurer_of
from laihua.insurance.services.inputs import parse_date
from laihua.kit import clock
from laihua.kit.money import normalise_currency, parse_amount

MAX_ANSWER_HOURS = 24 * 30
CONTRACT_EDITORS = (Role.HOSPITAL_ADMIN,)
# Who reads contracts (docs/roles.md): the hospital admin keeps them, the coordinator checks coverage and
# pre-authorisation against them, finance splits and claims under them, the insurer's agents are the other party,
# the platform admin manages insurers. A clinician needs no commercial terms to treat.
CONTRACT_READERS = (Role.HOSPITAL_ADMIN, Role.COORDINATOR, Role.FINANCE, Role.INSURER_AGENT, Role.PLATFORM_ADMIN)


def visible_insurers(actor) -> QuerySet[Insurer]:
    """Insurers a signed-in user may pick from (active ones; a platform admin sees all)."""
    require_role(actor, Role.values)
    if actor.is_platform_admin:
        return Insurer.objects.all()
    if actor.role == Role.INSURER_AGENT:
        insurer = insurer_of(actor)
        return Insurer.objects.filter(pk=insurer.pk) if insurer else Insurer.objects.none()
    return Insurer.objects.filter(active=True)


def chosen_insurer(value, *, field: str = "insurer") -> Insurer:
    if isinstance(value, Insurer):
        return value
    text = str(value or "").strip()
    insurer = (
        Insurer.objects.filter(active=True).filter(Q(code=text) | Q(pk=int(text) if text.isdigit() else None)).first()
    )
    if insurer is None:
        raise InvalidInput(_("Choose an insurer."), field=field)
    return insurer


def visible_contracts(actor) -> QuerySet[Contract]:
    """Contracts: the hospital's admin, coordinators and finance their hospital's, an insurer agent their insurer's,
    a platform admin all; a clinician or a patient none."""
    contracts = Contract.objects.select_related("hospital", "insurer")
    if actor is None or not actor.is_authenticated or actor.role not in CONTRACT_READERS:
        return contracts.none()
    if actor.is_platform_admin:
        return contracts
    if actor.role in STAFF_ROLES and actor.hospital_id:
        return contracts.filter(hospital_id=actor.hospital_id)
    if actor.role == Role.INSURER_AGENT:
        insurer = insurer_of(actor)
        return contracts.filter(insurer=insurer) if insurer else contracts.none()
    return contracts.none()


def list_contracts(actor) -> QuerySet[Contract]:
    """The contracts the actor reads; a role that reads none is refused (PermissionDenied)."""
    require_role(actor, CONTRACT_READERS)
    return visible_contracts(actor)


def get_contract(actor, pk) -> Contract:
    """One contract the actor reads: a role that reads none is refused, another hospital's or insurer's NotFound."""
    require_role(actor, CONTRACT_READERS)
    contract = visible_contracts(actor).filter(pk=pk).first()
    if contract is None:
        raise NotFound(_("No such contract."))
    return contract


def contract_for(hospital, insurer, *, on: datetime.date | None = None) -> Contract | None:
    """The active contract between the hospital and the insurer in force on `on` (default today)."""
    on = on or clock.today()
    return (
        Contract.objects.filter(hospital=hospital, insurer=insurer, active=True)
        .filter(Q(valid_from__isnull=True) | Q(valid_from__lte=on))
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gte=on))
        .first()
    )


def _bool(value) -> bool:
    if isinstance(value, bool):
        return value
    return str(value or "").strip().lower() in ("1", "true", "on", "yes")


def _kinds(value, *, field: str = "preauth_kinds") -> list[str]:
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    kinds = sorted(set(value or []))
    for kind in kinds:
        if kind not in Kind.values:
            raise InvalidInput(_("Unknown kind of service: %(kind)s.") % {"kind": kind}, field=field)
    return kinds


@transaction.atomic
def save_contract(actor, hospital, data: Mapping) -> Contract:
    """Create or update the hospital's contract with one insurer (hospital admins of that hospital)."""
    require_hospital_staff(actor, hospital, CONTRACT_EDITORS)
    insurer = chosen_insurer(data.get("insurer"))
    threshold_raw = data.get("preauth_threshold_cny")
    threshold = None if threshold_raw in (None, "") else parse_amount(threshold_raw, field="preauth_threshold_cny")
    try:
        hours = int(str(data.get("answer_hours", 48)).strip() or 48)
    except ValueError:
        raise InvalidInput(_("Enter a whole number of hours."), field="answer_hours") from None
    if not 1 <= hours <= MAX_ANSWER_HOURS:
        raise InvalidInput(_("The answer deadline must be between 1 hour and 30 days."), field="answer_hours")
    valid_from = parse_date(data.get("valid_from"), field="valid_from", required=False)
    valid_until = parse_date(data.get("valid_until"), field="valid_until", required=False)
    if valid_from and valid_until and valid_until < valid_from:
        raise InvalidInput(_("The end date is before the start date."), field="valid_until")
    copay_raw = data.get("copay_percent")
    copay = Decimal("0.00") if copay_raw in (None, "") else parse_amount(copay_raw, field="copay_percent")
    if copay > 100:
        raise InvalidInput(_("A co-payment is a percentage from 0 to 100."), field="copay_percent")
    excess_raw = data.get("excess_cny")
    excess = Decimal("0.00") if excess_raw in (None, "") else parse_amount(excess_raw, field="excess_cny")
    values = {
        "direct_billing": _bool(data.get("direct_billing", True)),
        "covered_kinds": _kinds(data.get("covered_kinds"), field="covered_kinds"),
        "copay_percent": copay,
        "excess_cny": excess,
        "preauth_kinds": _kinds(data.get("preauth_kinds")),
        "preauth_threshold_cny": threshold,
        "answer_hours": hours,
        "currency": normalise_currency(data.get("currency") or "USD"),
        "valid_from": valid_from,
        "valid_until": valid_until,
        "notes": str(data.get("notes") or "")[:2000],
        "active": _bool(data.get("active", True)),
    }
    contract, created = Contract.objects.select_for_update().update_or_create(
        hospital=hospital, insurer=insurer, defaults=values
    )
    detail = {k: str(v) if isinstance(v, (Decimal, datetime.date)) else v for k, v in values.items()}
    record_event(
        actor,
        "insurance.contract.create" if created else "insurance.contract.update",
        contract,
        hospital=hospital,
        detail={"insurer": insurer.code, **detail},
    )
    return contract


def line_needs_preauth(contract: Contract, kind: str, amount_cny: Decimal) -> bool:
    """A line needs pre-authorisation when its kind is listed in the contract or it is above the threshold."""
    if kind and kind in (contract.preauth_kinds or []):
        return True
    threshold = contract.preauth_threshold_cny
    return threshold is not None and amount_cny > threshold
