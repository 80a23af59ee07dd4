"""Demo capacity: each demo hospital's scanners, theatres, beds and clinics, and what its services take."""

from django.db import transaction

from laihua.capacity.models import Resource, ServiceUsage
from laihua.catalog.models import CatalogItem
from laihua.hospitals.models import Hospital

# code, kind, unit, department, capacity per day, opening hours, English name, Chinese name
RESOURCES = [
    ("mri", "mri", "slot", "radiology", 40, "08:00-20:00", "MRI scanners", "磁共振扫描仪"),
    ("ct", "ct", "slot", "radiology", 60, "00:00-24:00", "CT scanners", "CT扫描仪"),
    ("pet", "pet", "slot", "nuclear-medicine", 12, "08:00-17:00", "PET-CT scanner", "PET-CT扫描仪"),
    ("theatre", "theatre", "theatre_hour", "orthopaedics", 30, "08:00-18:00", "Operating theatres", "手术室"),
    ("beds", "bed", "bed_day", "international-ward", 120, "", "Inpatient beds", "住院床位"),
    ("clinics", "clinic_session", "visit", None, 300, "08:00-17:00", "Outpatient clinics", "门诊"),
]
# item code suffix -> [(resource code, units per day, from day, number of days)]
USAGES = {
    "RAD-MRI-1": [("mri", 1, 0, 1)],
    "RAD-MRI-C": [("mri", 1, 0, 1)],
    "RAD-CT-ABD": [("ct", 1, 0, 1)],
    "RAD-CT-LD": [("ct", 1, 0, 1)],
    "NM-PETCT": [("pet", 1, 0, 1)],
    "CON-GP": [("clinics", 1, 0, 1)],
    "CON-ORTH": [("clinics", 1, 0, 1)],
    "ORTH-THR": [("theatre", 3, 0, 1), ("beds", 1, 0, 7)],
    "ORTH-TKR": [("theatre", 3, 0, 1), ("beds", 1, 0, 7)],
    "PKG-THR": [("theatre", 3, 0, 1), ("beds", 1, 0, 7)],
    "WARD-DAY": [("beds", 1, 0, 1)],
}


@transaction.atomic
def load() -> int:
    """Give every demo hospital its resources (10% international share) and service usages; return how many added."""
    added = 0
    for hospital in Hospital.objects.filter(is_demo=True):
        resources = {}
        for code, kind, unit, department, capacity, hours, en, zh in RESOURCES:
            resources[code], created = Resource.objects.get_or_create(
                hospital=hospital,
                code=code,
                defaults={
                    "kind": kind,
                    "unit": unit,
                    "department": hospital.departments.filter(code=department).first() if department else None,
                    "daily_capacity": capacity,
                    "opening_hours": hours,
                    "name": {"en": en, "zh-hans": zh},
                },
            )
            added += created
        for item in CatalogItem.objects.filter(hospital=hospital):
            for suffix, usages in USAGES.items():
                if not item.code.endswith("-" + suffix):
                    continue
                for resource, units, offset, days in usages:
                    _usage, created = ServiceUsage.objects.get_or_create(
                        item=item,
                        resource=resources[resource],
                        defaults={"units": units, "day_offset": offset, "days": days},
                    )
                    added += created
    return added
