"""The hospital's partner accommodations: hotels and serviced apartments near it, with the price a night, the
distance and the address in English and Chinese. Its desk (coordinators, hospital admins) keeps the list;
its staff read it; a patient sees the ones offered on their case's page."""

from django.db import transaction
from django.utils.translation import gettext as _

from laihua.accounts.permissions import STAFF_ROLES, require_role
from laihua.audit.services import record_event
from laihua.cases.states import DESK
from laihua.errors import FormInvalid, NotFound
from laihua.travel.models import Accommodation
from laihua.travel.stayforms import AccommodationForm


def hospital_accommodations(actor):
    """The actor's hospital's accommodations, nearest first (the desk sees those no longer offered too)."""
    require_role(actor, STAFF_ROLES)
    rows = Accommodation.objects.filter(hospital_id=actor.hospital_id)
    if actor.role not in DESK:
        rows = rows.filter(active=True)
    return rows.order_by("-active", "distance_m", "pk")


def get_accommodation(actor, pk: int) -> Accommodation:
    """One of the actor's hospital's accommodations (NotFound for another hospital's)."""
    found = hospital_accommodations(actor).filter(pk=pk).first()
    if found is None:
        raise NotFound(_("No such accommodation."))
    return found


def accommodation_form(actor, data=None, instance=None) -> AccommodationForm:
    return AccommodationForm(data, instance=instance)


@transaction.atomic
def save_accommodation(actor, data, pk: int | None = None) -> Accommodation:
    """Add a partner accommodation to the actor's hospital, or change one (the hospital's desk)."""
    require_role(actor, DESK)
    instance = get_accommodation(actor, pk) if pk is not None else None
    form = AccommodationForm(data, instance=instance)
    if not form.is_valid():
        raise FormInvalid(form)
    place = form.save(commit=False)
    place.hospital_id = actor.hospital_id
    place.save()
    record_event(
        actor,
        "travel.accommodation.create" if instance is None else "travel.accommodation.update",
        place,
        hospital=actor.hospital,
        detail={"changed": list(form.changed_data)},
    )
    return place


def accommodation_json(place: Accommodation) -> dict:
    return {
        "id": place.pk,
        "kind": place.kind,
        "name": place.name,
        "address": place.address,
        "distance_m": place.distance_m,
        "nightly_price_cny": str(place.nightly_price_cny),
        "phone": place.phone,
        "note": place.note,
        "active": place.active,
    }
