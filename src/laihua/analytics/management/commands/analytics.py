"""Analytics on the command line.

laihua analytics refresh [--hospital SLUG ...] [--all]
    Rebuild the monthly roll-ups of the hospitals that changed since their last refresh (or of the ones
    named, or of all). Run it every few minutes from cron or a systemd timer (docs/operations.md).
laihua analytics status
    Each hospital's last refresh, and whether it changed since.
"""

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from laihua.analytics.models import RefreshState
from laihua.analytics.services import refresh_all, stale_hospitals
from laihua.hospitals.models import Hospital


class Command(BaseCommand):
    help = "Rebuild the analytics roll-ups (refresh) or show when each hospital's were built (status)."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True, metavar="{refresh,status}")
        refresh = actions.add_parser("refresh", help="Rebuild the roll-ups of the hospitals that changed.")
        refresh.add_argument("--hospital", action="append", default=[], help="Only this hospital (slug; repeatable).")
        refresh.add_argument("--all", action="store_true", help="Every hospital, changed or not.")
        actions.add_parser("status", help="Each hospital's last refresh and whether it changed since.")

    def handle(self, *args, action, **options):
        if action == "status":
            stale = {hospital.pk for hospital in stale_hospitals()}
            states = {state.hospital_id: state for state in RefreshState.objects.all()}
            for hospital in Hospital.objects.order_by("slug"):
                state = states.get(hospital.pk)
                when = f"{state.refreshed_at:%Y-%m-%d %H:%M:%S}" if state else _("never")
                flag = _("changed since") if hospital.pk in stale else ""
                self.stdout.write("\t".join([hospital.slug, when, flag]).rstrip())
            return
        slugs = options["hospital"]
        hospitals = None
        if slugs:
            hospitals = list(Hospital.objects.filter(slug__in=slugs).order_by("slug"))
            missing = sorted(set(slugs) - {hospital.slug for hospital in hospitals})
            if missing:
                raise CommandError(_("No hospital has the slug “%(slug)s”.") % {"slug": missing[0]})
        states = refresh_all(only_changed=not options["all"], hospitals=hospitals)
        for state in states:
            self.stdout.write(
                _("%(hospital)s: %(cases)s cases, built at %(when)s")
                % {
                    "hospital": state.hospital.slug,
                    "cases": state.cases,
                    "when": f"{state.refreshed_at:%Y-%m-%d %H:%M:%S}",
                }
            )
        self.stderr.write(_("%(count)s hospitals refreshed.") % {"count": len(states)})
