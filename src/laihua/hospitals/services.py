"""Hospitals as the public sees them."""

from django.core.cache import cache
from django.db import transaction
from django.db.models import QuerySet
from django.db.models.signals import post_delete, post_save
from django.utils.translation import gettext as _

from laihua.errors import NotFound
from laihua.hospitals.models import City, Department, Hospital


def public_hospitals(city: str = "") -> QuerySet[Hospital]:
    hospitals = Hospital.objects.select_related("city").prefetch_related("departments").order_by("city__slug", "slug")
    return hospitals.filter(city__slug=city) if city else hospitals


def public_hospital(slug: str) -> Hospital:
    hospital = public_hospitals().filter(slug=slug).first()
    if hospital is None:
        raise NotFound(_("No such hospital."))
    return hospital


# The search form's city and department lists are read on every search page but change only when a
# hospital, city or department is added or renamed: the cache keeps them for a minute. A change clears
# them at once, and again when its transaction commits (a server may have read the old lists in between):
# every server shows it at once when the cache is shared (LAIHUA_CACHE_URL), else within
# REFERENCE_LISTS_SECONDS in the other processes.
REFERENCE_LISTS_SECONDS = 60
_CITIES_KEY, _DEPARTMENTS_KEY = "hospitals:cities", "hospitals:department-choices"


def _kept(key: str, read):
    found = cache.get(key)
    if found is None:
        found = read()
        cache.set(key, found, REFERENCE_LISTS_SECONDS)
    return found


def cities() -> list[City]:
    """The cities that have hospitals, by slug."""
    return _kept(_CITIES_KEY, lambda: list(City.objects.filter(hospitals__isnull=False).distinct().order_by("slug")))


def _read_department_choices() -> list[tuple[str, dict]]:
    choices: dict[str, dict] = {}
    for code, name in Department.objects.order_by("code", "hospital__slug").values_list("code", "name"):
        choices.setdefault(code, name)
    return list(choices.items())


def department_choices() -> list[tuple[str, dict]]:
    """Department codes used across hospitals, each with one hospital's bilingual name, for search filters."""
    return _kept(_DEPARTMENTS_KEY, _read_department_choices)


def _clear_reference_lists() -> None:
    cache.delete_many([_CITIES_KEY, _DEPARTMENTS_KEY])


def forget_reference_lists(**kwargs) -> None:
    _clear_reference_lists()
    transaction.on_commit(_clear_reference_lists)


for _model in (City, Hospital, Department):
    post_save.connect(forget_reference_lists, sender=_model, dispatch_uid=f"forget-lists-{_model.__name__}-save")
    post_delete.connect(forget_reference_lists, sender=_model, dispatch_uid=f"forget-lists-{_model.__name__}-delete")
