"""Billing arithmetic as plain functions on Decimal, so that the invariants can be tested on their own.

- A line's amount is split into the insurer's part and the patient's part (not covered, excess,
  co-payment, not approved for this line, above the guaranteed amount); the parts always add up to the
  amount, to the fen. A line may fall under a per-line cap (what the insurer approved for the GOP line it
  comes from, shared by every invoice line matched to that GOP line); the insurer never pays more than a
  cap, nor more than the approved total over all lines.
- An invoice's balance is its total minus the payments (refunds count negative) minus the approved
  write-offs, with the exchange differences of payments made in the patient's currency; per part: the insurer's
  balance and the patient's balance add up to it.
- An issued invoice pins each part in the patient's currency at the issue day's rate (`Pin`). A payment of the
  amount shown as owed in that currency settles exactly what is owed in CNY; a part of it settles its share of the
  part at the pin; what it is worth on the day it is received beyond (or below) that is an exchange gain (or loss).
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
    exchange: Decimal = ZERO

    @property
    def balance(self) -> Decimal:
        return self.total - self.paid + self.exchange - self.written_off


def balances(
    *,
    insurer_part: Decimal,
    patient_part: Decimal,
    moved_to_patient: Decimal = ZERO,
    patient_paid: Decimal = ZERO,
    insurer_paid: Decimal = ZERO,
    patient_written_off: Decimal = ZERO,
    insurer_written_off: Decimal = ZERO,
    patient_exchange: Decimal = ZERO,
    insurer_exchange: Decimal = ZERO,
) -> Balances:
    """The invoice's balance and what each payer still owes.

    `patient_paid` is net of refunds, in CNY as received (at the rate of the day); `moved_to_patient` is what the
    insurer refused and the patient owes instead (it moves between parts, the total stays); `*_exchange` is the
    exchange gain (a loss negative) on that payer's payments: what they received beyond what they settle at the
    invoice's pinned rate, so a payment settles `paid - exchange` of its part."""
    insurer_due = insurer_part - moved_to_patient - insurer_paid + insurer_exchange - insurer_written_off
    patient_due = patient_part + moved_to_patient - patient_paid + patient_exchange - patient_written_off
    return Balances(
        total=insurer_part + patient_part,
        paid=patient_paid + insurer_paid,
        written_off=patient_written_off + insurer_written_off,
        insurer_due=insurer_due,
        patient_due=patient_due,
        exchange=patient_exchange + insurer_exchange,
    )


def signed(kind: str, amount: Decimal) -> Decimal:
    """A payment as it counts towards the balance: a refund goes back to the patient."""
    return -amount if kind == "refund" else amount


# --- the patient's currency: amounts pinned at issue -------------------------------------------------


def to_unit(amount, unit: Decimal) -> Decimal:
    """Round an amount to a currency's smallest unit (0.01, or 1 for the yen), halves up."""
    return Decimal(amount).quantize(unit, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Pin:
    """One part of an issued invoice pinned in the patient's currency: `foreign` in that currency is worth exactly
    `cny`. `rate` is the issue day's CNY per unit, `unit` the currency's smallest unit."""

    cny: Decimal
    foreign: Decimal
    rate: Decimal
    unit: Decimal = FEN


def pin_parts(total_cny: Decimal, patient_cny: Decimal, rate: Decimal, unit: Decimal = FEN):
    """The total, the patient's part and the insurer's part in the patient's currency at the rate: the total and
    the patient's part each rounded once, the insurer's the rest, so the parts add up to the total in both
    currencies. Returns (total, patient, insurer)."""
    total_foreign = to_unit(total_cny / rate, unit)
    patient_foreign = to_unit(patient_cny / rate, unit)
    return total_foreign, patient_foreign, total_foreign - patient_foreign


def cny_at_pin(pin: Pin, foreign: Decimal) -> Decimal:
    """What `foreign` paid towards the part is worth in CNY at the pin: its share of the part, so the whole pinned
    amount is worth the whole part, to the fen (a part pinned at nothing: at the pinned rate)."""
    if pin.foreign > 0:
        return to_fen(pin.cny * foreign / pin.foreign)
    return to_fen(foreign * pin.rate)


@dataclass(frozen=True)
class PaidAtPin:
    """What the part's payments in the pinned currency add up to: `foreign` (refunds negative) and the CNY they
    settled (`cny`)."""

    foreign: Decimal = ZERO
    cny: Decimal = ZERO


def foreign_due(pin: Pin, due_cny: Decimal, paid: PaidAtPin | None = None) -> Decimal:
    """What is still owed on the part in the pinned currency (negative: to refund), given what is owed in CNY:
    what is owed at the pinned rate, corrected by the rounding the pinned amount and the payments in that currency
    carry, so that while only such payments were made it is exactly the pinned amount less what they paid.

    Nothing when nothing is owed in CNY; at least the smallest unit, of the same sign, when something is; so a
    payment (or refund) of exactly this amount can always settle the part (see `settle_at_pin`)."""
    if due_cny == 0:
        return to_unit(ZERO, pin.unit)
    paid = paid or PaidAtPin()
    pinned_left = pin.foreign - paid.foreign  # the pinned amount less what was paid in its currency ...
    rounding = pinned_left - to_unit((pin.cny - paid.cny) / pin.rate, pin.unit)  # ... beyond its worth at the rate
    due = to_unit(due_cny / pin.rate, pin.unit) + rounding
    return max(due, pin.unit) if due_cny > 0 else min(due, -pin.unit)


def settle_at_pin(pin: Pin, amount: Decimal, due_cny: Decimal, paid: PaidAtPin | None = None) -> Decimal:
    """What a payment of `amount` in the pinned currency (a refund negative) settles of the part in CNY (a refund
    negative): exactly what is owed when it is exactly what `foreign_due` shows, otherwise its share at the pin,
    counted on everything paid in that currency so far so that the shares of several payments add up to the part."""
    paid = paid or PaidAtPin()
    shown = foreign_due(pin, due_cny, paid)
    if shown != 0 and amount == shown:
        return due_cny
    return cny_at_pin(pin, paid.foreign + amount) - cny_at_pin(pin, paid.foreign)


def exchange_difference(kind: str, received_cny: Decimal, settled_cny: Decimal) -> Decimal:
    """The hospital's exchange gain (a loss negative) on a payment: what it received in CNY on the day beyond what it
    settles; on a refund, what it settles back beyond what was paid out."""
    return settled_cny - received_cny if kind == "refund" else received_cny - settled_cny
