"""The shipped comparable services and reference prices abroad on the command line.

laihua catalog_reference load [--overwrite] [--services FILE] [--prices FILE]
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from laihua.catalog import reference_data
from laihua.errors import DomainError


class Command(BaseCommand):
    help = (
        "Load the comparable services and reference prices abroad shipped with Laihua. Rows missing from "
        "the tables are added; rows the platform admin has edited are kept and listed, unless --overwrite."
    )

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True, metavar="{load}")
        load = actions.add_parser("load", help="Add the shipped rows that the tables lack.")
        load.add_argument(
            "--overwrite",
            action="store_true",
            help="Replace rows that differ from the shipped data (an admin's edits are lost).",
        )
        load.add_argument(
            "--services",
            default=str(reference_data.SERVICES_FILE),
            help="The comparable services CSV (default: the shipped file).",
        )
        load.add_argument(
            "--prices",
            default=str(reference_data.REFERENCES_FILE),
            help="The reference prices CSV (default: the shipped file).",
        )

    def handle(self, *args, action, overwrite, services, prices, **options):
        try:
            summary = reference_data.load_reference_data(
                None, overwrite=overwrite, services_file=Path(services), references_file=Path(prices)
            )
        except DomainError as exc:
            raise CommandError(str(exc.message)) from None
        self.stdout.write(
            _(
                "Comparable services: %(s_created)d added, %(s_updated)d replaced, %(s_unchanged)d kept. "
                "Reference prices: %(r_created)d added, %(r_updated)d replaced, %(r_unchanged)d kept."
            )
            % {
                "s_created": summary.services_created,
                "s_updated": summary.services_updated,
                "s_unchanged": summary.services_unchanged,
                "r_created": summary.references_created,
                "r_updated": summary.references_updated,
                "r_unchanged": summary.references_unchanged,
            }
        )
        for line in summary.kept:
            self.stderr.write(line)
        if summary.kept:
            self.stderr.write(_("Run with --overwrite to replace these with the shipped data."))
