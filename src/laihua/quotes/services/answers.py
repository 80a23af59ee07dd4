"""The patient's answer to a sent quote: accept it while it is valid (frozen with the time and the
address), or decline it with a reason, which sends the case back to triage for a revision."""

from django.db import transaction
from django.utils.translation import gettext as _

from laihua.accounts.models import Role
from laihua.accounts.permissions import require_role
from laihua.cases import notices
from laihua.cases.models import Case
from laihua.cases.services import add_event, move
from laihua.cases.states import State
from laihua.errors import InvalidInput, NotFound
from laihua.kit import clock, requestctx
from laihua.quotes.models import Quote, Status
from laihua.quotes.services.access import audit_quote, lock_quote
from laihua.quotes.services.errors import QuoteAlreadyAccepted, QuoteExpired, QuoteNotOpen
from laihua.quotes.services.expiry import expire_quote
from laihua.quotes.services.inputs import MAX_TEXT

MAX_USER_AGENT = 300


def _require_own_open_quote(actor, case: Case, quote: Quote) -> None:
    if case.patient.user_id != actor.pk or quote.status == Status.DRAFT:
        raise NotFound(_("No such quote."))
    if quote.status == Status.ACCEPTED:
        raise QuoteAlreadyAccepted()
    if quote.status == Status.EXPIRED:
        raise QuoteExpired()
    if quote.status != Status.SENT:
        raise QuoteNotOpen()
    if case.state != State.QUOTED:
        raise QuoteNotOpen(_("This case is no longer waiting for an answer to a quote."))


def accept_quote(actor, quote: Quote, *, user_agent: str = "") -> Quote:
    """The case's patient accepts a sent quote while it is valid; it is frozen with the time and address.

    Past its validity the quote is marked expired (and the case with it), and the acceptance is refused."""
    require_role(actor, [Role.PATIENT])
    with transaction.atomic():
        case, quote = lock_quote(quote)
        _require_own_open_quote(actor, case, quote)
        if quote.valid_until < clock.today():
            expire_quote(quote, case)
            expired = True
        else:
            _accept(actor, case, quote, user_agent)
            expired = False
    if expired:
        raise QuoteExpired()
    return quote


def _accept(actor, case: Case, quote: Quote, user_agent: str) -> None:
    quote.status, quote.accepted_at, quote.accepted_by = Status.ACCEPTED, clock.now(), actor
    quote.accepted_ip = requestctx.client_ip.get()
    quote.accepted_user_agent = (user_agent or "")[:MAX_USER_AGENT]
    quote.save()
    case = move(actor, case, State.ACCEPTED, by_system=True)
    detail = {"quote": quote.number, "total_cny": str(quote.total_cny), "ip": quote.accepted_ip or ""}
    add_event(case, actor, "quote_accepted", **detail)
    audit_quote(actor, "quote.accept", quote, **detail, user_agent=quote.accepted_user_agent)
    transaction.on_commit(lambda: notices.notify_staff(case, "quote_accepted", quote=quote))


@transaction.atomic
def decline_quote(actor, quote: Quote, reason: str) -> Quote:
    """The case's patient declines a sent quote, saying why; the case goes back to triage for a revision."""
    require_role(actor, [Role.PATIENT])
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(
            _("Tell the hospital why you decline: it helps them propose something better."), field="reason"
        )
    if len(reason) > MAX_TEXT:
        raise InvalidInput(_("A reason can be at most %(count)d characters.") % {"count": MAX_TEXT}, field="reason")
    case, quote = lock_quote(quote)
    _require_own_open_quote(actor, case, quote)
    quote.status, quote.declined_at, quote.decline_reason = Status.DECLINED, clock.now(), reason
    quote.save()
    case = move(actor, case, State.TRIAGE, by_system=True, note=reason)
    add_event(case, actor, "quote_declined", note=reason, quote=quote.number)
    audit_quote(actor, "quote.decline", quote)
    transaction.on_commit(lambda: notices.notify_staff(case, "quote_declined", quote=quote))
    return quote
