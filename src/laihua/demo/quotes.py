"""A quote for each demo case that has reached triage, quoted or accepted without one (quotes.yaml).

A case in triage gets a draft (the coordinator can finish and send it); a quoted case a sent quote; an
accepted case an accepted quote, as if the patient had accepted it online. Lines are the services the
patient asked about (else the hospital's first published service) plus an interpreter priced by hand.
Every amount comes from the demo catalog and demo rates; nothing here is a real price. Loading again
leaves cases that already have a quote alone, and a case is skipped when no rate or price is known.
"""

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction

from laihua.accounts.models import Role, User
from laihua.cases.models import Case
from laihua.cases.services import add_event
from laihua.cases.states import State
from laihua.catalog.models import CatalogItem
from laihua.catalog.services import with_price_on
from laihua.demo import datafiles
from laihua.errors import DomainError
from laihua.kit import clock
from laihua.quotes import services
from laihua.quotes.models import Quote, QuoteLine, Status
from laihua.quotes.services.lines import set_amounts, snapshot_item
from laihua.rates import services as rates

STATUS_FOR_STATE = {State.TRIAGE: Status.DRAFT, State.QUOTED: Status.SENT, State.ACCEPTED: Status.ACCEPTED}
_DATA = datafiles.read("quotes")
INTERPRETER = _DATA["interpreter"]
DEPOSIT_SHARE = Decimal(_DATA["deposit_share"])


@dataclass
class Summary:
    created: int = 0
    skipped: int = 0


def _author(case: Case) -> User | None:
    if case.coordinator_id:
        return case.coordinator
    return (
        User.objects.filter(role=Role.COORDINATOR, hospital_id=case.hospital_id, is_active=True).order_by("pk").first()
    )


def _items(case: Case, day: datetime.date) -> list[CatalogItem]:
    asked = with_price_on(case.services.filter(active=True, hospital_id=case.hospital_id), day)
    items = list(asked.filter(price_min__isnull=False).order_by("code"))
    if not items:
        offered = with_price_on(CatalogItem.objects.filter(hospital_id=case.hospital_id, active=True), day)
        items = list(offered.filter(price_min__isnull=False).order_by("code")[:1])
    return items


def _add_lines(quote: Quote, items: list[CatalogItem], day: datetime.date) -> None:
    for position, item in enumerate(items, start=1):
        line = QuoteLine(quote=quote, position=position)
        snapshot_item(line, item, day)
        line.quantity, line.unit_price_cny = 1, line.catalog_price_min
        set_amounts(line)
        line.save()
    manual = QuoteLine(
        quote=quote,
        position=len(items) + 1,
        manual=True,
        code=INTERPRETER["code"],
        description=INTERPRETER["description"],
        quantity=INTERPRETER["quantity"],
        unit_price_cny=Decimal(INTERPRETER["unit_price_cny"]),
    )
    set_amounts(manual)
    manual.save()
    quote.total_cny = services.quote_total(quote.lines.values_list("amount_cny", flat=True))
    quote.deposit_cny = services.to_fen(quote.total_cny * DEPOSIT_SHARE)


def quote_case(case: Case, status: str, author: User, day: datetime.date) -> bool:
    """The case's first quote, in this status; False when no price or rate is known."""
    items = _items(case, day)
    if not items:
        return False
    rate = None
    if status != Status.DRAFT:
        try:
            rate = rates.rate_for(case.patient.preferred_currency, day)
        except DomainError:  # an unknown currency or no rate: no quote to show
            return False
    now = clock.now()
    quote = Quote.objects.create(
        case=case,
        revision=1,
        number=f"{case.reference}-Q1",
        status=Status.DRAFT,
        quote_date=day,
        valid_until=day + datetime.timedelta(days=services.DEFAULT_VALIDITY_DAYS),
        currency=case.patient.preferred_currency,
        language=case.language,
        created_by=author,
        exclusions=_DATA["exclusions"],
    )
    _add_lines(quote, items, day)
    if rate is not None:
        quote.rate_cny_per_unit, quote.rate_date, quote.rate_source = rate.cny_per_unit, rate.rate_date, rate.source
        quote.total_converted = services.converted(quote.total_cny, rate)
        quote.deposit_converted = services.converted(quote.deposit_cny, rate)
        quote.sent_at, quote.sent_by = now, author
        add_event(case, author, "quote_sent", quote=quote.number, revision=1, total_cny=str(quote.total_cny))
    if status == Status.ACCEPTED:
        quote.accepted_at, quote.accepted_by = now, case.patient.user
        add_event(case, case.patient.user, "quote_accepted", quote=quote.number, total_cny=str(quote.total_cny))
    quote.status = status
    quote.save()
    return True


@transaction.atomic
def load() -> Summary:
    """Give each demo case in triage, quoted or accepted without a quote its first quote (idempotent)."""
    summary = Summary()
    day = clock.today()
    cases = (
        Case.objects.filter(hospital__is_demo=True, state__in=list(STATUS_FOR_STATE), quotes__isnull=True)
        .select_related("patient", "patient__user", "hospital", "coordinator")
        .order_by("pk")
    )
    for case in cases:
        author = _author(case)
        if author is None or not quote_case(case, STATUS_FOR_STATE[case.state], author, day):
            summary.skipped += 1
            continue
        summary.created += 1
    return summary
