"""Quotes: a coordinator builds one for a case from the hospital's catalog and lines priced by hand,
sends it, and the patient accepts or declines it online.

- Who: coordinators and hospital admins of the case's hospital build and send; the case's own patient
  accepts or declines; every quote is read through `visible_quotes`, which scopes by `visible_cases`
  (a patient never sees a draft). Every read and change is audited.
- Money: CNY Decimal rounded to the fen (ROUND_HALF_UP) line by line; the total is the sum of the line
  amounts; the amounts in the patient's currency are the CNY amounts converted at the rate in force on
  the day the quote is sent, and that rate (value, date, source) is frozen on the quote.
- Revisions: each quote of a case is one revision (<case>-Q1, -Q2, ...). A new draft starts from the
  lines of the latest quote; sending it supersedes the quote the patient had, which keeps its history.
- Frozen: only a draft changes. A sent quote is answered (accepted, declined), superseded or expired,
  and an accepted one stays exactly as the patient accepted it, with the time and the address.
- Concurrency: each use case locks the case row, then the quote row, so that two acceptances of one
  quote (or an acceptance and a revision) run one after the other; the second sees the first's result.
  Partial unique constraints back this up: one draft, one sent and one accepted quote per case.

The rules, by concern:

- `access`: who sees which quote (`visible_quotes`, `get_quote`, `list_quotes`), who may build, the locks;
- `drafts`: open a revision, change its terms, discard it, build one with its lines;
- `lines`: a draft's catalog lines and lines priced by hand, their discounts and amounts;
- `sending`: the checks, the frozen rate, superseding the patient's previous quote;
- `answers`: the patient accepts or declines;
- `expiry`: quotes past their validity, and quotes of a cancelled or declined case;
- `display`: what the pages show (converted figures, the builder's catalog choices);
- `money`: the arithmetic; `inputs`: reading the input; `errors`: the conflicts.
"""

from laihua.quotes.services.access import (
    BUILDERS,
    QUOTABLE_STATES,
    get_quote,
    list_quotes,
    may_build,
    quotes_of_case,
    visible_quotes,
)
from laihua.quotes.services.answers import accept_quote, decline_quote
from laihua.quotes.services.display import (
    Figures,
    catalog_choices,
    describe,
    figures,
    frozen_rate,
    quote_language,
    requested_services,
)
from laihua.quotes.services.drafts import DEFAULT_VALIDITY_DAYS, build_quote, create_draft, discard_draft, update_terms
from laihua.quotes.services.errors import (
    CaseNotQuotable,
    QuoteAlreadyAccepted,
    QuoteExpired,
    QuoteFrozen,
    QuoteNotOpen,
)
from laihua.quotes.services.expiry import expire_quotes, withdraw_open_quotes
from laihua.quotes.services.lines import add_line, remove_line, update_line
from laihua.quotes.services.money import LineAmounts, converted, line_amounts, quote_total, to_fen
from laihua.quotes.services.sending import send_quote

__all__ = [
    "BUILDERS",
    "DEFAULT_VALIDITY_DAYS",
    "QUOTABLE_STATES",
    "CaseNotQuotable",
    "Figures",
    "LineAmounts",
    "QuoteAlreadyAccepted",
    "QuoteExpired",
    "QuoteFrozen",
    "QuoteNotOpen",
    "accept_quote",
    "add_line",
    "build_quote",
    "catalog_choices",
    "converted",
    "create_draft",
    "decline_quote",
    "describe",
    "discard_draft",
    "expire_quotes",
    "figures",
    "frozen_rate",
    "get_quote",
    "line_amounts",
    "list_quotes",
    "may_build",
    "quote_language",
    "quote_total",
    "quotes_of_case",
    "remove_line",
    "requested_services",
    "send_quote",
    "to_fen",
    "update_line",
    "update_terms",
    "visible_quotes",
    "withdraw_open_quotes",
]
