"""Exchange rates on the command line.

laihua rates import FILE.csv     load rates (currency,date,cny_per_unit,source); a bad row rejects the file
laihua rates show CURRENCY [--date YYYY-MM-DD]     the rate a price shown on that day is converted with
"""

import datetime
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from laihua.errors import DomainError
from laihua.kit import clock
from laihua.rates import services


def _date(value: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise CommandError(_("“%(value)s” is not a date in the form YYYY-MM-DD.") % {"value": value}) from None


class Command(BaseCommand):
    help = "Import exchange rates into the platform rate table, or show the rate used for a currency on a day."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True, metavar="{import,show}")
        load = actions.add_parser(
            "import", help="Load rates from a CSV file with the columns currency,date,cny_per_unit,source."
        )
        load.add_argument("file", help="The CSV file (UTF-8).")
        show = actions.add_parser("show", help="Show the rate a price is converted with, its date and source.")
        show.add_argument("currency", help="An ISO 4217 code, e.g. USD.")
        show.add_argument("--date", help="The day the rate is used for (YYYY-MM-DD); default: today.")

    def handle(self, *args, action, **options):
        if action == "import":
            self.import_file(options["file"])
        else:
            self.show(options["currency"], options.get("date"))

    def import_file(self, path: str):
        try:
            text = Path(path).read_bytes().decode("utf-8-sig")
        except OSError as exc:
            raise CommandError(_("Cannot read %(path)s: %(reason)s") % {"path": path, "reason": exc.strerror}) from None
        except UnicodeDecodeError:
            raise CommandError(_("%(path)s is not UTF-8 text.") % {"path": path}) from None
        try:
            count = services.import_rates(None, text)
        except DomainError as exc:
            raise CommandError(_("%(reason)s Nothing was imported.") % {"reason": exc.message}) from None
        self.stdout.write(_("Imported %(count)d rates from %(path)s.") % {"count": count, "path": path})

    def show(self, currency: str, day: str | None):
        on = _date(day) if day else clock.today()
        try:
            rate = services.rate_for(currency, on)
        except DomainError as exc:
            raise CommandError(str(exc.message)) from None
        self.stdout.write(
            _("1 %(currency)s = %(rate)s CNY, rate of %(date)s (%(source)s), used for %(day)s.")
            % {
                "currency": rate.currency,
                "rate": rate.cny_per_unit.normalize(),
                "date": rate.rate_date.isoformat(),
                "source": rate.source,
                "day": on.isoformat(),
            }
        )
