"""Clinical pathways from the command line: export a hospital's pathways to CSV, or import them from one.

    python -m laihua.manage pathways export --user huangpu-coord [--out pathways.csv]
    python -m laihua.manage pathways import --user huangpu-coord pathways.csv

The user acts as on the page (hospital admin, coordinator or clinician of the hospital to import; its
finance staff may export); every change is audited. An import is all or nothing."""

import sys

from django.core.management.base import BaseCommand, CommandError

from laihua.accounts.models import User
from laihua.errors import DomainError
from laihua.planning import pathways


class Command(BaseCommand):
    help = "Export or import a hospital's clinical pathways as CSV (one row per step)."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["export", "import"])
        parser.add_argument("path", nargs="?", help="the CSV file to import")
        parser.add_argument("--user", required=True, help="username of the hospital staff member acting")
        parser.add_argument("--out", help="write the export to this file (default: standard output)")

    def handle(self, *args, **options):
        user = User.objects.filter(username=options["user"]).select_related("hospital").first()
        if user is None:
            raise CommandError(f"No user {options['user']!r}.")
        try:
            if options["action"] == "export":
                text = pathways.export_csv(user, user.hospital)
                if options["out"]:
                    with open(options["out"], "w", encoding="utf-8", newline="") as out:
                        out.write(text)
                else:
                    sys.stdout.write(text)
                return
            if not options["path"]:
                raise CommandError("Give the CSV file to import.")
            count = pathways.import_csv(user, user.hospital, options["path"])
        except DomainError as exc:
            raise CommandError(str(exc.message)) from None
        self.stdout.write(f"{count} pathway(s) imported.")
