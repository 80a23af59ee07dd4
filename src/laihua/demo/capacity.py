"""Each demo hospital's scanners, theatres, beds and clinics, and what its services take (capacity.yaml)."""

from django.db import transaction

from laihua.capacity.models import Resource, ServiceUsage
from laihua.catalog.models import CatalogItem
from laihua.demo import datafiles
from laihua.hospitals.models import Hospital

_DATA = datafiles.read("capacity")
RESOURCES = _DATA["resources"]
USAGES = _DATA["usages"]  # service code -> [{resource, units, day_offset, days}], by the end of item codes


@transaction.atomic
def load() -> int:
    """Give every demo hospital its resources (10% international share) and service usages; return how many added."""
    added = 0
    for hospital in Hospital.objects.filter(is_demo=True):
        resources = {}
        for spec in RESOURCES:
            department = spec["department"]
            resources[spec["code"]], created = Resource.objects.get_or_create(
                hospital=hospital,
                code=spec["code"],
                defaults={
                    "kind": spec["kind"],
                    "unit": spec["unit"],
                    "department": hospital.departments.filter(code=department).first() if department else None,
                    "daily_capacity": spec["daily_capacity"],
                    "opening_hours": spec["opening_hours"],
                    "name": spec["name"],
                },
            )
            added += created
        for item in CatalogItem.objects.filter(hospital=hospital):
            for suffix, usages in USAGES.items():
                if not item.code.endswith("-" + suffix):
                    continue
                for usage in usages:
                    _usage, created = ServiceUsage.objects.get_or_create(
                        item=item,
                        resource=resources[usage["resource"]],
                        defaults={key: value for key, value in usage.items() if key != "resource"},
                    )
                    added += created
    return added
