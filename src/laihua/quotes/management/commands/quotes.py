"""Quotes on the command line.

laihua quotes expire [--date YYYY-MM-DD]     expire every sent quote whose validity has passed (run daily)
"""

import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from laihua.quotes import services


class Command(BaseCommand):
    help = "Expire the sent quotes whose validity date has passed (and the cases waiting on them)."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True, metavar="{expire}")
        expire = actions.add_parser(
            "expire", help="Mark expired every sent quote valid until a day before today (or --date)."
        )
        expire.add_argument("--date", help="Expire as if today were this day (YYYY-MM-DD).")

    def handle(self, *args, action, **options):
        today = None
        if options.get("date"):
            try:
                today = datetime.date.fromisoformat(options["date"])
            except ValueError:
                raise CommandError(
                    _("“%(value)s” is not a date in the form YYYY-MM-DD.") % {"value": options["date"]}
                ) from None
        expired = services.expire_quotes(today)
        if options["verbosity"] >= 1:
            count = len(expired)
            self.stdout.write(
                ngettext("%(count)d quote expired.", "%(count)d quotes expired.", count) % {"count": count}
            )
            for number in expired:
                self.stdout.write(f"  {number}")
