"""What billing needs from the insurance domain, in one place: the insurer and guarantee of a case, the
contract's rules as `arithmetic.Rules`, the guarantee's decision on each of its lines, and which insurer an
agent works for.

The guarantee that pays an invoice is the one of the case's stay (`insurance.guarantee_for_stay`): the case's
latest approved or partly approved GOP. Neither the day of issue nor a line's own date chooses it (an extra
priced by hand takes today's date, which may lie after the approval's validity). The one date that counts is a
booked service's day: a service booked for a day outside the stay the GOP covers (`insurance.stay_window`) is
not part of that stay, and the insurer's part of it is 0."""

import datetime
from dataclasses import dataclass
from decimal import Decimal

from laihua.billing.arithmetic import NO_INSURER, ZERO, Rules, to_fen
from laihua.billing.models import InsurerDecision
from laihua.insurance import fhir as insurance_fhir
from laihua.insurance import services as insurance
from laihua.rates import services as rates


@dataclass(frozen=True)
class GopLine:
    """One line of the guarantee as billing reads it: what the insurer decided and the most it pays (in CNY)."""

    sequence: int
    quote_line_id: int | None
    code: str
    decision: str  # an InsurerDecision, or "" when the insurer gave none for the line
    cap_cny: Decimal | None  # None: only the approved total caps it
    reason: str = ""


@dataclass(frozen=True)
class CaseCover:
    """The insurer paying directly for a case, under which guarantee and rules (None: the patient pays)."""

    insurer: object
    guarantee: object | None
    rules: Rules
    guarantee_ref: str = ""
    lines: tuple[GopLine, ...] = ()
    stay: tuple[datetime.date, datetime.date] | None = None


def contract_rules(contract, limit_cny: Decimal | None) -> Rules:
    """The split rules of a contract, with the guaranteed amount as the insurer's limit.

    Contracts without coverage fields cover every kind, with no co-payment and no excess."""
    kinds = list(getattr(contract, "covered_kinds", None) or []) if contract is not None else []
    copay = Decimal(getattr(contract, "copay_percent", None) or 0) if contract is not None else ZERO
    excess = Decimal(getattr(contract, "excess_cny", None) or 0) if contract is not None else ZERO
    return Rules(
        covered_kinds=frozenset(kinds) if kinds else None,
        copay_percent=copay,
        excess_cny=to_fen(excess),
        limit_cny=limit_cny,
    )


def _cny(amount, currency: str, on: datetime.date) -> Decimal:
    currency = (currency or "CNY").upper()
    if currency == "CNY":
        return to_fen(amount)
    return to_fen(Decimal(amount) * rates.rate_for(currency, on).cny_per_unit)


def guarantee_cny(guarantee, on: datetime.date) -> Decimal:
    """The approved amount of a guarantee in CNY (converted at the rate of the day when given in another currency)."""
    return _cny(getattr(guarantee, "approved_amount", None) or ZERO, getattr(guarantee, "approved_currency", ""), on)


def _gop_line(line, guarantee, on: datetime.date) -> GopLine:
    """A GOP line's decision (PAS review action) and cap: approved lines pay up to what was approved for them
    (the whole line when no amount is given), declined and undecided (pended) lines pay nothing."""
    status = insurance_fhir.REVIEW_STATUS.get(line.review_action, "") if line.review_action else ""
    cap = None
    if line.approved_amount is not None:
        cap = _cny(line.approved_amount, guarantee.approved_currency, on)
    if status == "denied":
        decision, cap = InsurerDecision.DECLINED, ZERO
    elif status == "pended":
        decision, cap = InsurerDecision.PENDING, ZERO
    elif status in ("approved", "partial"):
        reduced = cap is not None and cap < line.amount_cny
        decision = InsurerDecision.REDUCED if reduced else InsurerDecision.APPROVED
    else:
        decision = ""
    return GopLine(line.sequence, line.quote_line_id, line.code or "", decision, cap, line.reason or "")


def granted_guarantee(case):
    """The case's approved or partly approved GOP for its stay (None if there is none)."""
    return insurance.guarantee_for_stay(case)


def cover_of(case, on: datetime.date, served_on: datetime.date | None = None) -> CaseCover | None:
    """The case's direct-billing insurer with the guarantee of the case's stay and the contract's rules, if any.

    The contract is the one the guarantee was requested under; without a guarantee, the one in force when the
    treatment started (`served_on`, the first service date). Amounts in another currency count in CNY at the rate
    of `on` (the issue day)."""
    coverage = insurance.coverage_of(case)
    if coverage is None:
        return None
    guarantee = granted_guarantee(case)
    if guarantee is not None and guarantee.insurer_id != coverage.insurer_id:
        guarantee = None
    if guarantee is not None:
        contract = guarantee.contract
    else:
        contract = insurance.contract_for(case.hospital, coverage.insurer, on=served_on or on)
    if contract is not None and not getattr(contract, "direct_billing", True):
        return None
    if guarantee is None:
        return CaseCover(coverage.insurer, None, contract_rules(contract, ZERO))
    return CaseCover(
        coverage.insurer,
        guarantee,
        contract_rules(contract, guarantee_cny(guarantee, on)),
        guarantee.reference or "",
        tuple(_gop_line(line, guarantee, on) for line in guarantee.lines.all()),
        insurance.stay_window(guarantee),
    )


def match_lines(cover: CaseCover | None, lines) -> list[GopLine | None]:
    """Each invoice line's GOP line: the one built from the same quote line, else the first with the same catalog
    code (an extra of a service the guarantee named); None for an extra the guarantee does not name."""
    if cover is None or not cover.lines:
        return [None] * len(lines)
    by_quote = {gop.quote_line_id: gop for gop in cover.lines if gop.quote_line_id}
    by_code: dict[str, GopLine] = {}
    for gop in cover.lines:
        if gop.code.strip():
            by_code.setdefault(gop.code.strip().upper(), gop)
    out = []
    for line in lines:
        found = by_quote.get(line.quote_line_id) if line.quote_line_id else None
        if found is None and (line.code or "").strip():
            found = by_code.get(line.code.strip().upper())
        out.append(found)
    return out


def outside_stay(cover: CaseCover | None, line) -> bool:
    """A booked service whose day lies outside the stay the guarantee covers (only a booking's day is a real
    service date: quoted lines and extras take the day they were drafted or added)."""
    if cover is None or cover.stay is None or not line.booking_request_id:
        return False
    start, end = cover.stay
    return not start <= line.service_date <= end


def insurer_of(actor):
    """The insurer an insurer agent works for (None for anybody else)."""
    return insurance.insurer_of(actor)


def rules_as_json(rules: Rules) -> dict:
    return {
        "covered_kinds": sorted(rules.covered_kinds) if rules.covered_kinds is not None else None,
        "copay_percent": str(rules.copay_percent),
        "excess_cny": str(rules.excess_cny),
        "limit_cny": str(rules.limit_cny) if rules.limit_cny is not None else None,
    }


__all__ = [
    "NO_INSURER",
    "CaseCover",
    "GopLine",
    "contract_rules",
    "cover_of",
    "granted_guarantee",
    "guarantee_cny",
    "insurer_of",
    "match_lines",
    "outside_stay",
    "rules_as_json",
]
