"""Records on the command line.

laihua records import PATH... --case REFERENCE [--user USERNAME] [--match-reason TEXT]
laihua records mismatches [--case REFERENCE]
laihua records refresh-items [--case REFERENCE]

`import` imports International Patient Summaries (FHIR JSON or XML files, or folders of them) onto a
case, with a progress bar, and ends with a summary of the accepted and the rejected files with their
reasons (and the warnings of the accepted ones). A file that cannot be imported, whatever the reason,
is reported and the next one imported. Exits with status 1 when any file was rejected.

`mismatches` lists the stored documents whose Patient does not match their case's patient, with each
field that differs (and who matched a document by hand, and why). Exits with status 1 when any
document that was not matched by hand is listed.

`refresh-items` derives the items of stored documents again from their content with today's rules
(contained medications resolved, dosages, dates and sources kept).
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from tqdm import tqdm

from laihua.accounts.models import User
from laihua.cases.models import Case
from laihua.errors import DomainError
from laihua.records import identity, ips, services
from laihua.records.models import IpsDocument
from laihua.records.services import PatientMismatch

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
        actions = parser.add_subparsers(dest="action", required=True, metavar="{import,mismatches,refresh-items}")
        importing = actions.add_parser("import", help="Import IPS files or folders onto a case.")
        importing.add_argument("paths", nargs="+", metavar="PATH", help="Files or folders (.json, .xml).")
        importing.add_argument("--case", required=True, help="The case's reference, e.g. LH-2026-000123.")
        importing.add_argument("--user", help="Import as this user (their access is checked); default: the operator.")
        importing.add_argument(
            "--match-reason",
            default="",
            help="Why documents whose patient does not match the case's are the patient's (a clinician's --user only).",
        )
        importing.add_argument("--no-progress", action="store_true", help="No progress bar.")
        checking = actions.add_parser("mismatches", help="List stored documents whose patient does not match the case.")
        checking.add_argument("--case", help="Only this case.")
        refreshing = actions.add_parser("refresh-items", help="Derive stored documents' items again.")
        refreshing.add_argument("--case", help="Only this case.")

    def handle(self, *args, action, **options):
        if action == "mismatches":
            return self.mismatches(options.get("case"))
        if action == "refresh-items":
            return self.refresh_items(options.get("case"))
        return self.import_files(**options)

    def _case(self, reference: str | None):
        if not reference:
            return None
        found = Case.objects.select_related("patient", "hospital").filter(reference=reference).first()
        if found is None:
            raise CommandError(_("No case has the reference “%(reference)s”.") % {"reference": reference})
        return found

    def import_files(self, *, paths, case, user=None, match_reason="", no_progress=False, **options):
        found = self._case(case)
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
                    actor,
                    found,
                    path.read_bytes(),
                    source="command",
                    by_system=actor is None,
                    match_reason=match_reason,
                )
            except ips.IpsInvalid as exc:
                reasons = [f"{i['expression']}: {i['diagnostics']}" for i in exc.issues]
                rejected.append(
                    (str(path), [str(exc.message), *reasons] if isinstance(exc, PatientMismatch) else reasons)
                )
            except (DomainError, OSError) as exc:
                rejected.append((str(path), [str(getattr(exc, "message", exc))]))
            except Exception as exc:  # noqa: BLE001 - one file's failure must not stop the others
                rejected.append(
                    (str(path), [_("could not be imported: %(why)s") % {"why": f"{type(exc).__name__}: {exc}"}])
                )
            else:
                (accepted if created else already).append((str(path), document))
        for name, document in accepted:
            self.stdout.write(_("accepted  %(file)s (%(count)d items)") % {"file": name, "count": document.item_count})
            if document.matched_by_hand:
                self.stdout.write("          ! " + _("matched to the patient by hand"))
            for warning in document.warnings[:REASONS_SHOWN]:
                self.stdout.write(f"          ! {warning['expression']}: {warning['diagnostics']}")
            if len(document.warnings) > REASONS_SHOWN:
                more = len(document.warnings) - REASONS_SHOWN
                self.stdout.write("          ! " + _("and %(count)d more") % {"count": more})
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

    def mismatches(self, reference: str | None):
        listed, by_hand = 0, 0
        for document, differences in services.mismatched_documents(self._case(reference)):
            listed += 1
            self.stdout.write(
                _("document %(id)d  case %(case)s  %(title)s")
                % {
                    "id": document.pk,
                    "case": document.case.reference,
                    "title": document.title or document.identifier_value,
                }
            )
            for difference in differences:
                if difference["field"] not in identity.FIELDS:  # the document itself cannot be read
                    self.stdout.write(f"          - {difference['expression']}: {difference['document']}")
                    continue
                self.stdout.write(f"          - {difference['expression']}: {identity.describe(difference)}")
            if document.matched_by_hand:
                by_hand += 1
                by = document.matched_by_hand_by
                self.stdout.write(
                    "          ! "
                    + _("matched by hand by %(who)s on %(date)s: %(reason)s")
                    % {
                        "who": (by.get_full_name() or by.get_username()) if by else "—",
                        "date": f"{document.matched_by_hand_at:%Y-%m-%d}",
                        "reason": document.matched_by_hand_reason,
                    }
                )
        summary = _("%(count)d documents do not match their case's patient (%(by_hand)d of them matched by hand).") % {
            "count": listed,
            "by_hand": by_hand,
        }
        if listed > by_hand:
            raise CommandError(summary, returncode=1)
        self.stdout.write(summary)

    def refresh_items(self, reference: str | None):
        documents = IpsDocument.objects.select_related("case").order_by("pk")
        found = self._case(reference)
        if found is not None:
            documents = documents.filter(case=found)
        done, failed = 0, 0
        for document in documents.iterator(chunk_size=100):
            try:
                count = services.refresh_items(document)
            except ips.IpsInvalid as exc:
                failed += 1
                self.stdout.write(_("kept      document %(id)d: %(why)s") % {"id": document.pk, "why": exc.message})
            else:
                done += 1
                self.stdout.write(
                    _("refreshed document %(id)d (%(count)d items)") % {"id": document.pk, "count": count}
                )
        self.stdout.write(
            _("%(done)d documents refreshed, %(failed)d kept as they were.") % {"done": done, "failed": failed}
        )
