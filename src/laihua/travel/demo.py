"""Demo letter settings: a fictional signatory for every demo hospital, labelled as demo.

Loading twice is harmless: each hospital's settings are brought back to this description.
"""

from django.db import transaction

from laihua.hospitals.demo import HOSPITALS, T
from laihua.hospitals.models import Hospital
from laihua.travel.models import LetterSettings

SIGNATORY_NAME = T("Demo Signatory (fictional)", "示范签字人（虚构）")
SIGNATORY_TITLE = T(
    "Director, International Medical Department (demo)",
    "国际医疗部主任（示范）",
)


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
                "signatory_name": SIGNATORY_NAME,
                "signatory_title": SIGNATORY_TITLE,
                "reference_prefix": f"DEMO-{spec.prefix}",
            },
        )
        count += 1
    return count
