"""Reading an insurer's ClaimResponse (bare, or as the first entry of a PAS response Bundle) into plain
values: outcome, our status (approved, partial, pended, denied), the authorisation reference, amounts
per adjudication category, the validity period and each item's review action.

Checked as strictly as an incoming Claim, every problem one OperationOutcome issue with its location:
structure and required elements (R4B models); in a Bundle, `Bundle.timestamp`, the ClaimResponse as
the first entry, fullUrls (refs.BundleIndex) and every reference of the ClaimResponse resolving to an
entry of the right type (`request` excepted: it names our Claim); required codes (status, use,
outcome); amounts and currencies (checks.response_problems)."""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils.translation import gettext as _
from fhir.resources.R4B.claimresponse import ClaimResponse
from pydantic import ValidationError

from laihua.insurance.fhir.base import (
    ITEM_PREAUTH_PERIOD,
    REVIEW_ACTION,
    REVIEW_ACTION_CODE,
    REVIEW_STATUS,
    MalformedFhir,
    code_of,
    issue,
    load,
    ordered,
    pydantic_issues,
    shallow,
    to_amount,
    to_period,
)
from laihua.insurance.fhir.checks import response_problems
from laihua.insurance.fhir.refs import BundleIndex, unresolved

PREFIX = "ClaimResponse"
PROVIDERS = ("Practitioner", "PractitionerRole", "Organization")
EXPECTED = {
    f"{PREFIX}.patient": ("Patient",),
    f"{PREFIX}.insurer": ("Organization",),
    f"{PREFIX}.requestor": PROVIDERS,
}


@dataclass
class ItemAdjudication:
    sequence: int
    review_action: str = ""
    amounts: dict[str, Decimal] = field(default_factory=dict)
    currency: str = ""
    reason: str = ""
    pre_auth_ref: str = ""
    period: tuple[datetime.date | None, datetime.date | None] | None = None


@dataclass
class ParsedResponse:
    use: str
    outcome: str
    status: str
    disposition: str = ""
    request_identifier: str = ""
    identifiers: list[str] = field(default_factory=list)
    pre_auth_ref: str = ""
    period: tuple[datetime.date | None, datetime.date | None] | None = None
    total: dict[str, Decimal] = field(default_factory=dict)
    currency: str = ""
    payment_amount: Decimal | None = None
    items: list[ItemAdjudication] = field(default_factory=list)


def _review_action(extensions) -> tuple[str, str]:
    """(X12 306 code, authorisation number) from a PAS reviewAction extension, if any."""
    for ext in extensions or []:
        if ext.url != REVIEW_ACTION:
            continue
        code = number = ""
        for sub in ext.extension or []:
            if sub.url == REVIEW_ACTION_CODE:
                code = code_of(sub.valueCodeableConcept)
            elif sub.url == "number":
                number = sub.valueString or ""
        return code, number
    return "", ""


def _rebase(path: str) -> str:
    return PREFIX + path[len("Bundle.entry[0].resource") :] if path.startswith("Bundle.entry[0].resource") else path


def _from_bundle(data: dict, issues: list[dict]) -> dict | None:
    """The ClaimResponse of a PAS response Bundle (its first entry), after the Bundle's own checks."""
    entries = data.get("entry") if isinstance(data.get("entry"), list) else []
    if not data.get("timestamp"):
        issues.append(issue("Bundle.timestamp", _("Bundle.timestamp is required but missing.")))
    first = (entries[0] or {}).get("resource") if entries and isinstance(entries[0], dict) else None
    if not isinstance(first, dict) or first.get("resourceType") != "ClaimResponse":
        elsewhere = any(
            isinstance(e, dict) and isinstance(e.get("resource"), dict) and e["resource"].get("resourceType") == PREFIX
            for e in entries
        )
        issues.append(
            issue(
                "Bundle.entry[0]" if elsewhere else "Bundle.entry",
                _("The ClaimResponse must be the first entry of the Bundle.")
                if elsewhere
                else _("The Bundle holds no ClaimResponse."),
                "structure",
            )
        )
        return None
    index = BundleIndex(data)
    issues.extend(index.problems())
    issues.extend(unresolved(index, 0, first, PREFIX, EXPECTED, skip=(f"{PREFIX}.request",)))
    return first


@shallow
def parse_claim_response(data) -> ParsedResponse:
    """Read a ClaimResponse (bare or in a Bundle); raise MalformedFhir listing every problem."""
    data = load(data)
    issues: list[dict] = []
    if data.get("resourceType") == PREFIX:
        raw = data
    elif data.get("resourceType") == "Bundle":
        raw = _from_bundle(data, issues)
    else:
        raise MalformedFhir(
            [
                issue(
                    "resourceType",
                    _("Expected a Bundle or a ClaimResponse, got %(type)s.") % {"type": data.get("resourceType")},
                    "invalid",
                )
            ]
        )
    response = None
    if raw is not None:
        problems = response_problems(raw, PREFIX)
        issues.extend(problems)
        try:
            response = ClaimResponse.model_validate(raw)
        except ValidationError as exc:
            # The checks above say it better for the elements they cover.
            covered = {p["expression"] for p in problems}
            issues.extend(i for i in pydantic_issues(exc, PREFIX, _rebase) if i["expression"] not in covered)
    if issues or response is None:
        raise MalformedFhir(ordered(issues) or [issue(PREFIX, _("The ClaimResponse cannot be read."), "invalid")])
    return _read_response(response)


def _read_response(response: ClaimResponse) -> ParsedResponse:
    items, actions = [], []
    header_period = None
    for item in response.item or []:
        adj = ItemAdjudication(sequence=item.itemSequence)
        for ext in item.extension or []:
            if ext.url == ITEM_PREAUTH_PERIOD and ext.valuePeriod is not None:
                adj.period = to_period(ext.valuePeriod)
        for entry in item.adjudication or []:
            code, number = _review_action(entry.extension)
            if code:
                adj.review_action, adj.pre_auth_ref = code, number or adj.pre_auth_ref
            amount = to_amount(entry.amount)
            category = code_of(entry.category)
            if amount is not None and category:
                adj.amounts[category] = amount
                adj.currency = adj.currency or (entry.amount.currency or "")
            if entry.reason is not None:
                adj.reason = code_of(entry.reason)
        if not adj.review_action:
            code, number = _review_action(item.extension)
            adj.review_action, adj.pre_auth_ref = code, number
        if adj.review_action:
            actions.append(adj.review_action)
        header_period = header_period or adj.period
        items.append(adj)
    total, currency = {}, ""
    for entry in response.total or []:
        amount = to_amount(entry.amount)
        if amount is not None:
            total[code_of(entry.category)] = amount
            currency = currency or (entry.amount.currency or "")
    currency = currency or next((i.currency for i in items if i.currency), "")
    payment_amount = to_amount(response.payment.amount) if response.payment else None
    request_identifier = ""
    if response.request is not None:
        if response.request.identifier is not None and response.request.identifier.value:
            request_identifier = response.request.identifier.value
        elif response.request.reference:
            request_identifier = response.request.reference.rsplit("/", 1)[-1]
    pre_auth_ref = response.preAuthRef or next((i.pre_auth_ref for i in items if i.pre_auth_ref), "")
    period = to_period(response.preAuthPeriod) or header_period
    return ParsedResponse(
        use=response.use,
        outcome=response.outcome,
        status=_overall_status(response, actions, total),
        disposition=response.disposition or "",
        request_identifier=request_identifier,
        identifiers=[i.value for i in response.identifier or [] if i.value],
        pre_auth_ref=pre_auth_ref,
        period=period,
        total=total,
        currency=currency,
        payment_amount=payment_amount,
        items=items,
    )


def _overall_status(response: ClaimResponse, actions: list[str], total: dict) -> str:
    """Our status from the items' review actions (PAS), else from the outcome and the amounts."""
    if response.outcome == "queued":
        return "pended"
    statuses = {REVIEW_STATUS.get(code, "pended") for code in actions}
    if statuses:
        if statuses == {"approved"}:
            return "approved"
        if statuses == {"denied"}:
            return "denied"
        if "pended" in statuses:
            return "pended"
        return "partial"
    if response.outcome == "error":
        return "denied"
    if response.outcome == "partial":
        return "partial"
    benefit = total.get("benefit")
    if benefit is not None and benefit == 0:
        return "denied"
    return "approved"
