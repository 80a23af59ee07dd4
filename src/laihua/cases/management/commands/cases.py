"""Cases on the command line.

laihua cases list --hospital SLUG [--state STATE] [--overdue]
laihua cases remind   (the periodic job "Remind coordinators of unanswered inquiries", for sites without beat)
"""

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from laihua.audit.services import record_event
from laihua.cases.models import Case
from laihua.cases.services import remind_first_response, with_overdue
from laihua.cases.states import State
from laihua.hospitals.models import Hospital


class Command(BaseCommand):
    help = "List a hospital's cases; remind coordinators of inquiries waiting for their first answer."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True, metavar="{list,remind}")
        listing = actions.add_parser("list", help="List a hospital's cases, overdue first, then newest.")
        listing.add_argument("--hospital", required=True, help="The hospital's slug.")
        listing.add_argument("--state", choices=State.values, help="Only cases in this state.")
        listing.add_argument("--overdue", action="store_true", help="Only cases past the first-response deadline.")
        actions.add_parser(
            "remind", help="Tell coordinators, once per case, of first answers due soon and overdue (run it often)."
        )

    def handle(self, *args, action, hospital=None, state=None, overdue=False, **options):
        if action == "remind":
            sent = remind_first_response()
            for reference, kind in sent:
                self.stdout.write(f"{reference}\t{kind}")
            self.stderr.write(
                ngettext("%(count)d reminder sent.", "%(count)d reminders sent.", len(sent)) % {"count": len(sent)}
            )
            return
        found = Hospital.objects.filter(slug=hospital).first()
        if found is None:
            raise CommandError(_("No hospital has the slug “%(slug)s”.") % {"slug": hospital})
        cases = with_overdue(Case.objects.filter(hospital=found).select_related("coordinator"))
        if state:
            cases = cases.filter(state=state)
        if overdue:
            cases = cases.filter(overdue=True)
        cases = list(cases.order_by("-overdue", "-created_at", "-pk"))
        record_event(None, "case.list", None, hospital=found, detail={"state": state or "", "count": len(cases)})
        for case in cases:
            flag = _("OVERDUE") if case.overdue else ""
            coordinator = case.coordinator.username if case.coordinator else "-"
            self.stdout.write(
                "\t".join([case.reference, case.state, f"{case.created_at:%Y-%m-%d %H:%M}", coordinator, flag]).rstrip()
            )
        self.stderr.write(ngettext("%(count)d case.", "%(count)d cases.", len(cases)) % {"count": len(cases)})
