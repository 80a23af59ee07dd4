"""The waitlist: cases waiting for a place on a full day, and the places freed later handed to them.

A cancellation or a higher capacity or share (by hand, over the API or by CSV) first locks, with its
own counters and in the same global order, the counters of the waiting entries its freed places could
serve (_lock_with_waitlist), then hands them the places (offer_freed_places): never a lock out of
order, so never a deadlock with a booking."""

import datetime
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from laihua.accounts.permissions import require_hospital_staff, require_role
from laihua.audit.services import record_event
from laihua.capacity.models import BookingRequest, Resource, WaitlistEntry, WaitlistStatus
from laihua.capacity.services.quota import (
    BOOKABLE_STATES,
    BOOKERS,
    READERS,
    _audit_listing,
    _check_start_day,
    _counter_keys,
    _Full,
    _lock_counters,
    _take,
    plan_for,
)
from laihua.cases.models import Case
from laihua.cases.services import add_event, require_case_staff, timeline_note
from laihua.errors import Conflict, InvalidInput, NotFound
from laihua.kit import clock


def join_waitlist(actor, case: Case, item, day: datetime.date) -> WaitlistEntry:
    """Put the case on the waitlist for the service from `day`: it is given the first place that frees."""
    require_case_staff(actor, case, BOOKERS)
    if item.hospital_id != case.hospital_id:
        raise InvalidInput(_("This service is not offered by the case's hospital."), field="item")
    if case.state not in BOOKABLE_STATES:
        raise Conflict(_("Only an accepted or scheduled case can be booked."), field="case")
    _check_start_day(day)
    plan_for(item, day)
    with transaction.atomic():
        entry = WaitlistEntry.objects.filter(
            case=case, item=item, day=day, status=WaitlistStatus.WAITING
        ).first() or WaitlistEntry.objects.create(
            hospital_id=case.hospital_id, case=case, item=item, day=day, created_by=actor
        )
        record_event(
            actor, "capacity.waitlist", case, hospital=case.hospital, detail={"item": item.code, "day": day.isoformat()}
        )
        add_event(
            case,
            actor,
            "waitlisted",
            staff_only=True,
            note=timeline_note(
                gettext_noop("On the waitlist for %(service)s from %(day)s."), service=item.code, day=day.isoformat()
            ),
        )
    return entry


@transaction.atomic
def leave_waitlist(actor, entry: WaitlistEntry) -> WaitlistEntry:
    require_case_staff(actor, entry.case, BOOKERS)
    if entry.status == WaitlistStatus.WAITING:
        entry.status = WaitlistStatus.WITHDRAWN
        entry.save(update_fields=["status"])
        record_event(actor, "capacity.waitlist_leave", entry.case, hospital=entry.case.hospital)
    return entry


def waitlist_of(actor, hospital) -> list[WaitlistEntry]:
    """The hospital's waiting entries from today, oldest first (the read of their cases is audited)."""
    require_hospital_staff(actor, hospital, READERS)
    entries = list(
        WaitlistEntry.objects.select_related("case", "item")
        .filter(hospital=hospital, status=WaitlistStatus.WAITING, day__gte=clock.today())
        .order_by("created_at", "pk")
    )
    _audit_listing(actor, hospital, "capacity.waitlist_list", [entry.case for entry in entries])
    return entries


def get_waitlist_entry(actor, entry_id: int) -> WaitlistEntry:
    """A waitlist entry of the actor's hospital, whatever its status (NotFound for anyone else)."""
    require_role(actor, BOOKERS)
    entry = (
        WaitlistEntry.objects.select_related("case", "case__hospital", "item")
        .filter(pk=entry_id, hospital_id=actor.hospital_id)
        .first()
    )
    if entry is None:
        raise NotFound(_("No such waitlist entry."))
    return entry


def case_waitlist(actor, case: Case) -> list[WaitlistEntry]:
    """Every waitlist entry of the case (waiting, booked from the waitlist, withdrawn); the read is audited."""
    require_case_staff(actor, case, READERS)
    entries = list(WaitlistEntry.objects.select_related("item").filter(case=case).order_by("created_at", "pk"))
    record_event(actor, "capacity.case_waitlist", case, hospital_id=case.hospital_id, detail={"entries": len(entries)})
    for entry in entries:
        entry.case = case
    return entries


def _withdraw_waiting(actor, case: Case, item, day: datetime.date) -> None:
    """The case's waiting entries for this service are withdrawn once it is booked (on any day), so
    that a place freed later is not booked for it a second time; the timeline says so."""
    withdrawn = WaitlistEntry.objects.filter(case=case, item=item, status=WaitlistStatus.WAITING).update(
        status=WaitlistStatus.WITHDRAWN
    )
    if withdrawn:
        add_event(
            case,
            actor,
            "waitlist_left",
            staff_only=True,
            note=timeline_note(
                gettext_noop("Left the waitlist for %(service)s: booked from %(day)s."),
                service=item.code,
                day=day.isoformat(),
            ),
        )


def _waiting_days(
    resource: Resource, day: datetime.date | None = None, *, activating: int | None = None
) -> set[tuple[int, datetime.date]]:
    """The (resource, day)s of this resource that waiting entries want (only `day`, if given;
    `activating`: the resource is being reactivated)."""
    wanted = set()
    entries = (
        WaitlistEntry.objects.filter(
            hospital_id=resource.hospital_id, status=WaitlistStatus.WAITING, item__usages__resource=resource
        )
        .select_related("item")
        .distinct()
    )
    for entry in entries:
        try:
            plan = plan_for(entry.item, entry.day, activating=activating)
        except InvalidInput:
            continue
        wanted |= {(r, d) for r, d in plan if r == resource.pk and (day is None or d == day)}
    return wanted


@dataclass
class _Candidate:
    """A waiting entry that freed places could serve, with what its service takes."""

    entry: WaitlistEntry
    usages: list
    plan: dict


@dataclass
class _Locked:
    """The counter rows a transaction holds: these keys, and every counter of these resources."""

    rows: dict
    keys: set
    resources: set

    def covers(self, keys) -> bool:
        return all(key in self.keys or key[0] in self.resources for key in keys)


def _waitlist_candidates(
    hospital_id: int, freed: set[tuple[int, datetime.date]], activating: int | None = None
) -> list[_Candidate]:
    """The waiting entries whose service takes a place on one of these (resource id, day)s, oldest first."""
    if not freed:
        return []
    days = [day for _r, day in freed]
    entries = (
        WaitlistEntry.objects.select_related("case", "case__hospital", "item", "created_by")
        .filter(
            hospital_id=hospital_id,
            status=WaitlistStatus.WAITING,
            day__gte=clock.today(),
            day__lte=max(days),
            case__state__in=BOOKABLE_STATES,
            item__usages__resource_id__in={r for r, _d in freed},
        )
        .distinct()
        .order_by("created_at", "pk")
    )
    candidates = []
    for entry in entries:
        usages = list(entry.item.usages.select_related("resource"))
        try:
            plan = plan_for(entry.item, entry.day, usages, activating=activating)
        except InvalidInput:
            continue
        if set(plan) & freed:
            candidates.append(_Candidate(entry, usages, plan))
    return candidates


def _lock_with_waitlist(
    hospital_id: int, freed: set[tuple[int, datetime.date]], keys=(), resources=(), activating: int | None = None
) -> tuple[list[_Candidate], _Locked]:
    """Lock the counters a change touches together with those that the waitlist entries its freed
    places could serve would take, in one global order and before anything changes: handing a place
    to the waitlist afterwards then waits for no lock out of that order, which could deadlock with a
    booking that locked in order (an entry's service may take resources the change does not touch)."""
    candidates = _waitlist_candidates(hospital_id, freed, activating)
    wanted = set(keys)
    for candidate in candidates:
        wanted |= _counter_keys(candidate.plan)
    rows = _lock_counters(wanted, resources)
    return candidates, _Locked(rows, wanted, set(resources))


def offer_freed_places(actor, hospital_id: int, candidates: list[_Candidate], locked: _Locked) -> list[WaitlistEntry]:
    """Give places just freed to the waitlist entries found before the counters were locked, first come
    first served, in the caller's transaction (it holds the counters): nobody else can take them in
    between. An entry that joined after the lock waits for the next freed place."""
    still_waiting = set(
        WaitlistEntry.objects.filter(
            pk__in=[c.entry.pk for c in candidates], status=WaitlistStatus.WAITING
        ).values_list("pk", flat=True)
    )
    given = []
    for candidate in candidates:
        entry, usages, plan = candidate.entry, candidate.usages, candidate.plan
        if entry.pk not in still_waiting or not locked.covers(_counter_keys(plan)):
            continue
        try:
            with transaction.atomic():
                request = BookingRequest.objects.create(
                    hospital_id=hospital_id,
                    idempotency_key=f"waitlist-{entry.pk}",
                    case=entry.case,
                    item=entry.item,
                    start_day=entry.day,
                    created_by=entry.created_by,
                )
                _take(entry.created_by, request, plan, {u.resource_id: u.resource for u in usages})
        except (_Full, IntegrityError):  # IntegrityError: the entry's key is taken; the next entry may fit
            continue
        entry.status, entry.request = WaitlistStatus.BOOKED, request
        entry.save(update_fields=["status", "request"])
        record_event(
            actor,
            "capacity.waitlist_book",
            entry.case,
            hospital=entry.case.hospital,
            detail={"item": entry.item.code, "day": entry.day.isoformat()},
        )
        add_event(
            entry.case,
            actor,
            "booked",
            staff_only=True,
            note=timeline_note(
                gettext_noop("%(service)s booked from %(day)s from the waitlist."),
                service=entry.item.code,
                day=entry.day.isoformat(),
            ),
        )
        given.append(entry)
    return given


def offer_places(actor, hospital_id: int, freed: set[tuple[int, datetime.date]]) -> list[WaitlistEntry]:
    """Offer what is still free of these (resource id, day)s, freed earlier in the caller's transaction, to
    the waitlist: the waiting entries' counters are locked in the global order first."""
    candidates, locked = _lock_with_waitlist(hospital_id, freed)
    return offer_freed_places(actor, hospital_id, candidates, locked)


def offer_waiting_places() -> list[WaitlistEntry]:
    """The periodic job "Offer free places to the waitlist" (`laihua capacity offer-waitlist`): a place is
    handed to the waitlist in the transaction that frees it, but an entry that joined while a place was still
    free (or in the moment between a place being freed and its counters being locked) would wait for the next
    one. This sweep offers, hospital by hospital in one transaction each, whatever is free on the days the
    waiting entries want, oldest entry first, exactly as a freed place is offered. Running it twice books
    nothing twice: an entry is booked once (its status, and its booking's idempotency key)."""
    today = clock.today()
    waiting = WaitlistEntry.objects.filter(status=WaitlistStatus.WAITING, day__gte=today)
    given = []
    for hospital_id in sorted(set(waiting.values_list("hospital_id", flat=True))):
        wanted: set[tuple[int, datetime.date]] = set()
        for entry in waiting.filter(hospital_id=hospital_id).select_related("item"):
            try:
                wanted |= set(plan_for(entry.item, entry.day))
            except InvalidInput:  # its service takes no active resource any more: it waits
                continue
        if wanted:
            with transaction.atomic():
                given += offer_places(None, hospital_id, wanted)
    return given
