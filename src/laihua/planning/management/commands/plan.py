"""A case's trip on the command line.

laihua plan CASE-REF            print the current itinerary day by day
laihua plan CASE-REF --replan   plan again (as the case's coordinator, or --as USERNAME) and print it
"""

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from laihua.accounts.models import User
from laihua.audit.services import record_event
from laihua.cases.models import Case
from laihua.errors import DomainError
from laihua.kit.i18n import pick
from laihua.planning import services
from laihua.planning.models import ItemKind, Itinerary, ItineraryStatus


class Command(BaseCommand):
    help = "Print a case's trip itinerary, or plan it again with --replan."

    def add_arguments(self, parser):
        parser.add_argument("reference", help="The case reference, e.g. LH-2026-000042.")
        parser.add_argument("--replan", action="store_true", help="Plan the trip again from the last inputs.")
        parser.add_argument("--as", dest="username", help="The coordinator who plans (default: the case's).")

    def handle(self, *args, reference, replan=False, username=None, **options):
        case = Case.objects.select_related("hospital", "coordinator").filter(reference=reference).first()
        if case is None:
            raise CommandError(_("No case has the reference “%(reference)s”.") % {"reference": reference})
        if replan:
            actor = User.objects.filter(username=username).first() if username else case.coordinator
            if actor is None:
                raise CommandError(_("Say who plans with --as USERNAME (the case has no coordinator)."))
            try:
                itinerary = services.plan_case(actor, case)
            except DomainError as exc:
                raise CommandError(str(exc.message)) from None
        else:
            itinerary = Itinerary.objects.filter(case=case).exclude(status=ItineraryStatus.REVOKED).first()
            record_event(None, "planning.itinerary.view", case, hospital=case.hospital, detail={"channel": "cli"})
        if itinerary is None:
            self.stdout.write(_("No itinerary yet."))
            return
        self.print(itinerary)

    def print(self, itinerary: Itinerary) -> None:
        out = self.stdout.write
        if not itinerary.feasible:
            out(_("No trip fits:"))
            for reason in itinerary.reasons:
                out(f"  - {services.reason_text(reason)}")
            if itinerary.nearest:
                out(
                    _("Nearest plan: arrive %(arrival)s, leave %(departure)s (%(days)s days).")
                    % {
                        "arrival": itinerary.nearest["arrival"],
                        "departure": itinerary.nearest["departure"],
                        "days": itinerary.nearest["stay_days"],
                    }
                )
            return
        out(
            _(
                "%(reference)s: %(arrival)s to %(departure)s, %(days)s days "
                "(%(status)s; earliest-slot plan %(greedy)s, bound %(bound)s)"
            )
            % {
                "reference": itinerary.case.reference,
                "arrival": itinerary.arrival,
                "departure": itinerary.departure,
                "days": itinerary.stay_days,
                "status": itinerary.get_status_display(),
                "greedy": itinerary.greedy_stay_days if itinerary.greedy_stay_days is not None else "-",
                "bound": itinerary.bound_days,
            }
        )
        for day in services.days_of(itinerary):
            if not day["entries"]:
                out(f"{day['day']:%Y-%m-%d %a}  -")
            for entry in day["entries"]:
                when = f"{entry.starts_at:%H:%M}-{entry.ends_at:%H:%M}" if entry.starts_at else "           "
                what = {
                    ItemKind.ARRIVAL: _("Arrival in China"),
                    ItemKind.DEPARTURE: _("Departure"),
                }.get(entry.kind) or (pick(entry.item.name) if entry.item else "")
                if entry.kind == ItemKind.STAY:
                    what = _("In hospital: %(service)s") % {"service": what}
                out(f"{day['day']:%Y-%m-%d %a}  {when}  {what}")
