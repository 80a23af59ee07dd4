"""The price in force today, copied onto each catalog item so that search can filter and sort on it.

Price rows are the record; these columns are derived from them here and nowhere else (CatalogItem.save()
leaves them alone). A signal refreshes an item whenever one of its prices is saved or deleted, and
search first refreshes the items whose copy no longer holds on the day (the next price has started, or
the clock is before the copied price's start), so no scheduler is needed.
"""

import datetime

from django.core.cache import cache
from django.db import transaction
from django.db.models import DateField, F, OuterRef, Q, Subquery
from django.db.models.functions import Cast

from laihua.catalog.models import CatalogItem, Price
from laihua.kit import clock

BATCH = 2000


def copied_price(day: datetime.date) -> dict[str, Subquery]:
    """The item's price in force on the day and the last day before its next known price: one
    subquery per column, computed by the database in the UPDATE itself."""
    in_force = Price.objects.filter(item=OuterRef("pk"), effective_from__lte=day).order_by("-effective_from")
    following = Price.objects.filter(item=OuterRef("pk"), effective_from__gt=day).order_by("effective_from")
    eve = Cast(F("effective_from") - datetime.timedelta(days=1), DateField())
    return {
        "current_price_min": Subquery(in_force.values("amount_min")[:1]),
        "current_price_max": Subquery(in_force.values("amount_max")[:1]),
        "current_price_from": Subquery(in_force.values("effective_from")[:1]),
        "current_price_until": Subquery(following.annotate(eve=eve).values("eve")[:1]),
    }


def refresh_current_prices(item_ids, day: datetime.date | None = None) -> int:
    """Copy each item's price in force on the day (today by default) onto the item; return how many.

    The items are locked (in id order) before their prices are read, so that two refreshes of one item,
    say a new price's and a search's, run one after the other and the second sees the first's price.
    """
    day = day or clock.today()
    if cache.get(DUE_CHECKED) not in (None, day):
        cache.delete(DUE_CHECKED)
    ids = sorted(set(item_ids))
    done = 0
    for start in range(0, len(ids), BATCH):
        with transaction.atomic():
            locked = CatalogItem.objects.select_for_update().filter(pk__in=ids[start : start + BATCH])
            chunk = list(locked.order_by("pk").values_list("pk", flat=True))
            done += CatalogItem.objects.filter(pk__in=chunk).update(**copied_price(day))
    return done


def due(day: datetime.date) -> Q:
    """Items whose copy does not hold on the day: the next price has started, or the copied one has not."""
    return Q(current_price_until__lt=day) | Q(current_price_from__gt=day)


# A copy falls due only when the day changes (a saved price refreshes its item at once), so a process
# that has refreshed for a day skips the look while it stays that day, for this many seconds at most:
# every search would ask. Copies written for another day (a clock set back) make it look again.
DUE_CHECKED = "catalog:prices-due-checked"
DUE_CHECK_SECONDS = 60


def refresh_due_prices(day: datetime.date | None = None) -> int:
    """Refresh the items whose copy of the price does not hold today; return how many."""
    day = day or clock.today()
    if cache.get(DUE_CHECKED) == day:
        return 0
    stale = list(CatalogItem.objects.filter(due(day)).order_by("pk").values_list("pk", flat=True))
    done = refresh_current_prices(stale, day) if stale else 0
    cache.set(DUE_CHECKED, day, DUE_CHECK_SECONDS)
    return done
