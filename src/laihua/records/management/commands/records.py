"""Records on the command line.

laihua records import PATH... --case REFERENCE [--user USERNAME]

Imports International Patient Summaries (FHIR JSON or XML files, or folders of them) onto a case,
with a progress bar, and ends with a summary of the accepted and the rejected files with their
reasons. Exits with status 1 when any file was rejected.
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from tqdm import tqdm

from laihua.accounts.models import User
from laihua.cases.models import Case
from laihua.errors import DomainError
from laihua.records import ips, services

SUFFIXES = {".json", ".xml"}
REASONS_SHOWN = 5


def files_of(paths: list[str]) -> tuple[list[Path], list[str]]:
    """The files named and the .json/.xml files inside the folders named; and the paths that do not exist."""
    found, missing = [], []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)
        elif path.is_file():
            found.append(path)
        else:
            missing.append(name)
    return found, missing


class Command(BaseCommand):
    help = "Import International Patient Summaries (FHIR JSON or XML files or folders) onto a case."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True, metavar="{import}")
        importing = actions.add_parser("import", help="Import IPS files or folders onto a case.")
        importing.add_argument("paths", nargs="+", metavar="PATH", help="Files or folders (.json, .xml).")
        importing.add_argument("--case", required=True, help="The case's reference, e.g. LH-2026-000123.")
        importing.add_argument("--user", help="Import as this user (their access is checked); default: the operator.")
        importing.add_argument("--no-progress", action="store_true", help="No progress bar.")

    def handle(self, *args, action, paths, case, user=None, no_progress=False, **options):
        found = Case.objects.select_related("patient", "hospital").filter(reference=case).first()
        if found is None:
            raise CommandError(_("No case has the reference “%(reference)s”.") % {"reference": case})
        actor = None
        if user:
            actor = User.objects.filter(username=user).first()
            if actor is None:
                raise CommandError(_("No user is called “%(name)s”.") % {"name": user})
        files, missing = files_of(paths)
        accepted, already, rejected = [], [], [(name, [_("No such file or folder.")]) for name in missing]
        for path in tqdm(files, desc=_("Importing"), unit=_("file"), disable=no_progress, file=self.stderr._out):
            try:
                document, created = services.import_document(
                    actor, found, path.read_bytes(), source="command", by_system=actor is None
                )
            except ips.IpsInvalid as exc:
                rejected.append((str(path), [f"{i['expression']}: {i['diagnostics']}" for i in exc.issues]))
            except (DomainError, OSError) as exc:
                rejected.append((str(path), [str(getattr(exc, "message", exc))]))
            else:
                (accepted if created else already).append((str(path), document.item_count))
        for name, count in accepted:
            self.stdout.write(_("accepted  %(file)s (%(count)d items)") % {"file": name, "count": count})
        for name, _count in already:
            self.stdout.write(_("already   %(file)s (stored before; nothing added)") % {"file": name})
        for name, reasons in rejected:
            self.stdout.write(_("rejected  %(file)s") % {"file": name})
            for reason in reasons[:REASONS_SHOWN]:
                self.stdout.write(f"          - {reason}")
            if len(reasons) > REASONS_SHOWN:
                self.stdout.write("          - " + _("and %(count)d more") % {"count": len(reasons) - REASONS_SHOWN})
        summary = _("%(accepted)d accepted, %(already)d already stored, %(rejected)d rejected.") % {
            "accepted": len(accepted),
            "already": len(already),
            "rejected": len(rejected),
        }
        if rejected:
            raise CommandError(summary, returncode=1)
        self.stdout.write(summary)
