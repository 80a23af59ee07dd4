"""Each demo hospital's interpreter pool (interpreters.yaml), the first one linked to the hospital's demo
interpreter account. Loaded before the planned trips, so that their visits get interpreters.

Loading twice is harmless: each interpreter is brought back to the data (days away are set again)."""

import datetime

from django.db import transaction

from laihua.accounts.models import User
from laihua.demo import datafiles
from laihua.demo.hospitals import HOSPITALS
from laihua.hospitals.models import Hospital
from laihua.interpreters.models import Absence, Interpreter
from laihua.kit import clock

POOLS = datafiles.read("interpreters")["pools"]


@transaction.atomic
def load() -> int:
    """The pools of the demo hospitals present; returns how many interpreters."""
    count = 0
    today = clock.today()
    for spec in HOSPITALS:
        hospital = Hospital.objects.filter(slug=spec.slug, is_demo=True).first()
        if hospital is None or spec.code not in POOLS:
            continue
        account = User.objects.filter(username=f"{spec.code}-interp").first()
        for entry in POOLS[spec.code]:
            person, _created = Interpreter.objects.update_or_create(
                hospital=hospital,
                name=entry["name"],
                defaults={
                    "employment": entry["employment"],
                    "agency": entry.get("agency", ""),
                    "languages": entry["languages"],
                    "level": entry["level"],
                    "works_from": entry["works_from"],
                    "works_until": entry["works_until"],
                    "weekdays": entry["weekdays"],
                    "phone": entry.get("phone", ""),
                    "active": True,
                    "user": account if entry.get("account") else None,
                },
            )
            person.absences.all().delete()
            Absence.objects.bulk_create(
                Absence(
                    interpreter=person,
                    starts_on=today + datetime.timedelta(days=away["from"]),
                    ends_on=today + datetime.timedelta(days=away["until"]),
                    note=away.get("note", ""),
                )
                for away in entry.get("days_away", [])
            )
            count += 1
    return count
