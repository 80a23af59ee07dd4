"""laihua load_demo: the fictional demo hospitals, their catalogs, users and cases (safe to run again)."""

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from laihua.errors import DomainError


class Command(BaseCommand):
    help = (
        "Load the demo data: three fictional hospitals in Shanghai and Beijing with their catalogs, one user "
        "per role, demo exchange rates and the shipped reference prices abroad. Running it again is harmless."
    )

    def handle(self, *args, **options):
        try:
            # Imported here: importing the loaders reads and checks every data file, so a bad file is
            # refused like any other error, before anything is written.
            from laihua.demo import hospitals, loader

            summary = loader.load_demo()
        except DomainError as exc:
            raise CommandError(str(exc.message)) from None
        if options["verbosity"] < 1:
            return
        self.stdout.write(
            _(
                "Demo data: %(hospitals)d hospitals with %(items)d catalog items (%(prices)d prices "
                "added), %(users)d users added, %(rates)d exchange rates added, %(references)d reference "
                "prices added."
            )
            % {
                "hospitals": summary.hospitals,
                "items": summary.items,
                "prices": summary.prices_created,
                "users": summary.users_created,
                "rates": summary.rates_created,
                "references": summary.reference.references_created,
            }
        )
        for line in summary.reference.kept:
            self.stdout.write(line)
        self.stdout.write(
            _("Sign in as huangpu-coord, platform-admin, demo-patient, … with the password %(password)s")
            % {"password": hospitals.DEMO_PASSWORD}
        )
