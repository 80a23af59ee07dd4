"""The conflicts a quote's use cases raise, each with its own error code."""

from django.utils.translation import gettext_lazy

from laihua.errors import Conflict


class QuoteFrozen(Conflict):
    code = "quote_frozen"
    default_message = gettext_lazy("This quote was sent and can no longer change. Start a revision instead.")


class QuoteNotOpen(Conflict):
    code = "quote_not_open"
    default_message = gettext_lazy("This quote is no longer waiting for an answer.")


class QuoteAlreadyAccepted(Conflict):
    code = "quote_already_accepted"
    default_message = gettext_lazy("This quote is already accepted.")


class QuoteExpired(Conflict):
    code = "quote_expired"
    default_message = gettext_lazy("This quote expired: its validity date has passed. Ask the hospital for a new one.")


class CaseNotQuotable(Conflict):
    code = "case_not_quotable"
