"""A hospital's interpreter pool on the command line, as its admin or a coordinator.

laihua interpreters export --as USERNAME            print the pool as CSV
laihua interpreters import FILE.csv --as USERNAME   add or change interpreters from CSV (all or nothing)
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from laihua.accounts.models import User
from laihua.errors import DomainError
from laihua.interpreters import services


class Command(BaseCommand):
    help = "Export or import a hospital's interpreter pool as CSV."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["export", "import"])
        parser.add_argument("path", nargs="?", help="The CSV file to import.")
        parser.add_argument("--as", dest="username", required=True, help="A hospital admin or coordinator.")

    def handle(self, *args, action, path=None, username, **options):
        actor = User.objects.filter(username=username, is_active=True).first()
        if actor is None:
            raise CommandError(_("No active user “%(name)s”.") % {"name": username})
        try:
            if action == "export":
                self.stdout.write(services.export_csv(actor), ending="")
                return
            if not path:
                raise CommandError(_("Give the CSV file to import."))
            try:
                text = Path(path).read_bytes().decode("utf-8-sig")
            except OSError as exc:
                raise CommandError(str(exc)) from None
            except UnicodeDecodeError:
                raise CommandError(_("The file is not UTF-8 text.")) from None
            result = services.import_csv(actor, text)
        except DomainError as exc:
            raise CommandError(str(exc.message)) from None
        self.stdout.write(
            _("Imported: %(added)s added, %(changed)s changed.")
            % {"added": result["added"], "changed": result["changed"]}
        )
