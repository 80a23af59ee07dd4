"""The recipient's pages of records shared by link: no sign-in; the token in the address names one transfer,
and a browser opens it only after entering a one-time code e-mailed to the recipient's address
(laihua.records.services.transfers). The verified browser holds a signed, HttpOnly, Secure, SameSite=Lax
cookie scoped to the transfer's path; the server keeps what it stands for, so that a revoked or expired link
closes it at once.

A browser that has not verified itself sees only the masked recipient address and the code form (the page,
200; a download, 403); a link that no longer opens answers its 410 page; an unknown token is 404."""

import io
import json
from urllib.parse import urlencode

from django.http import FileResponse, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.views.decorators.http import require_POST, require_safe

from laihua.kit import clock, fhirxml
from laihua.records import services
from laihua.records.models import PdfStatus
from laihua.records.services.transfers import CODE_MINUTES, LANGUAGES

COOKIE = "laihua_transfer"
COOKIE_SALT = "laihua.records.transfer_opening"


def _reader_language(request, transfer) -> str:
    """The page's language: one asked for (?lang=), the transfer's recipient language, or the browser's."""
    asked = request.GET.get("lang", "")
    if asked in LANGUAGES:
        return asked
    if transfer is not None and transfer.language:
        return transfer.language
    browser = translation.get_language_from_request(request)
    return "zh-hans" if browser.startswith("zh") else "en"


def _private(response, referrer: str = "no-referrer"):
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = referrer
    response["X-Robots-Tag"] = "noindex"
    return response


def _gone_page(request, gone):
    language = _reader_language(request, None)
    with translation.override(language):
        response = render(
            request,
            "records/transfer_gone.html",
            {"reason": gone.reason, "reader_language": language},
            status=410,
        )
    return _private(response)


def _opening_key(request) -> str | None:
    return request.get_signed_cookie(COOKIE, default=None, salt=COOKIE_SALT)


def _lang_query(request) -> str:
    asked = request.GET.get("lang", "")
    return "?" + urlencode({"lang": asked}) if asked in LANGUAGES else ""


def _ask(request, token: str, transfer, *, error=None, status: int = 200):
    """The page of a browser not verified: who the records were shared with (masked), the code form when a
    code is waiting, and the button that sends one. Its forms post to this site, so it keeps the referrer
    on this site (the Origin of a form's POST is what the CSRF check reads)."""
    language = _reader_language(request, transfer)
    code = services.live_code(transfer)
    minutes_left = 0
    if code is not None:
        minutes_left = max(1, -int(-(code.expires_at - clock.now()).total_seconds() // 60))
    with translation.override(language):
        response = render(
            request,
            "records/transfer_verify.html",
            {
                "transfer": transfer,
                "token": token,
                "masked": services.mask_email(transfer.recipient_email),
                "code": code,
                "minutes_left": minutes_left,
                "code_minutes": CODE_MINUTES,
                "error": error,
                "reader_language": language,
                "lang_query": _lang_query(request),
            },
            status=status,
        )
    return _private(response, referrer="same-origin")


def _open(request, token: str, what: str):
    """The transfer this browser may open, or the response that refuses it (410 page for a link that no
    longer opens; the code page for a browser not verified, 403 for a download; 404 for an unknown token)."""
    try:
        return services.open_transfer(token, what=what, key=_opening_key(request)), None
    except services.LinkGone as gone:
        return None, _gone_page(request, gone)
    except services.NotVerified as refused:
        return None, _ask(request, token, refused.transfer, status=200 if what == "page" else 403)


@require_POST
def transfer_code(request, token: str):
    """Send a one-time code to the transfer's recipient address, then back to the page that asks for it."""
    browser = "zh-hans" if translation.get_language_from_request(request).startswith("zh") else "en"
    asked = request.GET.get("lang", "")
    try:
        services.send_code(token, language=asked if asked in LANGUAGES else "", fallback=browser)
    except services.LinkGone as gone:
        return _gone_page(request, gone)
    except services.CodeRefused as refused:
        return _ask(request, token, refused.transfer, error=refused, status=refused.status)
    return _private(redirect(reverse("transfer_page", args=[token]) + _lang_query(request)))


@require_POST
def transfer_verify(request, token: str):
    """Check the code entered; the right one opens the transfer in this browser (its cookie) until the link's
    expiry."""
    try:
        transfer, key = services.verify_code(token, request.POST.get("code", ""))
    except services.LinkGone as gone:
        return _gone_page(request, gone)
    except services.CodeRefused as refused:
        return _ask(request, token, refused.transfer, error=refused, status=refused.status)
    path = reverse("transfer_page", args=[token])
    response = redirect(path + _lang_query(request))
    response.set_signed_cookie(
        COOKIE,
        key,
        salt=COOKIE_SALT,
        expires=transfer.expires_at,
        path=path,
        secure=True,
        httponly=True,
        samesite="Lax",
    )
    return _private(response)


@require_safe
def transfer_page(request, token: str):
    transfer, refused = _open(request, token, "page")
    if refused:
        return refused
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


# The IPS of a transfer as a download: (serialiser, content type, file extension) per format.
BUNDLE_FORMATS = {
    "json": (lambda bundle: json.dumps(bundle, ensure_ascii=False, indent=2), "application/fhir+json", "json"),
    "xml": (fhirxml.to_xml, "application/fhir+xml; charset=utf-8", "xml"),
}


def _bundle_download(request, token: str, what: str):
    transfer, refused = _open(request, token, what)
    if refused:
        return refused
    serialise, content_type, extension = BUNDLE_FORMATS[what]
    response = HttpResponse(serialise(services.transfer_bundle(transfer)), content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="ips-{transfer.case.reference}.{extension}"'
    return _private(response)


@require_safe
def transfer_json(request, token: str):
    return _bundle_download(request, token, "json")


@require_safe
def transfer_xml(request, token: str):
    return _bundle_download(request, token, "xml")


@require_safe
def transfer_pdf(request, token: str):
    transfer, refused = _open(request, token, "pdf")
    if refused:
        return refused
    language = _reader_language(request, transfer)
    answer = services.request_transfer_pdf(transfer, language)
    if answer.content is not None:
        content = io.BytesIO(answer.content)
    elif answer.prepared.status == PdfStatus.READY:
        content = services.transfer_pdf_file(transfer, answer.prepared)
    else:  # a long record being prepared: the page asks again by itself (each opening is audited)
        with translation.override(language):
            page = render(
                request,
                "records/transfer_pdf_pending.html",
                {"transfer": transfer, "prepared": answer.prepared, "reader_language": language},
                status=202,
            )
        return _private(page)
    response = FileResponse(
        content, as_attachment=True, filename=f"summary-{transfer.case.reference}.pdf", content_type="application/pdf"
    )
    return _private(response)
