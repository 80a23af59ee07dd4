"""What billing needs from the insurance domain, in one place: the insurer and guarantee of a case, the
contract's rules as `arithmetic.Rules`, and which insurer an agent works for."""

import datetime
from dataclasses import dataclass
from decimal import Decimal

from laihua.billing.arithmetic import NO_INSURER, ZERO, Rules, to_fen
from laihua.insurance import services as insurance
from laihua.rates import services as rates


@dataclass(frozen=True)
class CaseCover:
    """The insurer paying directly for a case, under which guarantee and rules (None: the patient pays)."""

    insurer: object
    guarantee: object | None
    rules: Rules
    guarantee_ref: str = ""


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


def guarantee_cny(guarantee, on: datetime.date) -> Decimal:
    """The approved amount of a guarantee in CNY (converted at the rate of the day when given in another currency)."""
    amount = getattr(guarantee, "approved_amount", None) or ZERO
    currency = (getattr(guarantee, "approved_currency", "") or "CNY").upper()
    if currency == "CNY":
        return to_fen(amount)
    rate = rates.rate_for(currency, on)
    return to_fen(Decimal(amount) * rate.cny_per_unit)


def cover_of(case, on: datetime.date, served_on: datetime.date | None = None) -> CaseCover | None:
    """The case's direct-billing insurer with its approved guarantee and contract rules, if any.

    The contract and the guarantee are those in force when the treatment started (`served_on`, the first
    service date): a guarantee valid for the stay still pays an invoice issued after it ended."""
    coverage = insurance.coverage_of(case)
    if coverage is None:
        return None
    served_on = served_on or on
    contract = insurance.contract_for(case.hospital, coverage.insurer, on=served_on)
    if contract is not None and not getattr(contract, "direct_billing", True):
        return None
    guarantee = insurance.approved_guarantee(case, on=served_on)
    limit = guarantee_cny(guarantee, on) if guarantee is not None else ZERO
    rules = contract_rules(contract, limit)
    return CaseCover(coverage.insurer, guarantee, rules, getattr(guarantee, "reference", "") or "")


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


__all__ = ["NO_INSURER", "CaseCover", "contract_rules", "cover_of", "guarantee_cny", "insurer_of", "rules_as_json"]
