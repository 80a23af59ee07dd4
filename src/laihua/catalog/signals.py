"""Keep each item's copy of today's price (catalog.pricing) in step with its price history, and its copy of
its hospital's city in step with the hospital."""

from django.db.models import Model
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from laihua.catalog.models import CatalogItem, Price
from laihua.catalog.pricing import refresh_current_prices
from laihua.hospitals.models import Hospital


@receiver(post_save, sender=Hospital)
def on_hospital_saved(sender, instance: Hospital, **kwargs):
    CatalogItem.objects.filter(hospital=instance).exclude(city_id=instance.city_id).update(city_id=instance.city_id)


@receiver(post_save, sender=Price)
def on_price_saved(sender, instance: Price, **kwargs):
    refresh_current_prices([instance.item_id])


@receiver(post_delete, sender=Price)
def on_price_deleted(sender, instance: Price, origin=None, **kwargs):
    # A price deleted along with its item (the item's or its hospital's deletion) leaves nothing to refresh.
    model = origin._meta.model if isinstance(origin, Model) else getattr(origin, "model", None)
    if origin is None or model is Price:
        refresh_current_prices([instance.item_id])
