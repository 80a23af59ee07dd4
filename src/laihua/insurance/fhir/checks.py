"""Checks the R4B models do not make, on the raw JSON, each problem located FHIRPath-like
(`Claim.item[2].unitPrice.value`; indexes count from 0 as in FHIRPath):

- amounts (Money) and quantities: finite, not negative, not absurd (an amount below kit.money's
  MAX_AMOUNT, a quantity at most MAX_QUANTITY), and the currency an ISO 4217 code;
- codes whose value set FHIR binds as required (Claim.status and use, ClaimResponse.status, use and
  outcome): the models accept any string, so "banana" would pass them."""

from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext as _

from laihua.errors import InvalidInput
from laihua.insurance.fhir.base import CLAIM_STATUS, CLAIM_USE, RESPONSE_OUTCOME, issue
from laihua.kit.money import MAX_AMOUNT, normalise_currency

MAX_QUANTITY = Decimal(10_000)  # beyond any line of care (a quote line holds at most 999)


def _number(value) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        return None  # not a number at all: the models say so
    try:
        return value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation:
        return None


def _check_number(value, path: str, issues: list, *, limit: Decimal, what: str) -> None:
    number = _number(value)
    if number is None:
        return
    if not number.is_finite():
        issues.append(issue(path, _("%(element)s is not a finite number.") % {"element": path}, "value"))
    elif number < 0:
        issues.append(
            issue(
                path,
                _("%(element)s is negative (%(value)s); it must be zero or more.") % {"element": path, "value": number},
                "value",
            )
        )
    elif number >= limit:
        message = (
            _("%(element)s (%(value)s) is too large for an amount.")
            if what == "amount"
            else _("%(element)s (%(value)s) is too large for a quantity.")
        )
        issues.append(issue(path, message % {"element": path, "value": number}, "value"))


def check_money(money, path: str, issues: list) -> None:
    if not isinstance(money, dict):
        return
    if "value" in money:
        _check_number(money["value"], f"{path}.value", issues, limit=MAX_AMOUNT, what="amount")
    currency = money.get("currency")
    if currency is not None:
        try:
            normalise_currency(currency if isinstance(currency, str) else str(currency))
        except InvalidInput as exc:
            issues.append(issue(f"{path}.currency", str(exc.message), "code-invalid"))


def check_quantity(quantity, path: str, issues: list) -> None:
    if isinstance(quantity, dict) and "value" in quantity:
        _check_number(quantity["value"], f"{path}.value", issues, limit=MAX_QUANTITY, what="quantity")


def check_code(value, allowed: tuple[str, ...], path: str, issues: list) -> None:
    if value is None or value in allowed:
        return  # a missing required element is the models' to name
    issues.append(
        issue(
            path,
            _("%(element)s “%(value)s” is not one of %(allowed)s.")
            % {"element": path, "value": str(value)[:60], "allowed": ", ".join(allowed)},
            "code-invalid",
        )
    )


def _items(rows, path: str, issues: list, children: tuple[str, ...]) -> None:
    for index, row in enumerate(rows if isinstance(rows, list) else []):
        if not isinstance(row, dict):
            continue
        here = f"{path}[{index}]"
        check_quantity(row.get("quantity"), f"{here}.quantity", issues)
        for name in ("unitPrice", "net"):
            check_money(row.get(name), f"{here}.{name}", issues)
        if "factor" in row:
            _check_number(row["factor"], f"{here}.factor", issues, limit=MAX_QUANTITY, what="quantity")
        for adjudication_index, adjudication in enumerate(row.get("adjudication") or []):
            if isinstance(adjudication, dict):
                check_money(adjudication.get("amount"), f"{here}.adjudication[{adjudication_index}].amount", issues)
        if children:
            _items(row.get(children[0]), f"{here}.{children[0]}", issues, children[1:])


def claim_problems(claim: dict, prefix: str = "Claim") -> list[dict]:
    """Amounts, quantities, currencies and required codes of an incoming Claim."""
    issues: list[dict] = []
    check_code(claim.get("status"), CLAIM_STATUS, f"{prefix}.status", issues)
    check_code(claim.get("use"), CLAIM_USE, f"{prefix}.use", issues)
    check_money(claim.get("total"), f"{prefix}.total", issues)
    _items(claim.get("item"), f"{prefix}.item", issues, ("detail", "subDetail"))
    return issues


def response_problems(response: dict, prefix: str = "ClaimResponse") -> list[dict]:
    """Amounts, quantities, currencies and required codes of an insurer's ClaimResponse."""
    issues: list[dict] = []
    check_code(response.get("status"), CLAIM_STATUS, f"{prefix}.status", issues)
    check_code(response.get("use"), CLAIM_USE, f"{prefix}.use", issues)
    check_code(response.get("outcome"), RESPONSE_OUTCOME, f"{prefix}.outcome", issues)
    for index, total in enumerate(response.get("total") or []):
        if isinstance(total, dict):
            check_money(total.get("amount"), f"{prefix}.total[{index}].amount", issues)
    payment = response.get("payment")
    if isinstance(payment, dict):
        check_money(payment.get("amount"), f"{prefix}.payment.amount", issues)
    _items(response.get("item"), f"{prefix}.item", issues, ("detail", "subDetail"))
    _items(response.get("addItem"), f"{prefix}.addItem", issues, ("detail", "subDetail"))
    return issues
