"""Keep each item's copy of today's price (catalog.pricing) in step with its price history."""

from django.db.models import Model
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from laihua.catalog.models import Price
from laihua.catalog.pricing import refresh_current_prices


@receiver(post_save, sender=Price)
def on_price_saved(sender, instance: Price, **kwargs):
    refresh_current_prices([instance.item_id])


@receiver(post_delete, sender=Price)
def on_price_deleted(sender, instance: Price, origin=None, **kwargs):
    # A price deleted along with its item (the item's or its hospital's deletion) leaves nothing to refresh.
    model = origin._meta.model if isinstance(origin, Model) else getattr(origin, "model", None)
    if origin is None or model is Price:
        refresh_current_prices([instance.item_id])
