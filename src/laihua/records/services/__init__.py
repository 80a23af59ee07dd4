"""Records that cross borders: import and view International Patient Summaries, the term list, the
discharge (episode) summary and its IPS export, and the patient's consents to send records outside
the hospital (PIPL: a separate consent naming recipient, purpose, data types and period).

Who may do what:
- import: the case's patient, and the hospital's coordinators, clinicians and admins;
- view the summary and export: the case's patient and the hospital's coordinators, clinicians and admins;
- write the episode summary: the hospital's clinicians;
- term list: read by the hospitals' coordinators, clinicians and admins and by platform administrators; the
  platform's list is changed by platform administrators only, a hospital's overrides by its coordinators and
  admins (another hospital's overrides are not found);
- consents: granted and withdrawn by the patient; a consent signed on paper recorded, with its scan, by the
  coordinators and admins of the case's hospital; read (audited) by the patient and the case's records staff;
- send records outside: the hospital's coordinators and clinicians, only under an active consent that
  names the recipient and covers the data types today. The patient's own download needs no consent.
Every view, import, export and transfer is audited.

The rules, by concern:

- `access`: the roles, the access check of a case's records, the scoping queries;
- `importing`: checking documents, matching their patient, storing them and their items; checks of
  what is stored;
- `viewing`: the case's distinct items with translations, one document;
- `terms`: the platform's term list and each hospital's overrides;
- `discharge`: the clinician's structured discharge summary;
- `exporting`: the IPS export (FHIR) and the PDF;
- `prepared`: records PDFs too long for a request, rendered ahead by a job into the storage;
- `consents`: consents (from the patient, or signed on paper and recorded by staff);
- `transfers`: sending records under them as an expiring, revocable link that a browser opens only with a
  one-time code e-mailed to the recipient, and its access log.
"""

from laihua.cases.services import require_case_staff
from laihua.records.consents import may_record_paper
from laihua.records.services.access import (
    KIND_ORDER,
    RECORD_STAFF,
    SENDERS,
    require_records_access,
    visible_consents,
    visible_documents,
)
from laihua.records.services.consents import (
    ConsentRequired,
    consents_of_case,
    get_consent,
    grant_consent,
    matching_consent,
    paper_of_consent,
    record_paper_consent,
    withdraw_consent,
)
from laihua.records.services.discharge import ICD10_RE, displays, save_episode_summary
from laihua.records.services.exporting import (
    PDF_LABELS,
    build_export,
    case_for_patient_summary,
    document_source,
    export_case,
    export_parts,
    stream_export,
    summary_pdf,
)
from laihua.records.services.importing import (
    MatchByHandRefused,
    PatientMismatch,
    import_attachment,
    import_document,
    importable_attachments,
    mismatched_documents,
    refresh_items,
    store,
)
from laihua.records.services.prepared import (
    PDF_JOB_ITEMS,
    SummaryPdf,
    pdf_failed,
    prepare_pdf,
    prepared_pdf_file,
    records_version,
    request_summary_pdf,
    request_transfer_pdf,
    transfer_pdf_file,
    wanted_pdf,
)
from laihua.records.services.terms import (
    OVERRIDE_EDITORS,
    TERM_READERS,
    delete_term,
    may_edit,
    save_term,
    terms,
)
from laihua.records.services.transfers import (
    CodeRefused,
    LinkGone,
    NotVerified,
    is_verified,
    live_code,
    mask_email,
    open_transfer,
    revoke_transfer,
    send_code,
    send_records,
    shows_pdf,
    transfer_bundle,
    transfer_page_context,
    transfer_pdf,
    transfers_of_case,
    verify_code,
)
from laihua.records.services.viewing import (
    MAX_PAGE_SIZE,
    PAGE_SIZE,
    Page,
    annotate,
    case_items,
    case_records,
    distinct_items,
    get_document,
    item_statuses,
    iter_case_items,
    list_documents,
    list_items,
    untranslated_codes,
)

__all__ = [
    "MAX_PAGE_SIZE",
    "PAGE_SIZE",
    "Page",
    "item_statuses",
    "export_parts",
    "stream_export",
    "iter_case_items",
    "list_documents",
    "list_items",
    "ICD10_RE",
    "KIND_ORDER",
    "PDF_LABELS",
    "RECORD_STAFF",
    "SENDERS",
    "OVERRIDE_EDITORS",
    "TERM_READERS",
    "ConsentRequired",
    "CodeRefused",
    "LinkGone",
    "NotVerified",
    "is_verified",
    "live_code",
    "mask_email",
    "MatchByHandRefused",
    "PatientMismatch",
    "annotate",
    "build_export",
    "case_for_patient_summary",
    "case_items",
    "case_records",
    "consents_of_case",
    "delete_term",
    "displays",
    "distinct_items",
    "document_source",
    "export_case",
    "get_consent",
    "get_document",
    "grant_consent",
    "import_attachment",
    "import_document",
    "importable_attachments",
    "matching_consent",
    "may_edit",
    "may_record_paper",
    "mismatched_documents",
    "paper_of_consent",
    "record_paper_consent",
    "open_transfer",
    "refresh_items",
    "require_case_staff",
    "require_records_access",
    "revoke_transfer",
    "save_episode_summary",
    "save_term",
    "send_code",
    "send_records",
    "shows_pdf",
    "store",
    "summary_pdf",
    "PDF_JOB_ITEMS",
    "SummaryPdf",
    "pdf_failed",
    "prepare_pdf",
    "prepared_pdf_file",
    "records_version",
    "request_summary_pdf",
    "request_transfer_pdf",
    "transfer_pdf_file",
    "wanted_pdf",
    "terms",
    "transfer_bundle",
    "transfer_page_context",
    "transfer_pdf",
    "transfers_of_case",
    "verify_code",
    "untranslated_codes",
    "visible_consents",
    "visible_documents",
    "withdraw_consent",
]
