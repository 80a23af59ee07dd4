"""Pages: the inquiry form, the patient's cases and the coordinator board, the case page with its
thread, and file downloads. Each calls the same service as the API; refusals escape as DomainErrors
that kit.weberrors renders as a page (a case of someone else is simply not found)."""

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from laihua.accounts.models import Role
from laihua.cases import services, uploads
from laihua.cases.forms import BoardFilterForm, InquiryForm
from laihua.cases.models import Case
from laihua.cases.states import DESK, FOR_PATIENT, MAIN_PATH, TERMINAL, State
from laihua.errors import InvalidInput, PermissionDenied
from laihua.hospitals.models import Hospital
from laihua.kit import clock
from laihua.kit.i18n import pick
from laihua.kit.weberrors import is_partial_request


def _with_next(url_name: str, next_url: str) -> str:
    return f"{reverse(url_name)}?{urlencode({'next': next_url})}"


# --- the inquiry ----------------------------------------------------------------------------------


def _initial(request) -> dict:
    """?item=<catalog item id> preselects a service (and its hospital); ?hospital=<slug> a hospital."""
    initial = {}
    item_id, slug = request.GET.get("item", ""), request.GET.get("hospital", "")
    if item_id.isdigit():
        item = InquiryForm().fields["services"].queryset.filter(pk=int(item_id)).first()
        if item is not None:
            initial["services"] = [item.pk]
            initial["hospitals"] = [item.hospital.slug]
    if slug and Hospital.objects.filter(slug=slug).exists():
        initial["hospitals"] = [*initial.get("hospitals", []), slug]
    return initial


def _service_groups(form: InquiryForm, chosen: list[str]) -> list[dict]:
    """The services offered, by hospital and then department, named in the active language."""
    hospitals: dict[int, dict] = {}
    items = form.fields["services"].queryset.select_related("department").order_by("hospital__slug")
    for item in items:
        group = hospitals.setdefault(item.hospital_id, {"hospital": item.hospital, "departments": {}, "open": False})
        department = pick(item.department.name) if item.department_id else _("Other services")
        group["departments"].setdefault(department, []).append(item)
        group["open"] = group["open"] or str(item.pk) in chosen
    for group in hospitals.values():
        group["departments"] = [
            (name, sorted(entries, key=lambda entry: pick(entry.name)))
            for name, entries in sorted(group["departments"].items())
        ]
    return sorted(hospitals.values(), key=lambda group: pick(group["hospital"].name))


def _render_inquiry(request, form: InquiryForm, status: int = 200):
    chosen = [str(value) for value in (form["services"].value() or [])]
    hospitals = [str(value) for value in (form["hospitals"].value() or [])]
    context = {
        "form": form,
        "groups": _service_groups(form, chosen),
        "chosen_services": chosen,
        "chosen_hospitals": hospitals,
        "all_hospitals": Hospital.objects.select_related("city").order_by("slug"),
        "today": clock.today(),
    }
    return render(request, "cases/inquiry.html", context, status=status)


def inquiry_new(request):
    if not request.user.is_authenticated:
        return redirect(_with_next("patients:register", request.get_full_path()))
    if request.user.role != Role.PATIENT:
        raise PermissionDenied(_("Inquiries are sent by patients from their own account."))
    from laihua.patients.services import patient_for_user

    if patient_for_user(request.user) is None:
        messages.info(request, _("Complete your profile first: the hospital needs it to answer you."))
        return redirect("patients:profile_edit")
    if request.method != "POST":
        return _render_inquiry(request, InquiryForm(initial=_initial(request)))
    try:
        cases = services.open_inquiry(request.user, request.POST, request.FILES.getlist("files"))
    except services.FormInvalid as exc:
        return _render_inquiry(request, exc.form, status=422)
    except InvalidInput as exc:  # a file refused by its content: nothing was saved
        form = InquiryForm(request.POST)
        form.is_valid()
        form.add_error("files", str(exc.message))
        return _render_inquiry(request, form, status=422)
    if len(cases) == 1:
        messages.success(
            request, _("Your inquiry %(reference)s is sent. The hospital will answer here.") % {"reference": cases[0]}
        )
        return redirect("cases:detail", cases[0].reference)
    messages.success(
        request, _("Your inquiry is sent to %(count)d hospitals; each answers in its own case.") % {"count": len(cases)}
    )
    return redirect("cases:list")


# --- lists ----------------------------------------------------------------------------------------


@login_required
@require_safe
def case_list(request):
    if request.user.role == Role.PATIENT:
        cases = list(services.patient_cases(request.user).prefetch_related("services"))
        return render(request, "cases/my_cases.html", {"cases": cases})
    if request.user.role not in services.STAFF_ROLES:
        raise PermissionDenied(_("The case board is for hospital staff."))
    return _board(request)


def _board(request):
    form, board = BoardFilterForm(request.GET), None
    try:
        board = services.board(request.user, request.GET, page=request.GET.get("page") or 1)
    except services.FormInvalid as exc:
        form = exc.form
    hospital = request.user.hospital
    now = clock.now()
    rows = []
    if board is not None:
        for case in board.page.object_list:
            rows.append({"case": case, "due": services.first_response_due(case), "open": case.state not in TERMINAL})
    query = request.GET.copy()
    query.pop("page", None)
    without_state = query.copy()
    without_state.pop("state", None)
    context = {
        "form": form,
        "board": board,
        "rows": rows,
        "now": now,
        "states": [(value, label, (board.counts.get(value, 0) if board else 0)) for value, label in State.choices],
        "total": sum(board.counts.values()) if board else 0,
        "query": query.urlencode(),
        "state_query": without_state.urlencode(),
        "departments": hospital.departments.all(),
        "coordinators": services.coordinators_of(hospital),
        "countries": services.patient_countries(request.user),
        "values": {name: request.GET.get(name, "") for name in BoardFilterForm.base_fields},
        "hours": settings.LAIHUA_FIRST_RESPONSE_HOURS,
    }
    partial = is_partial_request(request)
    template = "cases/_board_results.html" if partial else "cases/board.html"
    status = 422 if board is None and not partial else 200
    response = render(request, template, context, status=status)
    patch_vary_headers(response, ["HX-Request"])
    return response


# --- the case page --------------------------------------------------------------------------------


def _progress(case: Case, events) -> list[dict]:
    """The main road of a case, each step done, current or still ahead. Off the road (declined,
    cancelled, expired), the steps up to the last one reached are done and none is current."""
    reached = case.state
    if reached not in MAIN_PATH:
        moves = [e for e in events if e.kind == "transition" and e.from_state in MAIN_PATH]
        reached = moves[-1].from_state if moves else State.INQUIRY
    index = MAIN_PATH.index(reached)
    steps = []
    for position, state in enumerate(MAIN_PATH):
        status = "done" if position < index else "todo"
        if position == index:
            status = "current" if case.state == state else "done"
        steps.append({"state": state, "label": State(state).label, "status": status})
    return steps


def _case_context(request, case: Case, **extra) -> dict:
    user = request.user
    staff = services.is_staff_of(user, case)
    events = list(services.timeline(user, case))
    context = {
        "case": case,
        "staff": staff,
        "state_label": State(case.state).label,
        "explanation": FOR_PATIENT.get(case.state, ""),
        "off_road": case.state not in MAIN_PATH,
        "progress": _progress(case, events),
        "events": events,
        "thread": list(services.thread(user, case)),
        "documents": list(services.documents(user, case)),
        "moves": [(state, State(state).label) for state in services.moves_for(user, case)],
        "services_asked": list(case.services.all()),
        "overdue": services.is_overdue(case),
        "due": services.first_response_due(case),
        "can_assign": staff and user.role in DESK,
        "coordinators": services.coordinators_of(case.hospital) if staff else [],
        "message_body": "",
        "message_error": None,
    }
    if staff:
        context["patient"] = case.patient
        context["companions"] = list(case.patient.companions.all())
    context.update(extra)
    return context


@login_required
@require_safe
def case_detail(request, reference: str):
    case = services.get_case(request.user, reference)
    response = render(request, "cases/detail.html", _case_context(request, case))
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_POST
def message_post(request, reference: str):
    case = services.get_case(request.user, reference, audit=None)
    internal = request.POST.get("internal") == "on"
    try:
        services.post_message(
            request.user, case, request.POST.get("body", ""), request.FILES.getlist("files"), internal=internal
        )
    except InvalidInput as exc:
        context = _case_context(request, case, message_body=request.POST.get("body", ""), message_error=exc)
        return render(request, "cases/detail.html", context, status=422)
    messages.success(request, _("Your staff note is saved.") if internal else _("Your message is sent."))
    return redirect(reverse("cases:detail", args=[case.reference]) + "#thread")


@login_required
@require_POST
def transition(request, reference: str):
    case = services.get_case(request.user, reference, audit=None)
    to = request.POST.get("state", "")
    try:
        case = services.transition(request.user, case, to, note=request.POST.get("note", ""))
    except services.InvalidTransition as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("The case is now “%(state)s”.") % {"state": State(case.state).label})
    return redirect("cases:detail", case.reference)


@login_required
@require_POST
def assign(request, reference: str):
    case = services.get_case(request.user, reference, audit=None)
    try:
        case = services.assign(request.user, case, request.POST.get("coordinator", ""))
    except InvalidInput as exc:
        messages.error(request, str(exc.message))
    else:
        if case.coordinator_id:
            name = case.coordinator.get_full_name() or case.coordinator.username
            messages.success(request, _("The case is assigned to %(name)s.") % {"name": name})
        else:
            messages.success(request, _("Nobody is assigned to the case now."))
    return redirect("cases:detail", case.reference)


@login_required
@require_safe
def attachment(request, reference: str, attachment_id: int):
    return uploads.attachment_response(services.get_attachment(request.user, reference, attachment_id))
