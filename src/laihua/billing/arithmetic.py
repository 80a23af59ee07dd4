"""Billing arithmetic as plain functions on Decimal, so that the invariants can be tested on their own.

- A line's amount is split into the insurer's part and the patient's part (not covered, excess,
  co-payment, not approved for this line, above the guaranteed amount); the parts always add up to the
  amount, to the fen. A line may fall under a per-line cap (what the insurer approved for the GOP line it
  comes from, shared by every invoice line matched to that GOP line); the insurer never pays more than a
  cap, nor more than the approved total over all lines.
- An invoice's balance is its total minus the payments (refunds count negative) minus the approved
  write-offs; per part: the insurer's balance and the patient's balance add up to it.
"""

from collections.abc import Hashable, Iterable, Mapping, Sequence
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
    """One line's amount, split; `insurer + patient == amount` always.

    `declined` is what the insurer did not approve for this line (declined, reduced, no decision, or outside the
    guarantee's stay): the patient pays it."""

    amount: Decimal
    not_covered: Decimal
    excess: Decimal
    copay: Decimal
    over_limit: Decimal
    insurer: Decimal
    declined: Decimal = ZERO

    @property
    def patient(self) -> Decimal:
        return self.not_covered + self.excess + self.copay + self.declined + self.over_limit


Line = tuple[Decimal, str] | tuple[Decimal, str, Hashable | None]


def split_lines(lines: Sequence[Line], rules: Rules, caps: Mapping[Hashable, Decimal] | None = None) -> list[Split]:
    """Split each (amount, kind[, cap key]) line between insurer and patient.

    In order: a kind the contract does not cover is the patient's; the excess is used up by the first covered
    lines; the co-payment is a share of what is left; a line with a cap key under `caps` gives the insurer at
    most what is left of that cap (lines with the same key share it; a cap used up leaves the whole line to the
    patient, without using the excess); the approved total (`rules.limit_cny`) then goes first to the lines with
    a cap key (the lines the guarantee named), in order, and only what remains to the other lines (extras)."""
    caps = caps or {}
    excess_left = to_fen(rules.excess_cny)
    cap_left = {key: max(to_fen(value), ZERO) for key, value in caps.items()}
    rows = []  # (amount, not_covered, excess, copay, declined, owed, key)
    for line in lines:
        amount, kind = to_fen(line[0]), line[1]
        key = line[2] if len(line) > 2 else None
        if rules.covered_kinds is not None and kind not in rules.covered_kinds:
            rows.append((amount, amount, ZERO, ZERO, ZERO, ZERO, key))
            continue
        if key in cap_left and cap_left[key] == 0:
            rows.append((amount, ZERO, ZERO, ZERO, amount, ZERO, key))
            continue
        excess = min(excess_left, amount)
        excess_left -= excess
        after = amount - excess
        copay = min(to_fen(after * Decimal(rules.copay_percent) / HUNDRED), after)
        owed = after - copay
        declined = ZERO
        if key in cap_left:
            allowed = min(owed, cap_left[key])
            cap_left[key] -= allowed
            owed, declined = allowed, owed - allowed
        rows.append((amount, ZERO, excess, copay, declined, owed, key))
    limit_left = to_fen(rules.limit_cny or ZERO)
    insurer = [ZERO] * len(rows)
    for named in (True, False):
        for index, row in enumerate(rows):
            if (row[6] is not None) == named:
                insurer[index] = min(row[5], limit_left)
                limit_left -= insurer[index]
    return [
        Split(amount, not_covered, excess, copay, owed - paid, paid, declined)
        for (amount, not_covered, excess, copay, declined, owed, _key), paid in zip(rows, insurer, strict=True)
    ]


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
