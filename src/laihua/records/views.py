"""Pages: the case's records (imported summaries with translations, import, export, consents, sending),
the clinician's episode summary, and the shared term list. Each calls the same service as the API.

A refusal of access escapes as a DomainError that kit.weberrors renders as a page; a refused change is
shown on the page again with its message (a refused IPS with every issue and its location)."""

import re
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST, require_safe

from laihua.accounts.models import Role
from laihua.accounts.services import require_role
from laihua.cases.services import get_case, visible_cases
from laihua.errors import Conflict, DomainError, InvalidInput, NotFound, PermissionDenied
from laihua.kit import clock
from laihua.records import identity, ips, narrative, services
from laihua.records.consents import paper_response
from laihua.records.models import STATUS, ConsentUse, DataType, ItemKind
from laihua.records.pdfs import ready_summary_pdf

CORRECTABLE = (InvalidInput, Conflict, services.ConsentRequired, services.MatchByHandRefused)


def _listing(request) -> dict:
    """The records page's paging and filters as asked in the query (a wrong page number is the first page)."""
    query = request.GET

    def number(name):
        value = query.get(name, "1")
        return int(value) if value.isdigit() and int(value) >= 1 else 1

    kind = query.get("kind", "")
    return {
        "page": number("page"),
        "kind": kind if kind in ItemKind.values else "",
        "status": query.get("status", "")[:40],
        "documents_page": number("documents_page"),
    }


def _query(**params) -> str:
    """A query string of the non-empty params, ending with & when not empty (for the pager's links)."""
    kept = {name: value for name, value in params.items() if value not in ("", None, 1)}
    return urlencode(kept) + "&" if kept else ""


def _context(request, case, **extra) -> dict:
    actor = request.user
    listing = _listing(request)
    records = services.case_records(actor, case, **listing)
    services.displays(records["summary"])
    is_patient = actor.role == Role.PATIENT
    statuses = services.item_statuses(case)
    if listing["status"] and listing["status"] not in statuses:
        statuses.append(listing["status"])
    return {
        "case": case,
        "patient": case.patient,
        "records": records,
        "kind": listing["kind"],
        "status": listing["status"],
        "item_kinds": ItemKind.choices,
        "item_statuses": [(value, STATUS.get(value, value)) for value in statuses],
        "item_query": _query(kind=listing["kind"], status=listing["status"], documents_page=listing["documents_page"]),
        "document_query": _query(kind=listing["kind"], status=listing["status"], page=listing["page"]),
        "is_patient": is_patient,
        "is_clinician": actor.role == Role.CLINICIAN,
        "may_send": actor.role in services.SENDERS,
        "may_edit_terms": services.may_edit(actor, "hospital") or services.may_edit(actor, "platform"),
        "attachments": services.importable_attachments(actor, case),
        "consents": services.consents_of_case(actor, case),
        "may_record_paper": services.may_record_paper(actor, case),
        "transfers": services.transfers_of_case(actor, case),
        "data_types": DataType.choices,
        "today": clock.today(),
        **extra,
    }


@login_required
@require_safe
def index(request):
    """The cases whose records the actor may see (patients: their own)."""
    require_role(request.user, (Role.PATIENT, *services.RECORD_STAFF))
    cases = list(visible_cases(request.user).order_by("-created_at")[:200])
    counts = {}
    for document in services.visible_documents(request.user).filter(case__in=cases):
        counts[document.case_id] = counts.get(document.case_id, 0) + 1
    for case in cases:
        case.document_count = counts.get(case.pk, 0)
    return render(request, "records/index.html", {"cases": cases})


@login_required
@require_safe
def case_records(request, reference: str):
    case = get_case(request.user, reference, audit=None)
    context = _context(request, case)
    if request.headers.get("HX-Request") and request.headers.get("HX-Target") == "records-items":
        return render(request, "records/_items.html", context)  # the filter or the pager, without the page
    return render(request, "records/case.html", context)


def _again(request, case, error: DomainError, **extra):
    issues = getattr(error, "issues", None)
    return render(
        request, "records/case.html", _context(request, case, error=error, issues=issues, **extra), status=error.status
    )


@login_required
@require_POST
def import_upload(request, reference: str):
    case = get_case(request.user, reference, audit=None)
    upload = request.FILES.get("file")
    try:
        if upload is None:
            raise InvalidInput(_("Choose an IPS file (FHIR JSON or XML)."), field="file")
        document, created = services.import_document(
            request.user, case, upload.read(), source="upload", match_reason=request.POST.get("match_reason", "")
        )
    except ips.IpsInvalid as error:
        return _again(request, case, error, refused_name=upload.name)
    except CORRECTABLE as error:
        return _again(request, case, error, match_reason=request.POST.get("match_reason", ""))
    _imported_message(request, document, created)
    return redirect("records:case", case.reference)


def _imported_message(request, document, created):
    if created:
        messages.success(request, _("The summary was imported with %(count)d items.") % {"count": document.item_count})
    else:
        messages.info(request, _("This summary had already been imported; nothing was added."))
    if created and document.matched_by_hand:
        messages.warning(request, _("The summary was matched to the patient by hand; the reason is kept with it."))
    if document.warnings and request.user.role != Role.PATIENT:
        messages.warning(
            request,
            ngettext(
                "The sender should fix %(count)d thing in it; see the document.",
                "The sender should fix %(count)d things in it; see the document.",
                len(document.warnings),
            )
            % {"count": len(document.warnings)},
        )


@login_required
@require_POST
def import_attachment(request, reference: str, attachment_id: int):
    case = get_case(request.user, reference, audit=None)
    try:
        document, created = services.import_attachment(
            request.user, case, attachment_id, match_reason=request.POST.get("match_reason", "")
        )
    except CORRECTABLE as error:
        return _again(request, case, error)
    _imported_message(request, document, created)
    return redirect("records:case", case.reference)


@login_required
@require_safe
def export_json(request, reference: str):
    case = get_case(request.user, reference, audit=None)
    chunks = services.stream_export(request.user, case, form="json")
    response = StreamingHttpResponse(chunks, content_type="application/fhir+json")
    response["Content-Disposition"] = f'attachment; filename="ips-{case.reference}.json"'
    return response


@login_required
@require_safe
def export_xml(request, reference: str):
    case = get_case(request.user, reference, audit=None)
    chunks = services.stream_export(request.user, case, form="xml")
    response = StreamingHttpResponse(chunks, content_type="application/fhir+xml; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="ips-{case.reference}.xml"'
    return response


@login_required
@require_safe
def export_pdf(request, reference: str):
    """The records PDF: rendered at once when short; a long one is prepared by a job, and until it is ready this
    page says so and asks every few seconds (export_pdf_state) whether it is."""
    case = get_case(request.user, reference, audit=None)
    answer = services.request_summary_pdf(request.user, case)
    ready = ready_summary_pdf(request.user, case, answer)
    if ready is not None:
        return ready
    return render(request, "records/pdf_pending.html", {"case": case, "prepared": answer.prepared})


@login_required
@require_safe
def export_pdf_state(request, reference: str):
    """The "being prepared" notice of a long records PDF, asked for again by the page until it is ready."""
    case = get_case(request.user, reference, audit=None)
    prepared = services.wanted_pdf(request.user, case)
    return render(request, "records/_pdf_state.html", {"case": case, "prepared": prepared})


@login_required
@require_safe
def document_detail(request, document_id: int):
    """One stored document: where it comes from, whether it was matched by hand, what the sender should
    fix (staff), and its sections' narratives as plain text."""
    document = services.get_document(request.user, document_id)
    try:
        sections = narrative.sections(ips.decode(document.content)[0])
    except ips.IpsInvalid:
        sections = []
    return render(
        request,
        "records/document.html",
        {
            "document": document,
            "case": document.case,
            "sections": sections,
            "differences": [
                {**d, "label": identity.FIELDS.get(d.get("field"), d.get("field"))} for d in document.patient_mismatch
            ],
            "is_staff": request.user.role != Role.PATIENT,
        },
    )


@login_required
@require_safe
def document_raw(request, document_id: int):
    document = services.get_document(request.user, document_id)
    kind = "application/fhir+xml" if document.source_format == "xml" else "application/fhir+json"
    response = HttpResponse(document.content, content_type=f"{kind}; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="ips-{document.pk}.{document.source_format}"'
    return response


# The discharge summary form: each kind of line is a set of inputs repeated per row (name prefix + field),
# read back in order; a row left empty is ignored. Rows are added with htmx and removed by summary-rows.js.
ROWS = {
    "diagnoses": ("dx", ("system", "code", "text", "text_second")),
    "procedures": ("pr", ("system", "code", "text", "text_second", "date")),
    "medications": (
        "med",
        ("system", "code", "text", "dose", "unit", "route", "frequency", "period_unit", "duration_days", "dosage_text"),
    ),
    "follow_ups": ("fu", ("date", "text")),
    "allergies": ("al", ("text",)),
    "results": ("rs", ("text", "value")),
}
TEXTS = ("language", "plan_of_care", "plan_of_care_second", "follow_up", "follow_up_second")


def _posted_rows(post, prefix: str, fields: tuple[str, ...]) -> list[dict]:
    columns = {f: post.getlist(f"{prefix}_{f}") for f in fields}
    count = max((len(v) for v in columns.values()), default=0)
    return [{f: (columns[f][i] if i < len(columns[f]) else "") for f in fields} for i in range(count)]


def _field_label(field: str | None) -> str:
    """An error's field ("medications[0].dose") as the clinician reads it: “Discharge medications, line 1: dose”."""
    kinds = {
        "diagnoses": _("Diagnoses"),
        "procedures": _("Procedures done"),
        "medications": _("Discharge medications"),
        "follow_ups": _("Follow-up instructions"),
        "language": _("Language of the free text"),
    }
    parts = {
        "code": _("code"),
        "date": _("date"),
        "dose": _("dose"),
        "unit": _("unit"),
        "route": _("route"),
        "frequency": _("times per period"),
        "period_unit": _("period"),
        "duration_days": _("for how many days"),
        "text": _("text"),
        "system": _("code system"),
    }
    match = re.match(r"^(\w+)(?:\[(\d+)\])?(?:\.(\w+))?$", field or "")
    if not match or match[1] not in kinds:
        return field or ""
    label = str(kinds[match[1]])
    if match[2] is not None:
        label = _("%(kind)s, line %(n)s") % {"kind": label, "n": int(match[2]) + 1}
    return f"{label}: {parts.get(match[3], match[3])}" if match[3] else label


def _summary_form_context(case, rows: dict, texts: dict, error=None) -> dict:
    from laihua.records import discharge
    from laihua.records.models import TermTranslation

    terms = list(TermTranslation.objects.order_by("system", "code")[:2000])
    systems = [discharge.ICD10, discharge.SNOMED, discharge.ATC]
    systems += sorted({t.system for t in terms} - set(systems))
    return {
        "case": case,
        "rows": rows,
        "texts": texts,
        "error": error,
        "error_label": _field_label(error.field) if error else "",
        "icd10_terms": [t for t in terms if t.system == discharge.ICD10],
        "other_terms": [t for t in terms if t.system != discharge.ICD10],
        "systems": systems,
        "units": discharge.UNITS,
        "routes": discharge.ROUTES,
        "period_units": discharge.PERIOD_UNITS,
        "icd10": discharge.ICD10,
    }


@login_required
def episode_summary(request, reference: str):
    """The clinician writes the structured discharge summary (coded diagnoses and procedures, medications
    with their dosage, dated follow-up instructions, free text in one language with an optional second)."""
    case = get_case(request.user, reference, audit=None)
    services.require_case_staff(request.user, case, (Role.CLINICIAN,))
    summary = case.episode_summary if hasattr(case, "episode_summary") else None
    error = None
    if request.method == "POST":
        rows = {name: _posted_rows(request.POST, prefix, fields) for name, (prefix, fields) in ROWS.items()}
        texts = {name: request.POST.get(name, "") for name in TEXTS}
        try:
            services.save_episode_summary(request.user, case, {**rows, **texts}, complete="complete" in request.POST)
        except InvalidInput as exc:
            error = exc
        else:
            messages.success(request, _("The discharge summary was saved."))
            return redirect("records:case", case.reference)
    else:
        rows = {name: list(getattr(summary, name)) if summary else [] for name in ROWS}
        texts = {name: getattr(summary, name) if summary else "" for name in TEXTS}
        texts["language"] = texts["language"] or ("zh-hans" if request.LANGUAGE_CODE == "zh-hans" else "en")
        texts["unparsed"] = summary.unparsed if summary else ""
    for name in ("diagnoses", "medications", "follow_ups"):
        rows[name] = rows[name] or [{}]  # one empty line to start with
    return render(
        request,
        "records/episode_summary.html",
        _summary_form_context(case, rows, texts, error),
        status=error.status if error else 200,
    )


@login_required
@require_safe
def episode_summary_row(request, reference: str, kind: str):
    """One empty line of the discharge summary form (htmx adds it to its list)."""
    case = get_case(request.user, reference, audit=None)
    services.require_case_staff(request.user, case, (Role.CLINICIAN,))
    if kind not in ROWS:
        raise NotFound(_("No such list."))
    context = _summary_form_context(case, {}, {})
    return render(request, "records/_summary_row.html", {**context, "kind": kind, "row": {}})


@login_required
@require_POST
def consent_grant(request, reference: str):
    case = get_case(request.user, reference, audit=None)
    try:
        services.grant_consent(
            request.user,
            case,
            recipient_name=request.POST.get("recipient_name", ""),
            recipient_email=request.POST.get("recipient_email", ""),
            recipient_country=request.POST.get("recipient_country", ""),
            purpose=request.POST.get("purpose", ""),
            data_types=request.POST.getlist("data_types"),
            period_start=request.POST.get("period_start", ""),
            period_end=request.POST.get("period_end", ""),
        )
    except CORRECTABLE as error:
        return _again(request, case, error, consent_form=request.POST)
    messages.success(request, _("Your consent was recorded. You can withdraw it at any time."))
    return redirect("records:case", case.reference)


@login_required
@require_POST
def consent_paper(request, reference: str):
    """A coordinator or admin of the case's hospital records a consent the patient signed on paper, with its scan."""
    case = get_case(request.user, reference, audit=None)
    form = request.POST
    try:
        services.record_paper_consent(
            request.user,
            case,
            file=request.FILES.get("file"),
            recipient_name=form.get("recipient_name", ""),
            recipient_email=form.get("recipient_email", ""),
            recipient_country=form.get("recipient_country", ""),
            purpose=form.get("purpose", ""),
            data_types=form.getlist("data_types"),
            period_start=form.get("period_start", ""),
            period_end=form.get("period_end", ""),
        )
    except CORRECTABLE as error:
        return _again(request, case, error, paper_form=form)
    messages.success(request, _("The consent the patient signed is recorded with its scan."))
    return redirect("records:case", case.reference)


@login_required
@require_safe
def consent_paper_file(request, consent_id: int):
    """The scan of a consent signed on paper: its patient and its hospital's records staff (audited)."""
    return paper_response(services.paper_of_consent(request.user, consent_id))


@login_required
@require_POST
def consent_withdraw(request, consent_id: int):
    consent = services.get_consent(request.user, consent_id, audit=None)
    try:
        services.withdraw_consent(request.user, consent_id)
    except CORRECTABLE as error:
        return _again(request, consent.case, error)
    if consent.use == ConsentUse.PAYMENT:
        messages.success(
            request,
            _(
                "Your consent was withdrawn: nothing more will be sent to %(recipient)s. What it already received "
                "(a request already sent) stays with it."
            )
            % {"recipient": consent.recipient_name},
        )
        return redirect(reverse("records:case", args=[consent.case.reference]) + "#insurer-consent")
    messages.success(request, _("The consent was withdrawn: nothing more will be sent under it."))
    return redirect("records:case", consent.case.reference)


@login_required
@require_POST
def send(request, reference: str):
    case = get_case(request.user, reference, audit=None)
    try:
        transfer = services.send_records(
            request.user,
            case,
            recipient_email=request.POST.get("recipient_email", ""),
            data_types=request.POST.getlist("data_types") or None,
            language=request.POST.get("language", ""),
        )
    except CORRECTABLE as error:
        return _again(request, case, error, send_form=request.POST)
    messages.success(
        request,
        _("A link to the records was sent to %(email)s; it works until %(date)s.")
        % {"email": transfer.recipient_email, "date": formats.date_format(transfer.expires_at.date(), "DATE_FORMAT")},
    )
    return redirect(reverse("records:case", args=[case.reference]) + "#transfers")


@login_required
@require_POST
def transfer_revoke(request, transfer_id: int):
    transfer = services.revoke_transfer(request.user, transfer_id)
    messages.success(request, _("The link was revoked: it no longer opens the records."))
    return redirect(reverse("records:case", args=[transfer.case.reference]) + "#transfers")


@login_required
def terms(request):
    """The term list: the platform's, and the actor's hospital's overrides on top of it."""
    actor = request.user
    error = None
    if request.method == "POST":
        try:
            if request.POST.get("delete"):
                services.delete_term(actor, int(request.POST["delete"]))
                messages.success(request, _("The translation was removed."))
            else:
                services.save_term(
                    actor,
                    system=request.POST.get("system", ""),
                    code=request.POST.get("code", ""),
                    en=request.POST.get("en", ""),
                    zh_hans=request.POST.get("zh_hans", ""),
                    scope=request.POST.get("scope") or None,
                )
                messages.success(request, _("The translation was saved."))
        except (InvalidInput, NotFound, PermissionDenied, ValueError) as exc:
            error = exc if isinstance(exc, DomainError) else InvalidInput(_("Unknown term."))
        else:
            back = request.POST.get("next", "")
            if back.startswith("/") and not back.startswith("//"):
                return redirect(back)
            return redirect("records:terms")
    query = request.GET.get("q", "").strip()[:100]
    rows = list(services.terms(actor, query=query)[:300])
    untranslated = []
    case_ref = request.GET.get("case", "")
    if case_ref:
        untranslated = services.untranslated_codes(actor, get_case(actor, case_ref, audit=None))
    prefill = request.POST if error else {k: request.GET.get(k, "") for k in ("system", "code", "en", "zh_hans")}
    return render(
        request,
        "records/terms.html",
        {
            "terms": rows,
            "q": query,
            "error": error,
            "prefill": prefill,
            "untranslated": untranslated,
            "case_ref": case_ref,
            "may_edit_platform": services.may_edit(actor, "platform"),
            "may_edit_hospital": services.may_edit(actor, "hospital"),
        },
        status=error.status if error else 200,
    )
