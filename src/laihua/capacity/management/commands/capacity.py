"""Capacity on the command line.

laihua capacity offer-waitlist   (the periodic job "Offer free places to the waitlist", for sites without beat)
"""

from django.core.management.base import BaseCommand
from django.utils.translation import ngettext

from laihua.capacity.services import offer_waiting_places


class Command(BaseCommand):
    help = "Hand places still free to the waitlist, oldest entry first."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True, metavar="{offer-waitlist}")
        actions.add_parser("offer-waitlist", help="Book places still free for the waiting entries that want them.")

    def handle(self, *args, action, **options):
        given = offer_waiting_places()
        for entry in given:
            self.stdout.write(f"{entry.case.reference}\t{entry.item.code}\t{entry.day.isoformat()}")
        self.stderr.write(
            ngettext("%(count)d waiting entry booked.", "%(count)d waiting entries booked.", len(given))
            % {"count": len(given)}
        )
