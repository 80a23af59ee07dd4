"""Hospitals as the public sees them."""

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from laihua.errors import NotFound
from laihua.hospitals.models import City, Department, Hospital


def public_hospitals(city: str = "") -> QuerySet[Hospital]:
    hospitals = (
        Hospital.objects.select_related("city").prefetch_related("departments").order_by("city__slug", "slug")
    )
    return hospitals.filter(city__slug=city) if city else hospitals


def public_hospital(slug: str) -> Hospital:
    hospital = public_hospitals().filter(slug=slug).first()
    if hospital is None:
        raise NotFound(_("No such hospital."))
    return hospital


def cities() -> QuerySet[City]:
    return City.objects.filter(hospitals__isnull=False).distinct().order_by("slug")


def department_choices() -> list[tuple[str, dict]]:
    """Department codes used across hospitals, each with one hospital's bilingual name, for search filters."""
    choices: dict[str, dict] = {}
    for code, name in Department.objects.order_by("code", "hospital__slug").values_list("code", "name"):
        choices.setdefault(code, name)
    return list(choices.items())
