"""Billing arithmetic as plain functions on Decimal, so that the invariants can be tested on their own.

- A line's amount is split into the insurer's part and the patient's part (not covered, excess,
  co-payment, above the guaranteed amount); the parts always add up to the amount, to the fen.
- An invoice's balance is its total minus the payments (refunds count negative) minus the approved
  write-offs; per part: the insurer's balance and the patient's balance add up to it.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

FEN = Decimal("0.01")
ZERO = Decimal("0.00")
HUNDRED = Decimal(100)


def to_fen(amount) -> Decimal:
    """Round a CNY amount to the fen, halves up."""
    return Decimal(amount).quantize(FEN, rounding=ROUND_HALF_UP)


def total(amounts: Iterable[Decimal]) -> Decimal:
    return to_fen(sum(amounts, ZERO))


@dataclass(frozen=True)
class Rules:
    """What the insurer pays under a contract for one case.

    covered_kinds: the catalog kinds the contract covers (None: every kind);
    copay_percent: the patient's share of a covered amount after the excess (0..100);
    excess_cny: the deductible the patient pays first, once per invoice;
    limit_cny: the amount guaranteed (the approved guarantee of payment); None or 0: the insurer pays nothing.
    """

    covered_kinds: frozenset[str] | None = None
    copay_percent: Decimal = ZERO
    excess_cny: Decimal = ZERO
    limit_cny: Decimal | None = None


# No direct-billing insurer: every line is the patient's, as not covered.
NO_INSURER = Rules(covered_kinds=frozenset(), limit_cny=ZERO)


@dataclass(frozen=True)
class Split:
    """One line's amount, split; `insurer + patient == amount` always."""

    amount: Decimal
    not_covered: Decimal
    excess: Decimal
    copay: Decimal
    over_limit: Decimal
    insurer: Decimal

    @property
    def patient(self) -> Decimal:
        return self.not_covered + self.excess + self.copay + self.over_limit


def split_lines(lines: Sequence[tuple[Decimal, str]], rules: Rules) -> list[Split]:
    """Split each (amount, kind) line between insurer and patient, in order: the excess is used up by the
    first covered lines, the guaranteed amount by the first lines the insurer owes."""
    excess_left = to_fen(rules.excess_cny)
    limit_left = to_fen(rules.limit_cny or ZERO)
    splits = []
    for amount, kind in lines:
        amount = to_fen(amount)
        if rules.covered_kinds is not None and kind not in rules.covered_kinds:
            splits.append(Split(amount, amount, ZERO, ZERO, ZERO, ZERO))
            continue
        excess = min(excess_left, amount)
        excess_left -= excess
        after = amount - excess
        copay = min(to_fen(after * Decimal(rules.copay_percent) / HUNDRED), after)
        owed = after - copay
        insurer = min(owed, limit_left)
        limit_left -= insurer
        splits.append(Split(amount, ZERO, excess, copay, owed - insurer, insurer))
    return splits


@dataclass(frozen=True)
class Balances:
    total: Decimal
    paid: Decimal
    written_off: Decimal
    insurer_due: Decimal
    patient_due: Decimal

    @property
    def balance(self) -> Decimal:
        return self.total - self.paid - self.written_off


def balances(
    *,
    insurer_part: Decimal,
    patient_part: Decimal,
    moved_to_patient: Decimal = ZERO,
    patient_paid: Decimal = ZERO,
    insurer_paid: Decimal = ZERO,
    patient_written_off: Decimal = ZERO,
    insurer_written_off: Decimal = ZERO,
) -> Balances:
    """The invoice's balance and what each payer still owes.

    `patient_paid` is net of refunds; `moved_to_patient` is what the insurer refused and the patient owes
    instead (it moves between parts, the total stays)."""
    insurer_due = insurer_part - moved_to_patient - insurer_paid - insurer_written_off
    patient_due = patient_part + moved_to_patient - patient_paid - patient_written_off
    return Balances(
        total=insurer_part + patient_part,
        paid=patient_paid + insurer_paid,
        written_off=patient_written_off + insurer_written_off,
        insurer_due=insurer_due,
        patient_due=patient_due,
    )


def signed(kind: str, amount: Decimal) -> Decimal:
    """A payment as it counts towards the balance: a refund goes back to the patient."""
    return -amount if kind == "refund" else amount
