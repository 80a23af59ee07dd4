"""Writing and reading the audit trail."""

import re
import time

from django.conf import settings
from django.core.paginator import Page, Paginator
from django.db import DEFAULT_DB_ALIAS, transaction
from django.db.models import QuerySet

from laihua.accounts.models import Role
from laihua.accounts.permissions import require_role
from laihua.audit import chain
from laihua.audit.models import AuditChainHead, AuditEvent
from laihua.errors import NotFound, PermissionDenied
from laihua.kit import requestctx

REFUSED = "access.refused"
_PARAMETER = re.compile(r"^<(?:\w+:)?(\w+)>$")


def _hospital_of(target, actor):
    for candidate in (target, getattr(target, "hospital", None)):
        if candidate is not None and candidate.__class__.__name__ == "Hospital":
            return candidate
    hospital = getattr(target, "hospital", None)
    if hospital is not None:
        return hospital
    return getattr(actor, "hospital", None) if actor is not None else None


def record_event(
    actor, action: str, target=None, *, hospital=None, hospital_id: int | None = None, detail: dict | None = None
) -> AuditEvent:
    """Append one audit event; the client address and channel come from the current request."""
    return _append(**_event_values(actor, action, target, hospital, hospital_id, detail))


def unsaved_event(
    actor, action: str, target=None, *, hospital=None, hospital_id: int | None = None, detail: dict | None = None
) -> AuditEvent:
    """The event `record_event` would append, not saved: for a caller that writes it within a statement of
    its own (the target's `object_id` then set there), then calls `seal_after_commit()`."""
    return AuditEvent(**_values(**_event_values(actor, action, target, hospital, hospital_id, detail)))


def _event_values(actor, action, target, hospital, hospital_id, detail) -> dict:
    actor = actor if actor is not None and getattr(actor, "is_authenticated", False) else None
    where = {"hospital_id": hospital_id} if hospital_id else {"hospital": hospital or _hospital_of(target, actor)}
    record = {"object_type": "", "object_id": "", "object_label": ""}
    if target is not None:
        record = {"object_type": target._meta.label_lower, "object_id": str(target.pk), "object_label": str(target)}
    return {"actor": actor, "action": action, **where, **record, "detail": detail or {}}


def _values(actor, action: str, *, object_label: str = "", **values) -> dict:
    return {
        "actor": actor,
        "actor_label": actor.get_username() if actor else "",
        "actor_role": getattr(actor, "role", "") if actor else "",
        "action": action,
        "object_label": object_label[:200],
        "ip_address": requestctx.client_ip.get(),
        "channel": requestctx.channel.get(),
        **values,
    }


def _append(actor, action: str, **values) -> AuditEvent:
    event = AuditEvent.objects.create(**_values(actor, action, **values))
    _seal_after_commit()  # outside a transaction: now
    return event


def seal_after_commit() -> None:
    """What appending an event arranges: the chain sealed once the current transaction commits (for an
    event written with `unsaved_event`)."""
    _seal_after_commit()


def _asked_for(request) -> tuple[str, str, dict, str]:
    """What the request asked for, as it asked: the kind of record (the address's word before its first
    parameter: "cases", "invoices", "Patient"), that parameter's value, every parameter, and the route's name."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        return "", "", {}, ""
    asked = {name: str(value)[:64] for name, value in match.kwargs.items()}
    kind, ident, previous = "", "", ""
    for segment in str(match.route).split("/"):
        parameter = _PARAMETER.match(segment)
        if parameter:
            kind, ident = previous[:80], asked.get(parameter.group(1), "")
            break
        previous = segment
    return kind, ident, asked, match.view_name or ""


def record_refusal(request, error) -> AuditEvent | None:
    """A signed-in user was refused (PermissionDenied, or NotFound: another hospital's record is "not found"):
    record who asked for what, as asked, and why. Called by the one handler of each kind of response (the JSON
    API, the FHIR endpoint, pages), after the service's transaction has rolled back, so the event stays.
    Errors about a form's field are the input's fault, not a refusal, and are not recorded."""
    if not isinstance(error, PermissionDenied | NotFound) or error.status not in (403, 404) or error.field:
        return None
    actor = getattr(request, "auth", None) or getattr(request, "user", None)
    if actor is None or not getattr(actor, "is_authenticated", False):
        return None
    kind, ident, asked, route = _asked_for(request)
    detail = {
        "reason": error.code,
        "status": error.status,
        "method": request.method,
        "path": request.path[:300],
        "route": route,
        "asked": asked,
    }
    return _append(
        actor, REFUSED, hospital=getattr(actor, "hospital", None), object_type=kind, object_id=ident, detail=detail
    )


def seal(using: str = DEFAULT_DB_ALIAS) -> int:
    """Chain every committed event not yet chained (`audit.chain`), waiting for a seal at work; returns how many."""
    return chain.seal_pending(AuditEvent, AuditChainHead, using)


_last_seal = 0.0  # _now() at this process's last seal after a commit
_now = time.monotonic


def seal_if_due(using: str = DEFAULT_DB_ALIAS) -> int:
    """The seal run after a commit: at most once every AUDIT_SEAL_INTERVAL_MS in this process, and not at all
    while another seal holds the chain's head (that one, or the next, chains the events); returns how many."""
    global _last_seal
    now = _now()
    if now - _last_seal < settings.AUDIT_SEAL_INTERVAL_MS / 1000:
        return 0
    _last_seal = now
    return chain.seal_pending(AuditEvent, AuditChainHead, using, wait=False)


def _seal_after_commit() -> None:
    """Seal once the current transaction commits (at once outside a transaction), once per transaction.

    A failure is logged and leaves the events to the next seal: the work they record is already committed."""
    connection = transaction.get_connection()
    if connection.in_atomic_block and any(entry[1] is seal_if_due for entry in connection.run_on_commit):
        return
    transaction.on_commit(seal_if_due, robust=True)


def verify_chain(using: str = DEFAULT_DB_ALIAS) -> chain.Report:
    """Seal what is pending, then check the whole chain up to its head."""
    seal(using)
    return chain.verify(AuditEvent, AuditChainHead, using)


def visible_to(actor) -> QuerySet[AuditEvent]:
    """Platform admins see every event; hospital admins their hospital's; nobody else any."""
    events = AuditEvent.objects.select_related("actor", "hospital")
    if actor is None or not actor.is_authenticated:
        return events.none()
    if actor.role == Role.PLATFORM_ADMIN:
        return events
    if actor.role == Role.HOSPITAL_ADMIN and actor.hospital_id:
        return events.filter(hospital_id=actor.hospital_id)
    return events.none()


def browse(actor, *, action: str = "", actor_name: str = "", page: int | str = 1, per_page: int = 50) -> Page:
    """One page of the events the actor may see, newest first, optionally filtered; browsing is audited."""
    require_role(actor, (Role.PLATFORM_ADMIN, Role.HOSPITAL_ADMIN))
    action, actor_name = action.strip()[:80], actor_name.strip()[:150]
    events = visible_to(actor)
    if action:
        events = events.filter(action__startswith=action)
    if actor_name:
        events = events.filter(actor_label__icontains=actor_name)
    result = Paginator(events, per_page).get_page(page)
    result.object_list = list(result.object_list)  # the page as it was before this browsing is recorded
    record_event(actor, "audit.browse", None, detail={"action": action, "actor": actor_name, "page": result.number})
    return result
