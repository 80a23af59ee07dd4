"""The fairness report's job on the command line.

laihua fairness refresh [--month YYYY-MM ...]   recount the monthly roll-up and the real prices
"""

import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from laihua.fairness.services import real_prices, rollup


def _month(value: str) -> datetime.date:
    try:
        return datetime.datetime.strptime(value, "%Y-%m").date()
    except ValueError:
        raise CommandError(_("“%(value)s” is not a month in the form YYYY-MM.") % {"value": value}) from None


class Command(BaseCommand):
    help = "Recount the fairness report's monthly roll-up and the real prices (run it nightly)."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True, metavar="{refresh}")
        refresh = actions.add_parser("refresh", help="Recount the roll-up and the real prices.")
        refresh.add_argument(
            "--month",
            action="append",
            default=[],
            help="Recount only this month (YYYY-MM; repeat for several). Default: every month of the report.",
        )
        refresh.add_argument("--skip-prices", action="store_true", help="Leave the real prices as they are.")

    def handle(self, *args, action, month, skip_prices, **options):
        months = [_month(value) for value in month]
        rows = rollup.refresh_all(months or None)
        self.stdout.write(_("Roll-up: %(rows)s rows recounted.") % {"rows": rows})
        if not skip_prices:
            items = real_prices.refresh_real_prices()
            self.stdout.write(_("Real prices: %(items)s items with 10 or more cases.") % {"items": items})
