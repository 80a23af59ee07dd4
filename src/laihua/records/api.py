"""JSON routes of the records domain (mounted at /api/records by laihua.api): the same services as
the pages. Errors are `{error, detail, field}`; a refused IPS adds `issues` (every rule broken, with
its location; a document about someone else, `patient_mismatch`, gives one issue per field that
differs with `field`, `document` and `patient`). An accepted document carries its `warnings`.
A clinician imports a document whose patient does not match with `?match_reason=...` (or a
`match_reason` form field beside the file)."""

from django.http import JsonResponse, StreamingHttpResponse
from ninja import File, Router, Status
from ninja.files import UploadedFile
from ninja.responses import NinjaJSONEncoder

from laihua.accounts.auth import AUTH
from laihua.cases.services import get_case
from laihua.records import ips, services
from laihua.records.consents import paper_response
from laihua.records.models import PdfStatus
from laihua.records.pdfs import ready_summary_pdf
from laihua.records.schemas import ConsentIn, EpisodeSummaryIn, PdfStateOut, TermIn, TransferIn

router = Router(tags=["records"], auth=AUTH)


def document_out(document) -> dict:
    return {
        "id": document.pk,
        "case": document.case.reference,
        "direction": document.direction,
        "identifier": {"system": document.identifier_system, "value": document.identifier_value},
        "timestamp": document.timestamp,
        "title": document.title,
        "format": document.source_format,
        "content_hash": document.content_hash,
        "items": document.item_count,
        "created_at": document.created_at,
        "warnings": document.warnings,
        "matched_by_hand": matched_by_hand_out(document),
    }


def matched_by_hand_out(document) -> dict | None:
    if not document.matched_by_hand:
        return None
    by = document.matched_by_hand_by
    return {
        "by": (by.get_full_name() or by.get_username()) if by else None,
        "at": document.matched_by_hand_at,
        "reason": document.matched_by_hand_reason,
        "differences": document.patient_mismatch,
    }


def item_out(item) -> dict:
    return {
        "id": item.pk,
        "document": item.document_id,
        "kind": item.kind,
        "resource_type": item.resource_type,
        "text": item.text,
        "codes": item.codes,
        "display_en": item.display_en,
        "display_zh": item.display_zh,
        "status": item.status,
        "date": item.date,
        "value": item.value,
        "dosage": (item.detail or {}).get("dosage", []),
        "dosage_en": item.dosage_en,
        "dosage_zh": item.dosage_zh,
        "times": (item.detail or {}).get("time", {}),
        "matched_by_hand": item.document.matched_by_hand,
    }


def summary_out(summary) -> dict | None:
    if summary is None:
        return None
    return {
        "diagnoses": summary.diagnoses,
        "procedures": summary.procedures,
        "medications": summary.medications,
        "allergies": summary.allergies,
        "results": summary.results,
        "follow_ups": summary.follow_ups,
        "language": summary.language,
        "plan_of_care": summary.plan_of_care,
        "plan_of_care_second": summary.plan_of_care_second,
        "follow_up": summary.follow_up,
        "follow_up_second": summary.follow_up_second,
        "unparsed": summary.unparsed,
        "completed_at": summary.completed_at,
    }


def consent_out(consent) -> dict:
    return {
        "id": consent.pk,
        "case": consent.case.reference,
        "status": consent.status,
        "recipient_name": consent.recipient_name,
        "recipient_email": consent.recipient_email,
        "recipient_country": consent.recipient_country,
        "purpose": consent.purpose,
        "use": consent.use,
        "recipient_identifier": (
            {"system": consent.recipient_system, "value": consent.recipient_identifier}
            if consent.recipient_identifier
            else None
        ),
        "data_types": consent.data_types,
        "period_start": consent.period_start,
        "period_end": consent.period_end,
        "granted_at": consent.granted_at,
        "withdrawn_at": consent.withdrawn_at,
        "on_paper": consent.on_paper,
        "recorded_by": _name(consent.recorded_by) if consent.recorded_by_id else None,
        "paper": f"/api/records/consents/{consent.pk}/paper" if consent.on_paper else None,
        "fhir": f"/fhir/Consent/{consent.pk}",
    }


def _name(user) -> str:
    return user.get_full_name() or user.username


def _refused(request, exc: ips.IpsInvalid):
    return JsonResponse({**exc.as_dict(), "detail": str(exc.message)}, status=exc.status, encoder=NinjaJSONEncoder)


def page_links(request, page, param: str = "page") -> dict:
    """first, last, previous and next of a page (None where there is none), keeping the other query parameters."""

    def link(number):
        query = request.GET.copy()
        query[param] = str(number)
        return f"{request.path}?{query.urlencode()}"

    return {
        "first": link(1),
        "last": link(page.pages),
        "previous": link(page.number - 1) if page.has_previous else None,
        "next": link(page.number + 1) if page.has_next else None,
    }


def page_out(page) -> dict:
    return {"number": page.number, "size": page.size, "pages": page.pages, "count": page.count}


@router.get(
    "/cases/{reference}",
    summary="The case's patient summary: a page of its distinct items (newest first) and of its documents, with counts",
)
def case_records(
    request,
    reference: str,
    page: int = 1,
    page_size: int = services.PAGE_SIZE,
    kind: str = "",
    status: str = "",
    documents_page: int = 1,
):
    """`page` and `page_size` (at most 200) page the items, `kind` and `status` filter them;
    `documents_page` pages the documents (same size). `counts`: every document, every distinct item,
    and the items that match the filters."""
    case = get_case(request.user, reference, audit=None)
    records = services.case_records(
        request.user, case, page=page, size=page_size, kind=kind, status=status, documents_page=documents_page
    )
    return {
        "case": case.reference,
        "counts": records["counts"],
        "page": page_out(records["item_page"]),
        "links": page_links(request, records["item_page"]),
        "items": [item_out(i) for i in records["items"]],
        "documents_page": page_out(records["document_page"]),
        "documents_links": page_links(request, records["document_page"], "documents_page"),
        "documents": [document_out(d) for d in records["documents"]],
        "episode_summary": summary_out(records["summary"]),
    }


@router.get("/cases/{reference}/items", summary="A page of the case's distinct items, newest first")
def case_items(
    request, reference: str, page: int = 1, page_size: int = services.PAGE_SIZE, kind: str = "", status: str = ""
):
    case = get_case(request.user, reference, audit=None)
    found = services.list_items(request.user, case, page=page, size=page_size, kind=kind, status=status)
    return {
        "case": case.reference,
        "count": found.count,
        "page": page_out(found),
        "links": page_links(request, found),
        "items": [item_out(i) for i in found.rows],
    }


@router.get("/cases/{reference}/documents", summary="A page of the case's documents, newest first")
def case_documents(request, reference: str, page: int = 1, page_size: int = services.PAGE_SIZE):
    case = get_case(request.user, reference, audit=None)
    found = services.list_documents(request.user, case, page=page, size=page_size)
    return {
        "case": case.reference,
        "count": found.count,
        "page": page_out(found),
        "links": page_links(request, found),
        "documents": [document_out(d) for d in found.rows],
    }


@router.post(
    "/cases/{reference}/documents",
    response={200: dict, 201: dict},
    summary="Import an IPS (FHIR JSON or XML body, or a `file` upload)",
)
def import_document(request, reference: str, file: File[UploadedFile] = None, match_reason: str = ""):
    case = get_case(request.user, reference, audit=None)
    content = file.read() if file is not None else request.body
    reason = match_reason or (request.POST.get("match_reason", "") if file is not None else "")
    try:
        document, created = services.import_document(request.user, case, content, source="api", match_reason=reason)
    except ips.IpsInvalid as exc:
        return _refused(request, exc)
    return Status(201 if created else 200, {**document_out(document), "created": created})


@router.post(
    "/cases/{reference}/attachments/{attachment_id}/import",
    response={200: dict, 201: dict},
    summary="Import an IPS attached to the case",
)
def import_attachment(request, reference: str, attachment_id: int, match_reason: str = ""):
    case = get_case(request.user, reference, audit=None)
    try:
        document, created = services.import_attachment(request.user, case, attachment_id, match_reason=match_reason)
    except ips.IpsInvalid as exc:
        return _refused(request, exc)
    return Status(201 if created else 200, {**document_out(document), "created": created})


@router.get("/documents/{document_id}", summary="One stored document (metadata)")
def document(request, document_id: int):
    return document_out(services.get_document(request.user, document_id))


@router.put("/cases/{reference}/episode-summary", summary="Write or complete the discharge (episode) summary")
def episode_summary(request, reference: str, payload: EpisodeSummaryIn):
    case = get_case(request.user, reference, audit=None)
    data = payload.dict()
    complete = data.pop("complete")
    return summary_out(services.save_episode_summary(request.user, case, data, complete=complete))


@router.get(
    "/cases/{reference}/export",
    response={200: dict},
    summary="The case's IPS document (FHIR JSON, `?format=xml` for FHIR XML), written as it is made",
)
def export(request, reference: str, format: str = "json"):  # noqa: A002 - the query parameter's name
    case = get_case(request.user, reference, audit=None)
    form = "xml" if format == "xml" else "json"
    kind = "application/fhir+xml; charset=utf-8" if form == "xml" else "application/fhir+json"
    return StreamingHttpResponse(services.stream_export(request.user, case, form=form), content_type=kind)


@router.get(
    "/cases/{reference}/summary.pdf",
    response={202: PdfStateOut},
    summary="The readable summary (PDF, patient's language and Chinese); a long one: 202 until it is prepared",
    description=(
        f"A record of up to {services.PDF_JOB_ITEMS} items is rendered at once (200, the PDF). A longer one is "
        "prepared by a job: the answer is 202 with `status` and `status_url` (also in `Location`) until it is "
        "ready; then this URL gives the PDF. A change to the records prepares a new one."
    ),
)
def summary_pdf(request, reference: str):
    case = get_case(request.user, reference, audit=None)
    answer = services.request_summary_pdf(request.user, case)
    ready = ready_summary_pdf(request.user, case, answer)
    if ready is not None:
        return ready
    state = _pdf_state(request, answer.prepared)
    response = JsonResponse(state, status=202)
    response["Location"] = state["status_url"]
    response["Retry-After"] = "5"
    return response


@router.get(
    "/cases/{reference}/summary.pdf/status",
    response=PdfStateOut,
    summary="Whether the readable summary PDF is ready (`pending`, `ready` or `failed`, with the URL to fetch)",
)
def summary_pdf_status(request, reference: str):
    case = get_case(request.user, reference, audit=None)
    return _pdf_state(request, services.wanted_pdf(request.user, case), request.path.removesuffix("/status"))


def _pdf_state(request, prepared, pdf_path: str | None = None) -> dict:
    pdf_path = pdf_path or request.path
    return {
        "status": prepared.status if prepared is not None else PdfStatus.READY,
        "items": prepared.items if prepared is not None else None,
        "pdf_url": pdf_path,
        "status_url": f"{pdf_path}/status",
    }


def _term(t) -> dict:
    scope = "platform" if t.hospital_id is None else "hospital"
    return {"id": t.pk, "scope": scope, "system": t.system, "code": t.code, "en": t.en, "zh_hans": t.zh_hans}


@router.get("/terms", summary="The platform's term list and your hospital's overrides (scope: platform, hospital)")
def terms(request, q: str = ""):
    return [_term(t) for t in services.terms(request.user, query=q)[:500]]


@router.post("/terms", summary="Add or change a translation (platform admins: the platform's; staff: the hospital's)")
def save_term(request, payload: TermIn):
    return _term(services.save_term(request.user, **payload.dict()))


@router.delete("/terms/{term_id}", response={204: None}, summary="Remove a translation")
def delete_term(request, term_id: int):
    services.delete_term(request.user, term_id)
    return Status(204, None)


@router.get("/cases/{reference}/consents", summary="The patient's consents on this case")
def consents(request, reference: str):
    case = get_case(request.user, reference, audit=None)
    return [consent_out(c) for c in services.consents_of_case(request.user, case)]


@router.post("/cases/{reference}/consents", response={201: dict}, summary="The patient grants a consent")
def grant(request, reference: str, payload: ConsentIn):
    case = get_case(request.user, reference, audit=None)
    return Status(201, consent_out(services.grant_consent(request.user, case, **payload.dict())))


@router.post(
    "/cases/{reference}/consents/paper",
    response={201: dict},
    summary="Record a consent the patient signed on paper (multipart: `file`, the scan, and the consent's fields)",
)
def record_paper(request, reference: str, file: File[UploadedFile] = None):
    case = get_case(request.user, reference, audit=None)
    form = request.POST
    consent = services.record_paper_consent(
        request.user,
        case,
        file=file,
        recipient_name=form.get("recipient_name", ""),
        recipient_email=form.get("recipient_email", ""),
        recipient_country=form.get("recipient_country", ""),
        purpose=form.get("purpose", ""),
        data_types=form.getlist("data_types"),
        period_start=form.get("period_start", ""),
        period_end=form.get("period_end", ""),
    )
    return Status(201, consent_out(consent))


@router.get("/consents/{consent_id}/paper", summary="The scan of a consent signed on paper")
def paper(request, consent_id: int):
    return paper_response(services.paper_of_consent(request.user, consent_id))


@router.post("/consents/{consent_id}/withdraw", summary="The patient withdraws a consent")
def withdraw(request, consent_id: int):
    return consent_out(services.withdraw_consent(request.user, consent_id))


REFUSALS = ("records.transfer_access_refused", "records.transfer_code_refused")


def transfer_out(transfer) -> dict:
    """A transfer as staff and the patient see it: never its link (only the recipient has it)."""
    out = {
        "id": transfer.pk,
        "consent": transfer.consent_id,
        "recipient_email": transfer.recipient_email,
        "data_types": transfer.data_types,
        "language": transfer.language,
        "sent_at": transfer.sent_at,
        "expires_at": transfer.expires_at,
        "revoked_at": transfer.revoked_at,
    }
    if hasattr(transfer, "state"):
        out["state"] = transfer.state
        out["accesses"] = [
            {
                "at": e.at,
                "address": e.ip_address,
                "event": e.action.removeprefix("records.transfer_"),
                "what": e.detail.get("what", ""),
                "refused": e.detail.get("reason", "") if e.action in REFUSALS else "",
            }
            for e in transfer.accesses
        ]
    return out


@router.post(
    "/cases/{reference}/transfers", response={201: dict}, summary="Send a consented recipient a link to the records"
)
def transfer(request, reference: str, payload: TransferIn):
    case = get_case(request.user, reference, audit=None)
    sent = services.send_records(
        request.user,
        case,
        recipient_email=payload.recipient_email,
        data_types=payload.data_types or None,
        language=payload.language,
    )
    return Status(201, transfer_out(sent))


@router.get("/cases/{reference}/transfers", summary="The case's transfers with their state and every access")
def transfers(request, reference: str):
    case = get_case(request.user, reference, audit=None)
    return [transfer_out(t) for t in services.transfers_of_case(request.user, case)]


@router.post("/transfers/{transfer_id}/revoke", summary="Revoke a transfer's link (patient or staff)")
def revoke_transfer(request, transfer_id: int):
    return transfer_out(services.revoke_transfer(request.user, transfer_id))
