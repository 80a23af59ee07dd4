"""The entry rules shipped with Laihua on the command line.

laihua entry_rules load [FILE] [--schemes FILE] [--extensions FILE] [--overwrite]
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from laihua.errors import DomainError
from laihua.travel import rules


class Command(BaseCommand):
    help = (
        "Load the entry schemes and the countries on them (with dates and sources). Rows the tables lack are "
        "added; rows the platform admin has edited are kept and listed, unless --overwrite. Every row is "
        "checked first: one bad row and nothing is loaded."
    )

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True, metavar="{load}")
        load = actions.add_parser("load", help="Add the rows of the files that the tables lack.")
        load.add_argument(
            "file",
            nargs="?",
            default=str(rules.COUNTRIES_FILE),
            help="The countries CSV (scheme, country, valid_from, valid_until, source_title, source_url, "
            "note_en, note_zh-hans); default: the shipped file.",
        )
        load.add_argument(
            "--schemes",
            default=None,
            help="The schemes CSV; default: the shipped file when FILE is the shipped one, else none "
            "(the countries then refer to schemes already in the tables or in this file).",
        )
        load.add_argument(
            "--extensions",
            default=None,
            help="The ways to extend a stay (stay_extensions.csv); default: the shipped file when FILE is the "
            "shipped one, else none.",
        )
        load.add_argument(
            "--overwrite",
            action="store_true",
            help="Replace rows that differ from the files (an admin's edits are lost).",
        )

    def handle(self, *args, action, file, schemes, extensions, overwrite, **options):
        countries_file = Path(file)
        shipped = countries_file.resolve() == rules.COUNTRIES_FILE.resolve()
        if schemes is None and shipped:
            schemes = str(rules.SCHEMES_FILE)
        if extensions is None and shipped:
            extensions = str(rules.EXTENSIONS_FILE)
        try:
            summary = rules.load_entry_rules(
                None,
                overwrite=overwrite,
                schemes_file=Path(schemes) if schemes else None,
                countries_file=countries_file,
                extensions_file=Path(extensions) if extensions else None,
            )
        except DomainError as exc:
            raise CommandError(_("Nothing was loaded. %(reason)s") % {"reason": exc.message}) from None
        self.stdout.write(
            _(
                "Entry schemes: %(s_created)d added, %(s_updated)d replaced, %(s_unchanged)d kept. "
                "Countries: %(c_created)d added, %(c_updated)d replaced, %(c_unchanged)d kept. "
                "Extensions of stay: %(e_created)d added, %(e_updated)d replaced, %(e_unchanged)d kept."
            )
            % {
                "s_created": summary.schemes_created,
                "s_updated": summary.schemes_updated,
                "s_unchanged": summary.schemes_unchanged,
                "c_created": summary.countries_created,
                "c_updated": summary.countries_updated,
                "c_unchanged": summary.countries_unchanged,
                "e_created": summary.extensions_created,
                "e_updated": summary.extensions_updated,
                "e_unchanged": summary.extensions_unchanged,
            }
        )
        for line in summary.kept:
            self.stderr.write(line)
        if summary.kept:
            self.stderr.write(_("Run with --overwrite to replace these with the data of the files."))
