"""Pages: the case's records (imported summaries with translations, import, export, consents, sending),
the clinician's episode summary, and the shared term list. Each calls the same service as the API.

A refusal of access escapes as a DomainError that kit.weberrors renders as a page; a refused change is
shown on the page again with its message (a refused IPS with every issue and its location)."""

import io
import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST, require_safe

from laihua.accounts.models import Role
from laihua.accounts.services import require_role
from laihua.cases.services import get_case, visible_cases
from laihua.errors import Conflict, DomainError, InvalidInput, NotFound
from laihua.kit import clock, fhirxml
from laihua.records import identity, ips, narrative, services
from laihua.records.models import ConsentUse, DataType

CORRECTABLE = (InvalidInput, Conflict, services.ConsentRequired, services.MatchByHandRefused)


def _context(request, case, **extra) -> dict:
    actor = request.user
    records = services.case_records(actor, case)
    is_patient = actor.role == Role.PATIENT
    return {
        "case": case,
        "patient": case.patient,
        "records": records,
        "is_patient": is_patient,
        "is_clinician": actor.role == Role.CLINICIAN,
        "may_send": actor.role in services.SENDERS,
        "may_edit_terms": actor.role in services.TERM_EDITORS,
        "attachments": services.importable_attachments(actor, case),
        "consents": services.consents_of_case(actor, case),
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
    return render(request, "records/case.html", _context(request, case))


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
    bundle = services.export_case(request.user, case)
    response = HttpResponse(json.dumps(bundle, ensure_ascii=False, indent=2), content_type="application/fhir+json")
    response["Content-Disposition"] = f'attachment; filename="ips-{case.reference}.json"'
    return response


@login_required
@require_safe
def export_xml(request, reference: str):
    case = get_case(request.user, reference, audit=None)
    bundle = services.export_case(request.user, case)
    response = HttpResponse(fhirxml.to_xml(bundle), content_type="application/fhir+xml; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="ips-{case.reference}.xml"'
    return response


@login_required
@require_safe
def export_pdf(request, reference: str):
    case = get_case(request.user, reference, audit=None)
    response = HttpResponse(services.summary_pdf(request.user, case), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="summary-{case.reference}.pdf"'
    return response


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


FIELDS = {
    "diagnoses": ("code", "text"),
    "procedures": ("text", "date"),
    "medications": ("text", "dosage"),
    "allergies": ("text",),
    "results": ("text", "value"),
}


def _lines(rows, fields) -> str:
    return "\n".join(" | ".join(row.get(f, "") for f in fields).rstrip(" |") for row in rows)


@login_required
def episode_summary(request, reference: str):
    """The clinician writes the discharge summary: one line per entry, parts separated by “|”."""
    case = get_case(request.user, reference, audit=None)
    services.require_case_staff(request.user, case, (Role.CLINICIAN,))
    summary = case.episode_summary if hasattr(case, "episode_summary") else None
    error = None
    if request.method == "POST":
        data = {name: services.parse_lines(request.POST.get(name, ""), fields) for name, fields in FIELDS.items()}
        data["plan_of_care"] = request.POST.get("plan_of_care", "")
        data["follow_up"] = request.POST.get("follow_up", "")
        try:
            services.save_episode_summary(request.user, case, data, complete="complete" in request.POST)
        except InvalidInput as exc:
            error = exc
        else:
            messages.success(request, _("The discharge summary was saved."))
            return redirect("records:case", case.reference)
        texts = {name: request.POST.get(name, "") for name in (*FIELDS, "plan_of_care", "follow_up")}
    else:
        texts = {name: _lines(getattr(summary, name), fields) if summary else "" for name, fields in FIELDS.items()}
        texts["plan_of_care"] = summary.plan_of_care if summary else ""
        texts["follow_up"] = summary.follow_up if summary else ""
    return render(
        request,
        "records/episode_summary.html",
        {"case": case, "summary": summary, "texts": texts, "error": error},
        status=error.status if error else 200,
    )


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


# The recipient's page: no login; the token in the address is the key, one transfer per token.


def _reader_language(request, transfer) -> str:
    """The page's language: one asked for (?lang=), the transfer's recipient language, or the browser's."""
    asked = request.GET.get("lang", "")
    if asked in services.transfers.LANGUAGES:
        return asked
    if transfer is not None and transfer.language:
        return transfer.language
    browser = translation.get_language_from_request(request)
    return "zh-hans" if browser.startswith("zh") else "en"


def _open(request, token: str, what: str):
    """The transfer the token opens, or the response that refuses it (410 page; 404 for an unknown token)."""
    try:
        return services.open_transfer(token, what=what), None
    except services.LinkGone as gone:
        language = _reader_language(request, None)
        with translation.override(language):
            response = render(
                request,
                "records/transfer_gone.html",
                {"reason": gone.reason, "reader_language": language},
                status=410,
            )
        return None, response


def _private(response):
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex"
    return response


@require_safe
def transfer_page(request, token: str):
    transfer, refused = _open(request, token, "page")
    if refused:
        return _private(refused)
    language = _reader_language(request, transfer)
    with translation.override(language):
        context = services.transfer_page_context(transfer)
        context.update(
            token=token,
            reader_language=language,
            expires=timezone.localdate(transfer.expires_at),
            hospital=transfer.case.hospital,
        )
        return _private(render(request, "records/transfer.html", context))


@require_safe
def transfer_json(request, token: str):
    transfer, refused = _open(request, token, "json")
    if refused:
        return _private(refused)
    bundle = services.transfer_bundle(transfer)
    response = HttpResponse(json.dumps(bundle, ensure_ascii=False, indent=2), content_type="application/fhir+json")
    response["Content-Disposition"] = f'attachment; filename="ips-{transfer.case.reference}.json"'
    return _private(response)


@require_safe
def transfer_xml(request, token: str):
    transfer, refused = _open(request, token, "xml")
    if refused:
        return _private(refused)
    bundle = services.transfer_bundle(transfer)
    response = HttpResponse(fhirxml.to_xml(bundle), content_type="application/fhir+xml; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="ips-{transfer.case.reference}.xml"'
    return _private(response)


@require_safe
def transfer_pdf(request, token: str):
    transfer, refused = _open(request, token, "pdf")
    if refused:
        return _private(refused)
    pdf = services.transfer_pdf(transfer, _reader_language(request, transfer))
    response = FileResponse(
        io.BytesIO(pdf),
        as_attachment=True,
        filename=f"summary-{transfer.case.reference}.pdf",
        content_type="application/pdf",
    )
    return _private(response)


@login_required
def terms(request):
    """The shared term list: a code's display in English and Chinese, made once for every record."""
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
                )
                messages.success(request, _("The translation was saved."))
        except (InvalidInput, NotFound, ValueError) as exc:
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
        },
        status=error.status if error else 200,
    )
