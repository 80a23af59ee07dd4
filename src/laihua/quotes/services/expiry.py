"""Expiry: a sent quote past its validity date expires (and the case waiting on it), and a cancelled or
declined case leaves no quote open."""

import datetime

from django.db import transaction

from laihua.cases import notices
from laihua.cases.models import Case
from laihua.cases.services import add_event, move
from laihua.cases.states import State
from laihua.kit import clock
from laihua.quotes.models import Quote, Status
from laihua.quotes.services.access import audit_quote, lock_quote


def expire_quote(quote: Quote, case: Case) -> None:
    """Mark a sent quote expired (by the system); the case waiting on it expires too."""
    quote.status, quote.expired_at = Status.EXPIRED, clock.now()
    quote.save(update_fields=["status", "expired_at", "updated_at"])
    if case.state == State.QUOTED:
        case = move(None, case, State.EXPIRED, by_system=True)
    add_event(case, None, "quote_expired", quote=quote.number, valid_until=quote.valid_until.isoformat())
    audit_quote(None, "quote.expire", quote, valid_until=quote.valid_until.isoformat())
    transaction.on_commit(lambda: notices.notify_patient(case, "quote_expired", quote=quote))


def withdraw_open_quotes(sender, *, case: Case, to: str, actor=None, **kwargs) -> None:
    """A cancelled or declined case leaves no quote open: a sent quote expires and a draft is discarded."""
    if to not in (State.CANCELLED, State.DECLINED):
        return
    now = clock.now()
    for quote in Quote.objects.select_for_update().filter(case=case, status__in=[Status.SENT, Status.DRAFT]):
        if quote.status == Status.DRAFT:
            audit_quote(actor, "quote.discard", quote, reason=to)
            quote.delete()
            continue
        quote.status, quote.expired_at = Status.EXPIRED, now
        quote.save(update_fields=["status", "expired_at", "updated_at"])
        add_event(case, None, "quote_withdrawn", quote=quote.number, reason=to)
        audit_quote(actor, "quote.withdraw", quote, reason=to)


def expire_quotes(today: datetime.date | None = None) -> list[str]:
    """Expire every sent quote whose validity has passed (run daily: `laihua quotes expire`)."""
    today = today or clock.today()
    expired = []
    for quote in Quote.objects.filter(status=Status.SENT, valid_until__lt=today).order_by("pk"):
        with transaction.atomic():
            case, quote = lock_quote(quote)
            if quote.status == Status.SENT and quote.valid_until < today:
                expire_quote(quote, case)
                expired.append(quote.number)
    return expired
