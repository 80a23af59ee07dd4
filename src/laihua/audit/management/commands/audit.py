"""The audit trail on the command line.

laihua audit verify [--expect SEQ:HASH]     check the hash chain; exit status 1 at the first break
laihua audit seal                           chain the events recorded since the last seal (schedule every minute)
"""

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.translation import gettext as _

from laihua.audit.models import AuditEvent
from laihua.audit.services import record_event, seal, verify_chain


def describe(broken) -> str:
    """The first break of the chain in words: which event, when, what, and what is wrong."""
    where = {
        "id": broken.event_id,
        "seq": broken.seq,
        "at": timezone.localtime(broken.at).strftime("%Y-%m-%d %H:%M:%S %Z") if broken.at else "",
        "action": broken.action,
        "expected": broken.expected_seq,
    }
    if broken.problem == "changed":
        text = _(
            "Event %(id)s (number %(seq)s in the chain, %(at)s, %(action)s) was changed after it was recorded: "
            "its content no longer matches its hash."
        )
    elif broken.problem == "link":
        text = _(
            "Event %(id)s (number %(seq)s in the chain, %(at)s, %(action)s): its link to the event before it is "
            "broken: that event's hash is not the one this event was chained to (it was replaced or rewritten)."
        )
    elif broken.problem == "missing":
        text = _(
            "Events are missing before event %(id)s (%(at)s, %(action)s): the chain goes from number "
            "%(expected)s straight to number %(seq)s."
        )
    elif broken.problem == "missing_end":
        text = _(
            "Events are missing at the end of the chain: number %(expected)s and after, which the chain's head "
            "counts, are gone."
        )
    elif broken.seq is not None:
        text = _("The chain's head does not match its last event, number %(seq)s.")
    else:
        text = _("The chain's head is missing although events are chained.")
    return text % where


class Command(BaseCommand):
    help = "Check the audit trail's hash chain; exit status 1 and the first broken event when it does not hold."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True, metavar="{verify,seal}")
        actions.add_parser(
            "seal",
            help="Chain every event recorded since the last seal (requests seal at most once a second per process).",
        )
        verify = actions.add_parser(
            "verify", help="Check every event's hash and link; name the first broken event (exit status 1)."
        )
        verify.add_argument(
            "--expect",
            metavar="SEQ:HASH",
            help="Also require that event number SEQ still has this hash (a line kept from an earlier run).",
        )

    def handle(self, *args, action, expect=None, **options):
        if action == "seal":
            sealed = seal()
            if options["verbosity"] >= 1:
                self.stdout.write(_("%(count)d audit event(s) chained.") % {"count": sealed})
            return
        report = verify_chain()
        problem = describe(report.broken) if report.broken else ""
        if not problem and expect:
            problem = self._check_expected(expect)
        record_event(None, "audit.verify", None, detail={"events": report.events, "broken": bool(problem)})
        if problem:
            raise CommandError(_("The audit chain is broken. %(problem)s") % {"problem": problem})
        if options["verbosity"] >= 1:
            self.stdout.write(
                _("The audit chain holds: %(count)d events; the last is number %(seq)d, hash %(hash)s.")
                % {"count": report.events, "seq": report.head_seq, "hash": report.head_hash or "-"}
            )

    def _check_expected(self, expect: str) -> str:
        seq, _sep, wanted = expect.partition(":")
        if not seq.isdigit() or len(wanted) != 64:
            raise CommandError(_("--expect takes SEQ:HASH, e.g. 1200:9f86d08…, as printed by an earlier run."))
        found = AuditEvent.objects.filter(seq=int(seq)).values_list("hash", flat=True).first()
        if found == wanted:
            return ""
        return _("Event number %(seq)s does not have the hash you kept (%(hash)s): the chain was rewritten.") % {
            "seq": seq,
            "hash": wanted,
        }
