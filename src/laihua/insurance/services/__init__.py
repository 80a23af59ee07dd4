"""Insurers, contracts, coverage and guarantees of payment (GOP).

Every change is one transaction with a timeline event on the case and an audit event. By concern:

- `access`: who sees what (`visible_guarantees`, the one scoping query for GOPs; `may_see_case`), audited reads;
- `contracts`: insurers and the contract a hospital admin keeps with each;
- `coverage`: the patient's policy on a case and what keeps it from direct billing;
- `guarantees`: the GOP request built from the accepted quote, sent as a FHIR Claim, sent again or withdrawn,
  and what billing reads (`guarantee_for_stay`, the GOP of the case's stay, and its `stay_window`);
- `answers`: the insurer's answer, in the portal or as a FHIR ClaimResponse;
- `consent`: the patient's consent to send their health data to the insurer, which every sending needs;
- `reminders`: overdue requests remind the coordinator once; the e-mails;
- `inputs`: reading dates and texts.

Insurance does not import billing: an answer to a claim after treatment reaches billing through
`laihua.billing.flows`.
"""

from laihua.insurance.services.access import (
    FHIR_SEARCH_STATUSES,
    get_guarantee,
    guarantees_of_case,
    insurer_case,
    insurer_of,
    list_guarantees,
    may_see_case,
    search_claims,
    visible_cases_for_insurer,
    visible_guarantees,
)
from laihua.insurance.services.answers import (
    ANSWERS,
    answer_guarantee_request,
    read_claim_response,
    record_guarantee_response,
)
from laihua.insurance.services.consent import (
    INSURER_SYSTEM,
    ConsentMissing,
    ConsentState,
    ask_for_consent,
    audit_consent_refusal,
    consent_for,
    consent_page_url,
    consent_state,
    get_consent_state,
    grant_gop_consent,
    record_paper_gop_consent,
    require_consent,
)
from laihua.insurance.services.contracts import (
    CONTRACT_EDITORS,
    MAX_ANSWER_HOURS,
    contract_for,
    get_contract,
    line_needs_preauth,
    list_contracts,
    save_contract,
    visible_contracts,
    visible_insurers,
)
from laihua.insurance.services.coverage import (
    CoverageProblem,
    coverage_for_case,
    coverage_of,
    coverage_problems,
    gop_dates_changed,
    planned_dates,
    record_coverage,
)
from laihua.insurance.services.guarantees import (
    ICD10,
    GuaranteeNotOpen,
    accepted_quote,
    approved_guarantee,
    cancel_guarantee_request,
    gop_bundle,
    gop_lines_preview,
    guarantee_for_stay,
    is_overdue,
    may_send,
    resubmit_guarantee_request,
    send_guarantee_request,
    stay_window,
)
from laihua.insurance.services.reminders import remind_overdue

__all__ = [
    "ANSWERS",
    "CONTRACT_EDITORS",
    "INSURER_SYSTEM",
    "ConsentMissing",
    "ConsentState",
    "ask_for_consent",
    "audit_consent_refusal",
    "consent_for",
    "consent_page_url",
    "consent_state",
    "get_consent_state",
    "grant_gop_consent",
    "record_paper_gop_consent",
    "require_consent",
    "FHIR_SEARCH_STATUSES",
    "ICD10",
    "MAX_ANSWER_HOURS",
    "CoverageProblem",
    "GuaranteeNotOpen",
    "accepted_quote",
    "answer_guarantee_request",
    "approved_guarantee",
    "guarantee_for_stay",
    "cancel_guarantee_request",
    "contract_for",
    "coverage_for_case",
    "coverage_of",
    "coverage_problems",
    "gop_dates_changed",
    "get_contract",
    "list_contracts",
    "get_guarantee",
    "gop_bundle",
    "gop_lines_preview",
    "guarantees_of_case",
    "insurer_case",
    "insurer_of",
    "is_overdue",
    "line_needs_preauth",
    "list_guarantees",
    "may_see_case",
    "may_send",
    "planned_dates",
    "read_claim_response",
    "record_coverage",
    "record_guarantee_response",
    "remind_overdue",
    "resubmit_guarantee_request",
    "save_contract",
    "search_claims",
    "send_guarantee_request",
    "stay_window",
    "visible_cases_for_insurer",
    "visible_contracts",
    "visible_guarantees",
    "visible_insurers",
]
