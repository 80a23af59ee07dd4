"""Insurance on the command line.

laihua insurance remind            (cron, e.g. every 15 minutes) remind coordinators, once, of GOP
                                   requests past their answer deadline
laihua insurance list [--status S] [--insurer CODE]   GOP requests with their deadlines
"""

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from laihua.insurance import services
from laihua.insurance.models import Guarantee, GuaranteeStatus, Insurer


class Command(BaseCommand):
    help = "Guarantee of payment requests: remind coordinators of overdue ones, or list them."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True, metavar="{remind,list}")
        actions.add_parser("remind", help="Remind the coordinator once of each request past its deadline.")
        listing = actions.add_parser("list", help="List GOP requests, the oldest deadline first.")
        listing.add_argument("--status", choices=GuaranteeStatus.values, help="Only requests with this status.")
        listing.add_argument("--insurer", help="Only this insurer's (code).")

    def handle(self, *args, action, status=None, insurer=None, **options):
        if action == "remind":
            numbers = services.remind_overdue()
            for number in numbers:
                self.stdout.write(number)
            self.stderr.write(
                ngettext("%(count)d reminder sent.", "%(count)d reminders sent.", len(numbers))
                % {"count": len(numbers)}
            )
            return
        gops = Guarantee.objects.select_related("case", "insurer").order_by("deadline_at", "pk")
        if status:
            gops = gops.filter(status=status)
        if insurer:
            found = Insurer.objects.filter(code=insurer).first()
            if found is None:
                raise CommandError(_("No insurer has the code “%(code)s”.") % {"code": insurer})
            gops = gops.filter(insurer=found)
        for gop in gops:
            deadline = f"{gop.deadline_at:%Y-%m-%d %H:%M}" if gop.deadline_at else "-"
            flag = _("OVERDUE") if services.is_overdue(gop) else ""
            self.stdout.write(
                "\t".join([gop.number, gop.case.reference, gop.insurer.code, gop.status, deadline, flag]).rstrip()
            )
