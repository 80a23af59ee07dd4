"""Da Vinci PAS over /fhir/: what the FHIR routes do with a request Bundle and with an insurer's answer,
on top of the insurance services (called as `services.<function>`, which keep every rule, permission
and audit event).

- `submit(actor, body, case)`: a PAS request Bundle becomes a GOP request for the case. The Claim's
  patient must match the case's patient; the diagnosis (ICD-10), the treating doctor and the dates come
  from the Claim; the itemised estimate is always the case's accepted quote, and whatever of the Claim's
  items differs from it is kept as a warning. Sent again with the same Claim.identifier, it answers the
  request already made instead of making another.
- `inquire(actor, body)`: the GOP request a PAS inquiry Bundle names (by Claim.identifier).
- `answer_bundle(gop)`: the PAS answer: a collection Bundle, the ClaimResponse first (outcome queued
  until the insurer decides, else the decision; the warnings as processNote), then the Patient, the
  insurer and the requesting hospital it references.
- `record_period_warning(actor, gop)`: after an insurer's answer (billing.flows), an approval
  whose period does not cover the planned stay is kept with a warning for the coordinator.
"""

import re
from decimal import Decimal

from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from laihua.audit.services import record_event
from laihua.cases.services import get_case
from laihua.errors import DomainError, NotFound
from laihua.insurance import fhir, services
from laihua.insurance.models import Guarantee, GuaranteeStatus, describe_warning
from laihua.insurance.services.consent import audit_consent_refusal
from laihua.kit import clock

ICD10_CODE = re.compile(r"^[A-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?$")
ICD10_UNDOTTED = re.compile(r"^([A-Z][0-9][0-9A-Z])([0-9A-Z]{1,4})$")
MAX_CLAIM_WARNINGS = 20
OUR_SYSTEMS = (fhir.CASE_SYSTEM, fhir.GOP_SYSTEM)


def _refuse(expression: str, diagnostics: str, code: str = "invalid") -> fhir.MalformedFhir:
    return fhir.MalformedFhir([fhir.issue(expression, diagnostics, code)])


def _warning(kind: str, expression: str = "", /, **params) -> dict:
    return {"code": kind, "expression": expression, "params": params, "at": clock.now().isoformat()}


def _client_identifier(parsed: fhir.ParsedClaim) -> str:
    """The hospital system's own Claim.identifier as "system|value" (ours are not theirs)."""
    for system, value in parsed.identifier_list:
        if system not in OUR_SYSTEMS:
            return f"{system}|{value}"[:300]
    return ""


def check_patient(parsed: fhir.ParsedClaim, case) -> None:
    """Claim.patient is the case's patient: the same name and birth date as the case's Patient record."""
    patient = case.patient
    differs = fhir.patient_differences(parsed, patient.family_name, patient.given_names, patient.date_of_birth)
    if not differs:
        return
    if "birthDate" in differs and parsed.birth_date is None:
        message = _("Claim.patient (%(ref)s) has no birthDate: Laihua matches it with the case's patient.")
    elif differs == ["birthDate"]:
        message = _("Claim.patient (%(ref)s) does not match the case's patient: the birth date differs.")
    elif differs == ["name"]:
        message = _("Claim.patient (%(ref)s) does not match the case's patient: the name differs.")
    else:
        message = _("Claim.patient (%(ref)s) does not match the case's patient: the name and the birth date differ.")
    raise _refuse("Claim.patient", message % {"ref": parsed.patient_reference}, "business-rule")


def _icd10(code: str) -> str:
    code = (code or "").strip().upper()
    match = ICD10_UNDOTTED.match(code)
    if match and not ICD10_CODE.match(code):
        code = f"{match[1]}.{match[2]}"
    return code if ICD10_CODE.match(code) else ""


def _diagnosis(parsed: fhir.ParsedClaim, case) -> tuple[str, str, dict | None]:
    """(ICD-10 code, text, warning) for the GOP: the Claim's first ICD-10 diagnosis; without any, the
    case's earlier request's; a Claim whose diagnoses are all in another code system is refused."""
    for diagnosis in parsed.diagnoses:
        code = _icd10(diagnosis.code)
        if code:
            return code, (diagnosis.display or code)[:300], None
    if parsed.diagnoses:
        first = parsed.diagnoses[0]
        raise _refuse(
            first.location,
            _(
                "The insurer is sent the diagnosis as an ICD-10 code; %(code)s (%(system)s) is not one. Add the "
                "ICD-10 code to Claim.diagnosis (system http://hl7.org/fhir/sid/icd-10 or icd-10-cm)."
            )
            % {"code": first.code, "system": first.system or "?"},
            "code-invalid",
        )
    earlier = Guarantee.objects.filter(case=case).exclude(diagnosis_code="").order_by("-created_at").first()
    if earlier is not None:
        warning = _warning("claim_diagnosis_reused", "Claim.diagnosis", code=earlier.diagnosis_code, gop=earlier.number)
        return earlier.diagnosis_code, earlier.diagnosis_text, warning
    raise _refuse(
        "Claim.diagnosis",
        _(
            "Laihua needs a diagnosis to send a guarantee of payment request to the insurer: add Claim.diagnosis "
            "with an ICD-10 code (system http://hl7.org/fhir/sid/icd-10). PAS allows a Claim without one; "
            "insurers do not give a guarantee without it."
        ),
        "required",
    )


# Where the services' refusals point in the Claim.
SERVICE_FIELDS = {
    "diagnosis_code": "Claim.diagnosis",
    "diagnosis_text": "Claim.diagnosis",
    "treating_doctor": "Claim.careTeam",
    "planned_start": "Claim.billablePeriod.start",
    "planned_end": "Claim.billablePeriod.end",
    "insurer": "Claim.insurance[0].coverage",
    "quote": "Claim.item",
}


def _case_of(actor, parsed: fhir.ParsedClaim, reference: str):
    reference = reference or parsed.identifiers.get(fhir.CASE_SYSTEM, "")
    if not reference:
        raise _refuse(
            "Claim.identifier",
            _("Say which case this is: a Claim.identifier with system %(system)s, or ?case=REF.")
            % {"system": fhir.CASE_SYSTEM},
            "required",
        )
    return get_case(actor, reference, audit=None)


def _already_sent(case, parsed: fhir.ParsedClaim, key: str) -> Guarantee | None:
    """The request this Claim already made (same Claim.identifier, or our GOP number), unless withdrawn."""
    numbers = [value for system, value in parsed.identifier_list if system == fhir.GOP_SYSTEM]
    if not key and not numbers:
        return None
    match = Q(number__in=numbers)
    if key:
        match |= Q(request_identifier=key)
    return (
        Guarantee.objects.filter(case=case)
        .filter(match)
        .exclude(status=GuaranteeStatus.CANCELLED)
        .order_by("-created_at")
        .first()
    )


@audit_consent_refusal  # outside the transaction, so that the refusal's audit event is kept
@transaction.atomic
def submit(actor, body, case_reference: str = "") -> tuple[Guarantee, bool]:
    """A PAS request Bundle (Claim, use = preauthorization) for a case: (the GOP request, created?)."""
    parsed = fhir.parse_claim_bundle(body)
    if parsed.use != "preauthorization":
        raise _refuse(
            "Claim.use", _("Only pre-authorisation requests (use = preauthorization) are accepted here."), "value"
        )
    case = _case_of(actor, parsed, case_reference)
    check_patient(parsed, case)
    key = _client_identifier(parsed)
    existing = _already_sent(case, parsed, key)
    if existing is not None:
        return services.get_guarantee(actor, existing.number), False
    coverage = services.coverage_of(case)
    if coverage is not None and parsed.member_ids and coverage.member_id not in parsed.member_ids:
        raise _refuse(
            "Coverage.subscriberId",
            _("The member number in the Claim (%(given)s) is not the one recorded on the case.")
            % {"given": parsed.member_ids[0]},
            "business-rule",
        )
    code, text, reused = _diagnosis(parsed, case)
    if not parsed.practitioner:
        raise _refuse(
            "Claim.careTeam",
            _(
                "Claim.careTeam must name the treating doctor: a Practitioner, a PractitionerRole or an "
                "Organization in the Bundle (or Claim.provider a Practitioner or PractitionerRole)."
            ),
            "required",
        )
    data = {
        "diagnosis_code": code,
        "diagnosis_text": text,
        "treating_doctor": parsed.practitioner,
        "planned_start": parsed.period[0] if parsed.period else None,
        "planned_end": parsed.period[1] if parsed.period else None,
    }
    try:
        gop = services.send_guarantee_request(actor, case, data)
    except DomainError as exc:
        exc.field = SERVICE_FIELDS.get(exc.field or "", exc.field)
        raise
    gop.request_identifier = key
    gop.warnings = [*([reused] if reused else []), *claim_warnings(parsed, gop)]
    gop.save(update_fields=["request_identifier", "warnings", "updated_at"])
    return gop, True


def _money(value: Decimal | None) -> str:
    return "" if value is None else f"{value.normalize():f}"


def claim_warnings(parsed: fhir.ParsedClaim, gop: Guarantee) -> list[dict]:
    """What of the Claim's items and total differs from the accepted quote the request was built from."""
    lines = list(gop.lines.all())
    by_code = {line.code.casefold(): line for line in lines if line.code}
    quote = gop.quote.number if gop.quote_id else ""
    found, used = [], set()
    currencies = {item.currency for item in parsed.items if item.currency} | ({parsed.currency} - {""})
    foreign = sorted(c for c in currencies if c != "CNY")
    if foreign:
        found.append(_warning("claim_currency", "Claim.item", currency=", ".join(foreign)))
    for item in parsed.items:
        line = by_code.get(item.code.casefold()) if item.code else None
        if line is None or line.pk in used:
            found.append(
                _warning("claim_item_ignored", item.location, code=item.code, display=item.display, quote=quote)
            )
            continue
        used.add(line.pk)
        if item.quantity is not None and item.quantity != line.quantity:
            found.append(
                _warning(
                    "claim_item_quantity",
                    f"{item.location}.quantity",
                    given=_money(item.quantity),
                    expected=line.quantity,
                )
            )
        if not foreign and item.unit_price is not None and item.unit_price != line.unit_price_cny:
            found.append(
                _warning(
                    "claim_item_price",
                    f"{item.location}.unitPrice",
                    given=_money(item.unit_price),
                    expected=_money(line.unit_price_cny),
                )
            )
    if parsed.items:
        for line in lines:
            if line.pk not in used:
                found.append(_warning("claim_line_added", "Claim.item", sequence=line.sequence, code=line.code))
    if not foreign and parsed.total is not None and parsed.total != gop.requested_cny:
        found.append(
            _warning("claim_total", "Claim.total", given=_money(parsed.total), expected=_money(gop.requested_cny))
        )
    if len(found) > MAX_CLAIM_WARNINGS:
        extra = len(found) - MAX_CLAIM_WARNINGS
        found = [*found[:MAX_CLAIM_WARNINGS], _warning("claim_more", "Claim.item", count=extra)]
    return found


def inquire(actor, body) -> Guarantee:
    """The GOP request a PAS inquiry Bundle names by Claim.identifier (our GOP number, or the hospital
    system's identifier sent with $submit), for someone who may see it; its patient must match."""
    parsed = fhir.parse_claim_bundle(body)
    numbers = [value for system, value in parsed.identifier_list if system == fhir.GOP_SYSTEM]
    keys = [f"{system}|{value}"[:300] for system, value in parsed.identifier_list if system not in OUR_SYSTEMS]
    if not numbers and not keys:
        raise _refuse("Claim.identifier", _("Claim.identifier must name the request asked about."), "required")
    match = Q(number__in=numbers) | Q(request_identifier__in=keys)
    gop = services.visible_guarantees(actor).filter(match).order_by("-created_at").first()
    if gop is None:
        raise NotFound(_("No guarantee request has this Claim.identifier."))
    check_patient(parsed, gop.case)
    return services.get_guarantee(actor, gop.number, audit="insurance.gop.inquire")


def _decision(line, gop: Guarantee) -> str:
    if gop.status in (GuaranteeStatus.SUBMITTED, GuaranteeStatus.DRAFT):
        return "submitted"
    if gop.status == GuaranteeStatus.CANCELLED:
        return "cancelled"
    return fhir.REVIEW_STATUS.get(line.review_action, gop.status)


def answer_bundle(gop: Guarantee) -> dict:
    """The PAS answer Bundle for a GOP request as it stands now."""
    claim_bundle = services.gop_bundle(gop)
    claim = claim_bundle["entry"][0]["resource"]
    by_url = {entry["fullUrl"]: entry["resource"] for entry in claim_bundle["entry"]}
    refs = {name: claim[name]["reference"] for name in ("patient", "insurer", "provider")}
    if gop.request_identifier and "|" in gop.request_identifier:
        system, value = gop.request_identifier.split("|", 1)
        request = {"identifier": {"system": system, "value": value} if system else {"value": value}}
    else:
        request = {"identifier": {"system": fhir.GOP_SYSTEM, "value": gop.number}}
    status = "submitted" if gop.status == GuaranteeStatus.DRAFT else gop.status
    granted = gop.is_granted
    response = fhir.claim_response(
        request_identifier=gop.number,
        status=status,
        created=gop.answered_at or gop.submitted_at or clock.now(),
        insurer_name=gop.insurer.name,
        reference=gop.reference if granted else "",
        amount=gop.approved_amount if granted else None,
        currency=gop.approved_currency if granted else "",
        period=(gop.valid_from, gop.valid_until) if granted and gop.valid_from and gop.valid_until else None,
        disposition=gop.disposition if gop.status != GuaranteeStatus.SUBMITTED else "",
        items=[(line.sequence, _decision(line, gop), line.approved_amount) for line in gop.lines.all()],
        response_id=gop.number,
        patient={"reference": refs["patient"]},
        insurer={"reference": refs["insurer"]},
        requestor={"reference": refs["provider"]},
        request=request,
        notes=gop.warning_messages(),
    )
    return fhir.response_bundle(
        response,
        [(refs[name], by_url[refs[name]]) for name in ("patient", "insurer", "provider")],
        response_url=fhir.full_url(fhir.GOP_SYSTEM, gop.number, "ClaimResponse", gop.number),
        identifier=gop.number,
        timestamp=clock.now(),
    )


def period_warning(gop: Guarantee) -> dict | None:
    """A warning when the approval's period does not cover the request's planned dates."""
    if not gop.is_granted or gop.valid_from is None or gop.valid_until is None:
        return None
    if gop.valid_from <= gop.planned_start and gop.valid_until >= gop.planned_end:
        return None
    return _warning(
        "preauth_period_short",
        "ClaimResponse.preAuthPeriod",
        start=gop.valid_from.isoformat(),
        end=gop.valid_until.isoformat(),
        planned_start=gop.planned_start.isoformat(),
        planned_end=gop.planned_end.isoformat(),
    )


@transaction.atomic
def record_period_warning(actor, gop: Guarantee) -> list[dict]:
    """After an insurer's answer: an approval period that does not cover the planned stay is kept on the
    Guarantee as a warning the coordinator sees (audited); returns the warnings it raised."""
    warning = period_warning(gop)
    if warning is None:
        return []
    gop.warnings = [*(gop.warnings or []), warning]
    gop.save(update_fields=["warnings", "updated_at"])
    record_event(
        actor,
        "insurance.gop.warning",
        gop,
        hospital=gop.hospital,
        detail={"case": gop.case.reference, "gop": gop.number, "warning": warning["code"]},
    )
    return [warning]


def warning_issues(warnings: list[dict]) -> list[dict]:
    """The warnings as OperationOutcome issues (severity warning), in the reader's language."""
    return [
        {
            "severity": "warning",
            "code": "business-rule",
            "diagnostics": describe_warning(warning),
            "expression": warning.get("expression") or None,
        }
        for warning in warnings
    ]
