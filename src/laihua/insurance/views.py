"""Pages: the insurer portal (an agent's members' GOP requests, each with its answer form), the
hospital's contracts with insurers, the insurers list for the platform admin, and the case-side forms
(coverage, sending a GOP request, answering a request for more information, withdrawing). Each calls
insurance.services; refusals escape as DomainErrors rendered by kit.weberrors, input errors come back to
the page as messages."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from laihua.accounts.models import Role
from laihua.accounts.permissions import STAFF_ROLES, require_role
from laihua.cases.services import get_case
from laihua.catalog.models import Kind
from laihua.errors import Conflict, DomainError, InvalidInput, PermissionDenied
from laihua.insurance import services
from laihua.insurance.models import GuaranteeStatus

STATUS_FILTERS = ("open", *GuaranteeStatus.values)
LINE_KEYS = ("decision", "amount", "reason")


def _error(request, exc: DomainError) -> None:
    messages.error(request, str(exc.message))


def _case_page(reference: str) -> str:
    return reverse("cases:detail", args=[reference]) + "#insurance"


@login_required
def portal(request):
    """Insurer agents: their members' GOP requests, open ones first by deadline."""
    require_role(request.user, (Role.INSURER_AGENT,))
    insurer = services.insurer_of(request.user)
    if insurer is None:
        raise PermissionDenied(_("Your account is not linked to an insurer yet: ask the platform administrator."))
    status = request.GET.get("status", "open")
    if status not in STATUS_FILTERS and status != "all":
        status = "open"
    gops = services.list_guarantees(request.user, status=None if status == "all" else status)
    if status == "open":
        gops = gops.order_by("deadline_at")
    context = {
        "insurer": insurer,
        "gops": list(gops[:200]),
        "status": status,
        "statuses": [("open", _("Waiting for an answer"))] + list(GuaranteeStatus.choices) + [("all", _("All"))],
    }
    return render(request, "insurance/portal.html", context)


@login_required
def gop_detail(request, number: str):
    """One GOP request: what the hospital asks, the itemised estimate, the answer (form for the insurer)."""
    gop = services.get_guarantee(request.user, number)
    may_answer = request.user.role == Role.INSURER_AGENT and gop.is_open
    context = {
        "gop": gop,
        "lines": list(gop.lines.all()),
        "may_answer": may_answer,
        "overdue": services.is_overdue(gop),
        "answers": [(s, GuaranteeStatus(s).label) for s in services.ANSWERS],
        "staff": request.user.role in STAFF_ROLES,
    }
    return render(request, "insurance/gop_detail.html", context)


@login_required
@require_POST
def gop_answer(request, number: str):
    gop = services.get_guarantee(request.user, number, audit=None)
    data = {
        key: request.POST.get(key, "")
        for key in ("status", "reference", "amount", "currency", "valid_from", "valid_until", "disposition")
    }
    approved = request.POST.getlist("approved_lines")
    if approved:
        data["approved_lines"] = approved
    data["lines"] = [
        {"sequence": line.sequence, **{key: request.POST.get(f"line-{line.sequence}-{key}", "") for key in LINE_KEYS}}
        for line in gop.lines.all()
    ]
    try:
        services.answer_guarantee_request(request.user, gop, data)
    except InvalidInput as exc:
        _error(request, exc)
    else:
        messages.success(request, _("Your answer is recorded and the hospital is told."))
        return redirect("insurance:portal")
    return redirect("insurance:detail", number=number)


@login_required
@require_POST
def coverage_save(request, reference: str):
    case = get_case(request.user, reference, audit=None)
    data = {
        key: request.POST.get(key, "")
        for key in ("insurer", "member_id", "policy_number", "plan", "valid_from", "valid_until")
    }
    try:
        coverage = services.record_coverage(request.user, case, data)
    except InvalidInput as exc:
        _error(request, exc)
    else:
        problems = services.coverage_problems(coverage)
        if problems:
            for problem in problems:
                messages.warning(request, problem)
        else:
            messages.success(request, _("The coverage is recorded and matches the contract."))
    return redirect(_case_page(reference))


@login_required
@require_POST
def gop_send(request, reference: str):
    case = get_case(request.user, reference, audit=None)
    data = {
        key: request.POST.get(key, "")
        for key in (
            "diagnosis_code",
            "diagnosis_text",
            "treating_doctor",
            "planned_start",
            "planned_end",
            "clinical_notes",
        )
    }
    try:
        gop = services.send_guarantee_request(request.user, case, data)
    except (InvalidInput, services.CoverageProblem, services.ConsentMissing) as exc:
        _error(request, exc)
    else:
        messages.success(
            request, _("%(gop)s is sent to %(insurer)s.") % {"gop": gop.number, "insurer": gop.insurer.name}
        )
    return redirect(_case_page(reference))


@login_required
@require_POST
def gop_resubmit(request, number: str):
    gop = services.get_guarantee(request.user, number, audit=None)
    try:
        services.resubmit_guarantee_request(
            request.user, gop, {"clinical_notes": request.POST.get("clinical_notes", "")}
        )
    except (InvalidInput, services.ConsentMissing) as exc:
        _error(request, exc)
    else:
        messages.success(request, _("%(gop)s is sent again.") % {"gop": gop.number})
    return redirect(_case_page(gop.case.reference))


@login_required
@require_POST
def gop_cancel(request, number: str):
    gop = services.get_guarantee(request.user, number, audit=None)
    services.cancel_guarantee_request(request.user, gop, request.POST.get("reason", ""))
    messages.success(request, _("%(gop)s is withdrawn.") % {"gop": gop.number})
    return redirect(_case_page(gop.case.reference))


@login_required
@require_POST
def consent_grant(request, reference: str):
    """The patient consents to sending their health data to their insurer (from their records page)."""
    case = get_case(request.user, reference, audit=None)
    try:
        consent = services.grant_gop_consent(request.user, case, period_end=request.POST.get("period_end") or None)
    except (InvalidInput, Conflict) as exc:
        _error(request, exc)
    else:
        messages.success(
            request,
            _(
                "Thank you: your consent is recorded. The hospital may now send %(insurer)s what is listed, until "
                "%(date)s. You can withdraw it here at any time."
            )
            % {"insurer": consent.recipient_name, "date": consent.period_end.isoformat()},
        )
    return redirect(reverse("records:case", args=[case.reference]) + "#insurer-consent")


@login_required
@require_POST
def consent_paper(request, reference: str):
    """A coordinator or admin of the case's hospital records the consent the patient signed on paper, with its scan."""
    case = get_case(request.user, reference, audit=None)
    try:
        consent = services.record_paper_gop_consent(
            request.user, case, file=request.FILES.get("file"), period_end=request.POST.get("period_end") or None
        )
    except (InvalidInput, Conflict) as exc:
        _error(request, exc)
    else:
        messages.success(
            request,
            _("The consent the patient signed is recorded with its scan: %(insurer)s may be sent what is listed.")
            % {"insurer": consent.recipient_name},
        )
    return redirect(reverse("records:case", args=[case.reference]) + "#insurer-consent")


@login_required
@require_POST
def consent_ask(request, reference: str):
    """The hospital's desk asks the patient for the consent (a message on the case with the link)."""
    case = get_case(request.user, reference, audit=None)
    try:
        services.ask_for_consent(request.user, case)
    except Conflict as exc:
        _error(request, exc)
    else:
        messages.success(request, _("The patient is asked for consent: a message on the case, with the link."))
    return redirect(_case_page(reference))


@login_required
def contracts(request):
    """The hospital's contracts with insurers (docs/roles.md says who reads them); the hospital admin edits them."""
    user = request.user
    context = {
        "contracts": list(services.list_contracts(user)),
        "can_edit": user.role == Role.HOSPITAL_ADMIN,
        "insurers": list(services.visible_insurers(user)),
        "kinds": Kind.choices,
    }
    return render(request, "insurance/contracts.html", context)


@login_required
@require_POST
def contract_save(request):
    user = request.user
    if not user.hospital_id:
        raise PermissionDenied()
    data = {
        key: request.POST.get(key, "")
        for key in (
            "insurer",
            "preauth_threshold_cny",
            "copay_percent",
            "excess_cny",
            "answer_hours",
            "currency",
            "valid_from",
            "valid_until",
            "notes",
        )
    }
    data["preauth_kinds"] = request.POST.getlist("preauth_kinds")
    data["covered_kinds"] = request.POST.getlist("covered_kinds")
    data["direct_billing"] = bool(request.POST.get("direct_billing"))
    data["active"] = bool(request.POST.get("active"))
    try:
        contract = services.save_contract(user, user.hospital, data)
    except InvalidInput as exc:
        _error(request, exc)
    else:
        messages.success(request, _("The contract with %(insurer)s is saved.") % {"insurer": contract.insurer.name})
    return redirect("insurance:contracts")


@login_required
def insurers(request):
    """The platform admin: insurers, their agents and contracts (edited in the admin site)."""
    require_role(request.user, (Role.PLATFORM_ADMIN,))
    listed = services.visible_insurers(request.user).prefetch_related("agents__user", "contracts__hospital")
    return render(request, "insurance/insurers.html", {"insurers": list(listed)})
