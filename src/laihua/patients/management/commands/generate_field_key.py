"""laihua generate_field_key: print a new key for LAIHUA_FIELD_KEYS (see docs/operations.md)."""

from django.core.management.base import BaseCommand

from laihua.kit.crypto import new_key


class Command(BaseCommand):
    help = "Print a new Fernet key for LAIHUA_FIELD_KEYS. Put it first in the list to rotate keys."

    def handle(self, *args, **options):
        self.stdout.write(new_key())
