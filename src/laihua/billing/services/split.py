"""The split of an invoice between the insurer and the patient, with the reason for every part the patient pays.

`split_of` is the one function that computes it: the invoice page and `GET /api/billing/invoices/{id}` show a
draft's split with it before it is issued (nothing is stored), and `issue_invoice` stores what it returns. Each
invoice line is matched to the guarantee's line it comes from (the quote line, else the catalog code): a line the
insurer declined or reduced gives the insurer at most what was approved for it; an extra the guarantee does not
name shares only what the named lines leave of the approved total (`arithmetic.split_lines`).

When an approved or partly approved guarantee exists and the insurer would get less than it allows (the approved
total, or the invoice's total if smaller), the split is a *shortfall*: issuing it needs finance's explicit
confirmation, and the warning names every line the patient pays with its reasons."""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from laihua.billing import arithmetic, coverage
from laihua.billing.arithmetic import ZERO
from laihua.billing.models import InsurerDecision, Invoice, InvoiceLine
from laihua.errors import Conflict, RateUnavailable
from laihua.kit import clock
from laihua.kit.i18n import pick
from laihua.kit.money import parse_amount

# Why the patient pays a part of a line: stable codes (API) and their labels.
REASONS = {
    "no_insurer": gettext_lazy("no insurer pays directly"),
    "no_direct_billing": gettext_lazy("the insurer's contract has no direct billing"),
    "not_covered": gettext_lazy("not covered by the contract's kinds of service"),
    "excess": gettext_lazy("excess"),
    "copay": gettext_lazy("co-payment"),
    InsurerDecision.DECLINED: InsurerDecision.DECLINED.label,
    InsurerDecision.REDUCED: InsurerDecision.REDUCED.label,
    InsurerDecision.PENDING: InsurerDecision.PENDING.label,
    InsurerDecision.OUTSIDE_STAY: InsurerDecision.OUTSIDE_STAY.label,
    "over_limit": gettext_lazy("above the approved amount"),
    "no_guarantee": gettext_lazy("no approved guarantee of payment"),
}


class InsurerShortfall(Conflict):
    code = "insurer_shortfall"


class SplitChanged(Conflict):
    code = "split_changed"


def line_reasons(line: InvoiceLine, *, insurer: bool, guarantee: bool) -> list[tuple[str, Decimal]]:
    """The parts of a line the patient pays, each with its reason code, in the order they were taken."""
    out = []
    if line.not_covered_cny:
        why = "not_covered" if insurer else ("no_direct_billing" if guarantee else "no_insurer")
        out.append((why, line.not_covered_cny))
    if line.excess_cny:
        out.append(("excess", line.excess_cny))
    if line.copay_cny:
        out.append(("copay", line.copay_cny))
    if line.declined_cny:
        out.append((line.insurer_decision or InsurerDecision.DECLINED, line.declined_cny))
    if line.over_limit_cny:
        out.append(("over_limit" if guarantee else "no_guarantee", line.over_limit_cny))
    return out


def reason_text(code: str, line: InvoiceLine | None = None) -> str:
    """A reason in the active language, with the insurer's own words for a declined or reduced line."""
    text = str(REASONS.get(code, code))
    if line is not None and code in InsurerDecision.values and line.insurer_reason:
        text += f" (“{line.insurer_reason}”)"
    return text


@dataclass
class InvoiceSplit:
    """The split of an invoice's lines (set on the line objects, saved only by `issue_invoice`)."""

    invoice: Invoice
    cover: coverage.CaseCover | None
    guarantee: object | None  # the case's approved or partly approved GOP, even without direct billing
    rules: arithmetic.Rules
    lines: list[InvoiceLine]
    total: Decimal = ZERO
    insurer: Decimal = ZERO
    patient: Decimal = ZERO
    allowed: Decimal = ZERO  # what the guarantee allows the insurer to pay on this invoice
    reasons: dict[int, list[tuple[str, Decimal]]] = field(default_factory=dict)  # by line position
    computed: bool = True  # False: read from an issued invoice's stored parts

    @property
    def cover_ref(self) -> str:
        return (getattr(self.guarantee, "reference", "") or "") if self.guarantee is not None else ""

    @property
    def shortfall(self) -> bool:
        return self.guarantee is not None and self.insurer < self.allowed

    @property
    def shortfall_lines(self) -> list[InvoiceLine]:
        return [line for line in self.lines if line.patient_cny > 0] if self.shortfall else []

    def reasons_of(self, line: InvoiceLine) -> list[dict]:
        return [
            {"code": code, "amount_cny": amount, "text": reason_text(code, line)}
            for code, amount in self.reasons.get(line.position, [])
        ]

    def warning(self) -> str:
        """The shortfall in words, naming each line the patient pays and why ("" when there is none)."""
        if not self.shortfall:
            return ""
        named = []
        for line in self.shortfall_lines:
            why = ", ".join(
                f"{reason_text(code, line)} {amount:,.2f} CNY" for code, amount in self.reasons.get(line.position, [])
            )
            named.append(f"#{line.position} {line.code} {pick(line.description)}: {why}".replace("  ", " "))
        return _(
            "The insurer would pay %(insurer)s CNY of the %(allowed)s CNY its guarantee %(reference)s allows. "
            "The patient pays instead: %(lines)s."
        ) % {
            "insurer": f"{self.insurer:,.2f}",
            "allowed": f"{self.allowed:,.2f}",
            "reference": getattr(self.guarantee, "reference", "") or getattr(self.guarantee, "number", ""),
            "lines": "; ".join(named),
        }

    def as_json(self) -> dict:
        if self.computed:
            insurer, reference = (self.cover.insurer.name if self.cover else ""), self.cover_ref
        else:
            insurer, reference = self.invoice.insurer_name, self.invoice.guarantee_ref
        return {
            "computed": self.computed,
            "insurer": insurer,
            "guarantee_ref": reference,
            "rules": coverage.rules_as_json(self.rules),
            "total_cny": self.total,
            "insurer_cny": self.insurer,
            "patient_cny": self.patient,
            "allowed_cny": self.allowed,
            "shortfall": self.shortfall,
            "warning": self.warning(),
            "lines": [
                {
                    "position": line.position,
                    "code": line.code,
                    "amount_cny": line.amount_cny,
                    "insurer_cny": line.insurer_cny,
                    "patient_cny": line.patient_cny,
                    "gop_line": line.gop_sequence,
                    "insurer_decision": line.insurer_decision,
                    "insurer_reason": line.insurer_reason,
                    "reasons": self.reasons_of(line),
                }
                for line in self.lines
            ],
        }


def _keys(cover, lines: list[InvoiceLine]) -> tuple[list, dict]:
    """Each line's cap key (its GOP line, or its own zero cap when booked outside the stay) and the caps."""
    keys, caps = [], {}
    for line, gop in zip(lines, coverage.match_lines(cover, lines), strict=True):
        line.gop_sequence = gop.sequence if gop else None
        line.insurer_decision = gop.decision if gop else ""
        line.insurer_reason = gop.reason if gop else ""
        if coverage.outside_stay(cover, line):
            key = ("stay", line.position)
            caps[key] = ZERO
            line.insurer_decision, line.insurer_reason = InsurerDecision.OUTSIDE_STAY, ""
        elif gop is not None:
            key = ("gop", gop.sequence)
            if gop.cap_cny is not None:
                caps[key] = gop.cap_cny
        else:
            key = None
        keys.append(key)
    return keys, caps


def split_of(
    invoice: Invoice,
    *,
    lines: list[InvoiceLine] | None = None,
    on: datetime.date | None = None,
    cover: coverage.CaseCover | None | bool = True,
) -> InvoiceSplit:
    """Split the invoice's lines (by default all; a line not delivered has the amount 0) under the case's cover, as
    issuing would on `on` (default today).

    The parts are set on the line objects (not saved). `cover` defaults to the case's insurer, the guarantee of its
    stay and the contract's rules."""
    on = on or clock.today()
    lines = list(lines if lines is not None else invoice.lines.all())
    if cover is True:
        first = min((line.service_date for line in lines), default=on)
        cover = coverage.cover_of(invoice.case, on, first)
    guarantee = cover.guarantee if cover else coverage.granted_guarantee(invoice.case)
    rules = cover.rules if cover else arithmetic.NO_INSURER
    keys, caps = _keys(cover, lines) if cover else ([None] * len(lines), {})
    if not cover:
        for line in lines:
            line.gop_sequence, line.insurer_decision, line.insurer_reason = None, "", ""
    parts = arithmetic.split_lines(
        [(line.amount_cny, line.kind, key) for line, key in zip(lines, keys, strict=True)], rules, caps
    )
    result = InvoiceSplit(invoice, cover or None, guarantee, rules, lines)
    for line, part in zip(lines, parts, strict=True):
        line.not_covered_cny, line.excess_cny, line.copay_cny = part.not_covered, part.excess, part.copay
        line.declined_cny, line.over_limit_cny = part.declined, part.over_limit
        line.insurer_cny, line.patient_cny = part.insurer, part.patient
        if part.declined and line.insurer_decision == InsurerDecision.APPROVED:
            # More was delivered than the insurer approved for its GOP line: the rest is not approved.
            line.insurer_decision = InsurerDecision.REDUCED
        result.reasons[line.position] = line_reasons(line, insurer=cover is not None, guarantee=guarantee is not None)
    result.total = arithmetic.total(part.amount for part in parts)
    result.insurer = arithmetic.total(part.insurer for part in parts)
    result.patient = result.total - result.insurer
    if guarantee is not None:
        limit = rules.limit_cny if cover else coverage.guarantee_cny(guarantee, on)
        result.allowed = min(limit or ZERO, result.total)
    return result


def require_confirmed(split: InvoiceSplit, confirm: bool, seen_insurer_cny) -> None:
    """Refuse a shortfall that finance has not confirmed, or one that changed since finance looked at it."""
    if not split.shortfall:
        return
    if not confirm:
        raise InsurerShortfall(
            split.warning() + " " + _("Check the lines, then confirm to issue anyway."), field="confirm_shortfall"
        )
    if seen_insurer_cny not in (None, "") and parse_amount(seen_insurer_cny, field="insurer_cny") != split.insurer:
        raise SplitChanged(
            _("The split changed since you looked at it: the insurer now pays %(insurer)s CNY. Look again.")
            % {"insurer": f"{split.insurer:,.2f}"},
            field="confirm_shortfall",
        )


def stored_split(invoice: Invoice) -> InvoiceSplit:
    """An issued invoice's split as stored at issue, with the reasons read from its columns."""
    lines = list(invoice.lines.all())
    rules = arithmetic.Rules(**_rules_from_json(invoice.rules)) if invoice.rules else arithmetic.NO_INSURER
    result = InvoiceSplit(invoice, None, None, rules, lines, computed=False)
    result.total, result.insurer, result.patient = invoice.total_cny, invoice.insurer_cny, invoice.patient_cny
    for line in lines:
        result.reasons[line.position] = line_reasons(
            line, insurer=invoice.insurer_id is not None, guarantee=bool(invoice.guarantee_ref)
        )
    return result


def _rules_from_json(data: dict) -> dict:
    kinds = data.get("covered_kinds")
    return {
        "covered_kinds": frozenset(kinds) if kinds is not None else None,
        "copay_percent": Decimal(data.get("copay_percent") or "0"),
        "excess_cny": Decimal(data.get("excess_cny") or "0"),
        "limit_cny": Decimal(data["limit_cny"]) if data.get("limit_cny") is not None else None,
    }


def split_for_display(invoice: Invoice) -> InvoiceSplit | None:
    """A draft's split as issuing would make it today (None when it cannot be computed: no exchange rate for the
    guarantee's currency), or an issued invoice's stored split."""
    if not invoice.is_draft:
        return stored_split(invoice)
    try:
        return split_of(invoice)
    except RateUnavailable:
        return None
