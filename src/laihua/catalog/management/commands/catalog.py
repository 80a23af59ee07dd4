"""Price files on the command line.

laihua catalog import HOSPITAL FILE.csv [--effective-from YYYY-MM-DD]
laihua catalog export HOSPITAL [--format json|csv] [-o FILE]
"""

import datetime
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from laihua.catalog import pricefiles
from laihua.catalog.importer import import_catalog
from laihua.catalog.pricefiles import FileRejected
from laihua.errors import DomainError
from laihua.hospitals.models import Hospital


def _date(value: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise CommandError(_("“%(value)s” is not a date in the form YYYY-MM-DD.") % {"value": value}) from None


class Command(BaseCommand):
    help = "Import a hospital's catalog from a price file (tall CSV), or export its price file (JSON or CSV)."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True, metavar="{import,export}")
        load = actions.add_parser("import", help="Create or update the hospital's catalog from a CSV price file.")
        load.add_argument("hospital", help="The hospital's slug.")
        load.add_argument("file", help="The CSV file, in the layout `catalog export --format csv` writes.")
        load.add_argument(
            "--effective-from",
            help="The date the file's prices start (YYYY-MM-DD); default: the file's date.",
        )
        dump = actions.add_parser("export", help="Write the hospital's price file.")
        dump.add_argument("hospital", help="The hospital's slug.")
        dump.add_argument("--format", choices=("json", "csv"), default="json")
        dump.add_argument("-o", "--output", help="The file to write; default: standard output.")

    def handle(self, *args, action, hospital, **options):
        found = Hospital.objects.select_related("city").filter(slug=hospital).first()
        if found is None:
            raise CommandError(_("No hospital has the slug “%(slug)s”.") % {"slug": hospital})
        if action == "import":
            self.import_file(found, options["file"], options.get("effective_from"))
        else:
            self.export_file(found, options["format"], options.get("output"))

    def import_file(self, hospital: Hospital, path: str, effective_from: str | None):
        start = _date(effective_from) if effective_from else None
        try:
            text = Path(path).read_bytes().decode("utf-8-sig")
        except OSError as exc:
            raise CommandError(_("Cannot read %(path)s: %(reason)s") % {"path": path, "reason": exc.strerror}) from None
        except UnicodeDecodeError:
            raise CommandError(_("%(path)s is not UTF-8 text.") % {"path": path}) from None
        try:
            summary = import_catalog(None, hospital, text, effective_from=start)
        except FileRejected as rejected:
            for error in rejected.errors:
                self.stderr.write(str(error))
            raise CommandError(
                ngettext(
                    "%(count)d problem found: nothing was imported.",
                    "%(count)d problems found: nothing was imported.",
                    len(rejected.errors),
                )
                % {"count": len(rejected.errors)}
            ) from None
        except DomainError as exc:
            raise CommandError(str(exc.message)) from None
        self.stdout.write(
            _(
                "Imported %(rows)d rows into %(hospital)s: %(created)d created, %(updated)d updated, "
                "%(unchanged)d unchanged; %(prices)d prices added from %(date)s."
            )
            % {
                "rows": summary.rows,
                "hospital": hospital.slug,
                "created": summary.created,
                "updated": summary.updated,
                "unchanged": summary.unchanged,
                "prices": summary.prices_added,
                "date": summary.effective_from.isoformat(),
            }
        )
        if summary.packages_changed:
            self.stdout.write(
                ngettext(
                    "The services of %(count)d package were replaced.",
                    "The services of %(count)d packages were replaced.",
                    summary.packages_changed,
                )
                % {"count": summary.packages_changed}
            )

    def export_file(self, hospital: Hospital, file_format: str, output: str | None):
        pricefile = pricefiles.price_file(hospital)
        if file_format == "csv":
            text = pricefiles.csv_text(pricefile)
        else:
            if not pricefile.rows:
                raise CommandError(_("This hospital publishes no prices yet."))
            problems = pricefiles.schema_errors(pricefiles.json_document(pricefile))
            if problems:
                raise CommandError("\n".join([_("The file does not validate against the CMS schema:"), *problems]))
            text = pricefiles.json_text(pricefile)
        if output:
            Path(output).write_text(text, encoding="utf-8", newline="")
            self.stdout.write(_("Wrote %(count)d items to %(path)s.") % {"count": len(pricefile.rows), "path": output})
        else:
            self.stdout.write(text, ending="")
