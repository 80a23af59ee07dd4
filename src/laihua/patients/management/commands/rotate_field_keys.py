"""laihua rotate_field_keys: rewrite every encrypted value with the first key of LAIHUA_FIELD_KEYS."""

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from laihua.audit.services import record_event
from laihua.kit.crypto import reencrypt_all


class Command(BaseCommand):
    help = (
        "Re-encrypt every encrypted field (passport numbers) with the newest key, the first in "
        "LAIHUA_FIELD_KEYS. Afterwards the older keys can be removed from the list."
    )

    def handle(self, *args, **options):
        rows = reencrypt_all()
        record_event(None, "kit.field_keys.rotate", None, detail={"rows": rows})
        if options["verbosity"] >= 1:
            self.stdout.write(_("%(rows)d rows re-encrypted with the newest key.") % {"rows": rows})
