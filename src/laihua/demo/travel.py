"""Letter settings for every demo hospital: a fictional signatory and a DEMO reference prefix (travel.yaml).

Loading twice is harmless: each hospital's settings are brought back to the data.
"""

from django.db import transaction

from laihua.demo import datafiles
from laihua.demo.hospitals import HOSPITALS
from laihua.hospitals.models import Hospital
from laihua.travel.models import LetterSettings

LETTERS = datafiles.read("travel")


@transaction.atomic
def load() -> int:
    """Give every demo hospital present a fictional signatory and a DEMO letter prefix; returns how many."""
    count = 0
    for spec in HOSPITALS:
        hospital = Hospital.objects.filter(slug=spec.slug, is_demo=True).first()
        if hospital is None:
            continue
        LetterSettings.objects.update_or_create(
            hospital=hospital,
            defaults={
                "signatory_name": LETTERS["signatory_name"],
                "signatory_title": LETTERS["signatory_title"],
                "reference_prefix": LETTERS["reference_prefix"].format(prefix=spec.prefix),
            },
        )
        count += 1
    return count
