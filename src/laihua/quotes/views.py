"""Pages: the coordinator's quote builder (htmx where it helps), the quote as the patient and staff see
it with Accept / Decline, the list of quotes, and the PDF. Each calls the same service as the API.

A refusal of access escapes as a DomainError that kit.weberrors renders as a page; a refused change on the
builder or the quote page shows the page again with the message beside what was asked."""

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from laihua.accounts.models import Role
from laihua.cases.services import get_case
from laihua.cases.states import State
from laihua.errors import Conflict, DomainError, InvalidInput, RateUnavailable
from laihua.kit import clock
from laihua.kit.i18n import language_codes
from laihua.kit.weberrors import is_partial_request
from laihua.quotes import services
from laihua.quotes.models import Quote, Status
from laihua.quotes.pdf import quote_pdf

# Refusals the user can correct on the page, shown beside the form; others (access) become an error page.
CORRECTABLE = (InvalidInput, Conflict, RateUnavailable)

LINE_FIELDS = ("item", "quantity", "unit_price", "discount_percent", "discount_amount", "discount_reason", "code")


def _quote(request, number: str, *, audit: str | None = "quote.view") -> Quote:
    return services.get_quote(request.user, number=number, audit=audit)


def _texts_from(post, name: str) -> dict | None:
    """{"en": ..., "zh-hans": ...} from the inputs <name>_en, <name>_zh-hans, when the form has them."""
    keys = [f"{name}_{code}" for code in language_codes()]
    if not any(key in post for key in keys):
        return None
    return {code: post.get(f"{name}_{code}", "") for code in language_codes()}


def line_data(post) -> dict:
    """A line's fields as the builder's forms post them (only those present)."""
    data = {name: post[name] for name in LINE_FIELDS if name in post}
    for name in ("description", "excluded"):
        texts = _texts_from(post, name)
        if texts is not None:
            data[name] = texts
    return data


def terms_data(post) -> dict:
    data = {name: post[name] for name in ("valid_until", "deposit", "currency") if name in post}
    for name in ("notes", "exclusions"):
        texts = _texts_from(post, name)
        if texts is not None:
            data[name] = texts
    return data


# --- lists ----------------------------------------------------------------------------------------


@login_required
@require_safe
def quote_list(request):
    status = request.GET.get("status") or None
    quotes = list(services.list_quotes(request.user, status=status)[:200])
    return render(
        request,
        "quotes/list.html",
        {
            "quotes": quotes,
            "status": status,
            "statuses": Status.choices,
            "is_patient": request.user.role == Role.PATIENT,
        },
    )


# --- the builder ----------------------------------------------------------------------------------


def _builder_context(
    request, quote: Quote, *, error: DomainError | None = None, q: str = "", partial: bool = False
) -> dict:
    lines = list(quote.lines.all())
    context = {
        "quote": quote,
        "case": quote.case,
        "patient": quote.case.patient,
        "lines": lines,
        "figures": services.figures(quote, lines),
        "requested": services.requested_services(quote),
        "history": [other for other in services.quotes_of_case(request.user, quote.case) if other.pk != quote.pk],
        "error": error,
        "q": q,
        "results": services.catalog_choices(request.user, quote, q) if q else None,
        "today": clock.today(),
        "text_languages": settings.LANGUAGES,
        "partial": partial,
    }
    return context


def _render_builder(request, quote: Quote, *, error: DomainError | None = None, status: int = 200):
    context = _builder_context(request, quote, error=error, q=request.GET.get("q", "").strip()[:100])
    return render(request, "quotes/builder.html", context, status=status)


def _after_change(request, quote: Quote, error: DomainError | None = None):
    """htmx: the lines and totals again (with the error, if any); otherwise the page, or back to it."""
    quote = services.get_quote(request.user, pk=quote.pk, audit=None)
    if is_partial_request(request):
        context = _builder_context(request, quote, error=error, partial=True)
        response = render(request, "quotes/_builder_lines.html", context)
        if error is None:
            response["X-Quote-Changed"] = "1"  # the manual-line form clears itself only then
        return response
    if error is not None:
        return _render_builder(request, quote, error=error, status=error.status)
    return redirect("quotes:detail", quote.number)


@login_required
@require_POST
def quote_new(request, reference: str):
    """Start a draft for the case (or go on with the one already open)."""
    case = get_case(request.user, reference, audit=None)
    draft = case.quotes.filter(status=Status.DRAFT).first()
    if draft is not None and services.may_build(request.user, case):
        return redirect("quotes:detail", draft.number)
    quote = services.create_draft(request.user, case)
    messages.success(request, _("Draft %(number)s is open. Add the services, then send it.") % {"number": quote})
    return redirect("quotes:detail", quote.number)


@login_required
@require_POST
def terms(request, number: str):
    quote = _quote(request, number, audit=None)
    try:
        services.update_terms(request.user, quote, terms_data(request.POST))
    except CORRECTABLE as exc:
        return _after_change(request, quote, exc)
    if not is_partial_request(request):
        messages.success(request, _("The terms are saved."))
    return _after_change(request, quote)


@login_required
@require_POST
def line_add(request, number: str):
    quote = _quote(request, number, audit=None)
    try:
        services.add_line(request.user, quote, line_data(request.POST))
    except CORRECTABLE as exc:
        return _after_change(request, quote, exc)
    return _after_change(request, quote)


@login_required
@require_POST
def line_edit(request, number: str, line_id: int):
    quote = _quote(request, number, audit=None)
    try:
        services.update_line(request.user, quote, line_id, line_data(request.POST))
    except CORRECTABLE as exc:
        return _after_change(request, quote, exc)
    return _after_change(request, quote)


@login_required
@require_POST
def line_remove(request, number: str, line_id: int):
    quote = _quote(request, number, audit=None)
    try:
        services.remove_line(request.user, quote, line_id)
    except CORRECTABLE as exc:
        return _after_change(request, quote, exc)
    return _after_change(request, quote)


@login_required
@require_safe
def catalog_search(request, number: str):
    """The hospital's services matching the words typed, to add to the draft (an htmx fragment)."""
    quote = _quote(request, number, audit=None)
    q = request.GET.get("q", "").strip()[:100]
    if not is_partial_request(request):
        return redirect(reverse("quotes:detail", args=[quote.number]) + "?" + urlencode({"q": q}) + "#catalog")
    results = services.catalog_choices(request.user, quote, q)
    return render(request, "quotes/_catalog_results.html", {"quote": quote, "results": results, "q": q})


@login_required
@require_POST
def send(request, number: str):
    quote = _quote(request, number, audit=None)
    try:
        quote = services.send_quote(request.user, quote)
    except CORRECTABLE as exc:
        quote = services.get_quote(request.user, pk=quote.pk, audit=None)
        return _render_builder(request, quote, error=exc, status=exc.status)
    messages.success(request, _("Quote %(number)s is sent: the patient is told by e-mail.") % {"number": quote})
    return redirect("quotes:detail", quote.number)


@login_required
@require_POST
def discard(request, number: str):
    quote = _quote(request, number, audit=None)
    reference = quote.case.reference
    services.discard_draft(request.user, quote)
    messages.success(request, _("The draft is discarded."))
    return redirect("cases:detail", reference)


# --- the quote page -------------------------------------------------------------------------------


def _quote_context(request, quote: Quote, *, error: DomainError | None = None) -> dict:
    lines = list(quote.lines.all())
    today = clock.today()
    user = request.user
    is_own_patient = user.role == Role.PATIENT and quote.case.patient.user_id == user.pk
    open_for_answer = quote.status == Status.SENT and quote.case.state == State.QUOTED
    return {
        "quote": quote,
        "case": quote.case,
        "patient": quote.case.patient,
        "lines": lines,
        "figures": services.figures(quote, lines),
        "history": services.quotes_of_case(user, quote.case),
        "is_patient": user.role == Role.PATIENT,
        "may_answer": is_own_patient and open_for_answer and quote.valid_until >= today,
        "past_validity": quote.status == Status.SENT and quote.valid_until is not None and quote.valid_until < today,
        "may_revise": services.may_build(user, quote.case)
        and quote.case.state in services.QUOTABLE_STATES
        and not quote.case.quotes.filter(status=Status.DRAFT).exists(),
        "error": error,
        "today": today,
    }


def _render_quote(request, quote: Quote, *, error: DomainError | None = None, status: int = 200):
    return render(request, "quotes/detail.html", _quote_context(request, quote, error=error), status=status)


@login_required
@require_safe
def quote_detail(request, number: str):
    quote = _quote(request, number)
    if quote.is_draft and services.may_build(request.user, quote.case):
        return _render_builder(request, quote)
    return _render_quote(request, quote)


def _answer(request, number: str, answer):
    quote = _quote(request, number, audit=None)
    try:
        answer(quote)
    except CORRECTABLE as exc:
        quote = services.get_quote(request.user, pk=quote.pk, audit=None)
        return _render_quote(request, quote, error=exc, status=exc.status)
    return redirect("quotes:detail", quote.number)


@login_required
@require_POST
def accept(request, number: str):
    def answer(quote):
        services.accept_quote(request.user, quote, user_agent=request.META.get("HTTP_USER_AGENT", ""))
        messages.success(request, _("You accepted the quote. The hospital will confirm the dates with you."))

    return _answer(request, number, answer)


@login_required
@require_POST
def decline(request, number: str):
    def answer(quote):
        services.decline_quote(request.user, quote, request.POST.get("reason", ""))
        messages.success(request, _("You declined the quote. The hospital may send you a new one."))

    return _answer(request, number, answer)


@login_required
@require_safe
def pdf(request, number: str):
    quote = _quote(request, number, audit="quote.pdf")
    response = HttpResponse(quote_pdf(quote), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{quote.number}.pdf"'
    return response
