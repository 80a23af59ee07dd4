"""The patient's stay on the command line.

laihua travel stay-reminders [--days N]   (cron, daily) warn each coordinator once that a patient's
                                          permitted stay in China ends within N days (default 7)
"""

from django.core.management.base import BaseCommand
from django.utils.translation import ngettext

from laihua.travel import services


class Command(BaseCommand):
    help = "The patient's stay: warn coordinators before a permitted stay in China ends."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True, metavar="{stay-reminders}")
        reminders = actions.add_parser(
            "stay-reminders",
            help="Warn the coordinator once for each patient whose permitted stay ends within the days (idempotent).",
        )
        reminders.add_argument(
            "--days", type=int, default=services.WARNING_DAYS, help="Warn this many days ahead (default 7)."
        )

    def handle(self, *args, action, days=services.WARNING_DAYS, **options):
        references = services.stay_reminders(days=max(0, days))
        for reference in references:
            self.stdout.write(reference)
        self.stderr.write(
            ngettext("%(count)d warning sent.", "%(count)d warnings sent.", len(references))
            % {"count": len(references)}
        )
