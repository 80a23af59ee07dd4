"""Real prices: what patients actually paid for each catalog service and package, from the statements of
closed cases, stored in catalog.PaidPriceSummary for the public pages and the price files.

- A case counts for an item when the case is closed and its statement (the one in force) is settled
  (`balanced`; a case cannot close with a draft or a balance) and has at least one line of the item. Each
  case counts once per item.
- What the case paid for the item: the amounts of the item's lines (after discounts), less the item's
  share of any approved write-off (the statement's collected total over its charged total), to the fen.
  Insurer and patient payments alike: the price is what was paid, not by whom.
- With at least 10 cases (catalog.models.PAID_PRICE_MIN_CASES), the number of cases, the median and the
  10th and 90th percentiles are stored; with fewer, nothing is, and nothing is shown.
- Percentiles by nearest rank: the p-th percentile of n amounts in ascending order is the amount at rank
  ceil(p/100 x n) (1-based); the median is the 50th percentile, so for an even n it is the lower middle
  amount. Every figure is an amount some case actually paid."""

import math
from collections import defaultdict
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum

from laihua.billing.arithmetic import ZERO, to_fen
from laihua.billing.models import Invoice, InvoiceLine, InvoiceStatus, WriteOff, WriteOffStatus
from laihua.cases.states import State
from laihua.catalog.models import PAID_PRICE_MIN_CASES, PaidPriceSummary
from laihua.fairness.models import Refresh, RefreshKind
from laihua.kit import clock


def nearest_rank(sorted_amounts: list[Decimal], p: int) -> Decimal:
    """The p-th percentile (0 < p <= 100) of amounts in ascending order, by nearest rank."""
    if not sorted_amounts:
        raise ValueError("no amounts")
    rank = max(1, math.ceil(Decimal(p) * len(sorted_amounts) / 100))
    return sorted_amounts[rank - 1]


def _settled_invoices(item_ids=None):
    invoices = Invoice.objects.filter(status=InvoiceStatus.BALANCED, case__state=State.CLOSED)
    if item_ids is not None:
        invoices = invoices.filter(lines__item_id__in=item_ids)
    return invoices.order_by().distinct()


def paid_amounts(item_ids=None) -> dict[int, list[Decimal]]:
    """{item id: what each closed, invoiced case paid for it}, for the given items (or all)."""
    invoices = dict(_settled_invoices(item_ids).values_list("pk", "total_cny"))
    if not invoices:
        return {}
    written_off = dict(
        WriteOff.objects.filter(invoice_id__in=invoices, status=WriteOffStatus.APPROVED)
        .values("invoice_id")
        .annotate(total=Sum("amount_cny"))
        .values_list("invoice_id", "total")
    )
    lines = InvoiceLine.objects.filter(invoice_id__in=invoices, item__isnull=False)
    if item_ids is not None:
        lines = lines.filter(item_id__in=item_ids)
    charged: dict[tuple[int, int], Decimal] = defaultdict(lambda: ZERO)
    for invoice_id, item_id, amount in lines.values_list("invoice_id", "item_id", "amount_cny").iterator():
        charged[(invoice_id, item_id)] += amount
    result: dict[int, list[Decimal]] = defaultdict(list)
    for (invoice_id, item_id), amount in charged.items():
        total = invoices[invoice_id]
        if total > 0:
            collected = total - (written_off.get(invoice_id) or ZERO)
            amount = to_fen(amount * collected / total)
        result[item_id].append(max(amount, ZERO))
    return dict(result)


def summarise(amounts: list[Decimal]) -> dict | None:
    """cases, median, p10, p90 of the amounts; None below the threshold of cases."""
    if len(amounts) < PAID_PRICE_MIN_CASES:
        return None
    ordered = sorted(amounts)
    return {
        "cases": len(ordered),
        "median": nearest_rank(ordered, 50),
        "p10": nearest_rank(ordered, 10),
        "p90": nearest_rank(ordered, 90),
    }


@transaction.atomic
def refresh_real_prices(item_ids=None) -> int:
    """Recompute the stored real prices of these items (or of every item: the job), removing those that
    fall below the threshold. Returns the number of items with a real price written."""
    started = clock.now()
    amounts = paid_amounts(item_ids)
    scope = PaidPriceSummary.objects.all()
    if item_ids is not None:
        scope = scope.filter(item_id__in=item_ids)
    written = 0
    keep = []
    for item_id, values in amounts.items():
        summary = summarise(values)
        if summary is None:
            continue
        PaidPriceSummary.objects.update_or_create(item_id=item_id, defaults={**summary, "updated_at": started})
        keep.append(item_id)
        written += 1
    scope.exclude(item_id__in=keep).delete()
    if item_ids is None:
        Refresh.objects.create(kind=RefreshKind.REAL_PRICES, started_at=started, finished_at=clock.now(), rows=written)
    return written


def items_of_case(case) -> list[int]:
    """The catalog items on the case's statements (those a closing may change the real price of)."""
    return sorted(
        set(
            InvoiceLine.objects.filter(invoice__case=case, item__isnull=False)
            .values_list("item_id", flat=True)
            .distinct()
        )
    )


def published_real_prices(hospital_slug: str = ""):
    """The stored real prices of the active items (of one hospital, by slug), by hospital and code."""
    rows = PaidPriceSummary.objects.filter(item__active=True).select_related("item__hospital")
    if hospital_slug:
        rows = rows.filter(item__hospital__slug=hospital_slug)
    return rows.order_by("item__hospital__slug", "item__code")
