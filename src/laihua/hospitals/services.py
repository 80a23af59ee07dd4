"""Hospitals as the public sees them."""

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from laihua.errors import NotFound
from laihua.hospitals.models import City, Hospital


def public_hospitals(city: str = "") -> QuerySet[Hospital]:
    hospitals = Hospital.objects.select_related("city").prefetch_related("departments").order_by("city__slug", "slug")
    return hospitals.filter(city__slug=city) if city else hospitals


def public_hospital(slug: str) -> Hospital:
    hospital = public_hospitals().filter(slug=slug).first()
    if hospital is None:
        raise NotFound(_("No such hospital."))
    return hospital


def cities() -> QuerySet[City]:
    return City.objects.filter(hospitals__isnull=False).distinct().order_by("slug")
