"""Pages of the clinical pathways: the hospital's pathways (list, CSV export and import) and one pathway's
form (its rule and its steps, edited as rows: an empty row is left out, three empty rows are offered for
new steps). Each calls planning.pathways; an input error shows the form again with what was typed and the
field named (422)."""

import tempfile

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from laihua.catalog.models import CatalogItem, Kind
from laihua.errors import InvalidInput, NotFound
from laihua.planning import pathways
from laihua.planning.models import Pathway, ProcedureKind, StepKind

EMPTY_ROWS = 3
MAX_ROWS = pathways.MAX_STEPS + EMPTY_ROWS
MAX_UPLOAD_BYTES = 1_000_000


def _can_edit(user) -> bool:
    return user.role in pathways.PATHWAY_EDITORS


@login_required
def pathways_page(request):
    """The hospital's pathways, with a form to start one for a package or service that has none."""
    found = list(pathways.pathways_of(request.user, request.user.hospital))
    code = request.GET.get("code", "").strip()
    if code:
        return redirect(reverse("planning:pathway", args=[code]))
    taken = {p.item_id for p in found}
    items = [
        i
        for i in CatalogItem.objects.filter(hospital_id=request.user.hospital_id).order_by("code")
        if i.pk not in taken
    ]
    return render(
        request,
        "planning/pathways.html",
        {"pathways": found, "items": items, "can_edit": _can_edit(request.user), "kinds": pathways.kind_defaults()},
    )


def _steps_from(post) -> list[dict]:
    steps = []
    for n in range(MAX_ROWS):
        service = post.get(f"step-{n}-service", "").strip()
        if not service:
            continue
        steps.append(
            {
                "kind": post.get(f"step-{n}-kind", ""),
                "service": service,
                "label": {"en": post.get(f"step-{n}-label_en", ""), "zh-hans": post.get(f"step-{n}-label_zh", "")},
                "with_previous": post.get(f"step-{n}-with_previous") == "on",
                "min_gap_days": post.get(f"step-{n}-min_gap_days", "0"),
                "max_gap_days": post.get(f"step-{n}-max_gap_days", ""),
                "turnaround_days": post.get(f"step-{n}-turnaround_days", "0"),
                "theatre_minutes": post.get(f"step-{n}-theatre_minutes", ""),
            }
        )
    return steps


def _rows(pathway: Pathway | None, posted) -> list[dict]:
    """The step rows of the form: what was typed, else the pathway's steps, then empty rows."""
    if posted is not None:
        rows = _steps_from(posted)
    elif pathway is not None:
        rows = pathways.pathway_json(pathway)["steps"]
    else:
        rows = []
    rows = [{**row, "n": n} for n, row in enumerate(rows)]
    return rows + [{"n": len(rows) + k, "label": {}} for k in range(EMPTY_ROWS)]


def _edit(request, code: str, *, pathway=None, posted=None, error=None, status=200):
    item = CatalogItem.objects.filter(hospital_id=request.user.hospital_id, code=code).first()
    if pathway is not None:
        values = pathways.pathway_json(pathway)
    else:
        values = {"procedure_kind": "", "nights": (item.stay_days or 0) if item else 0, "note": {}}
    if posted is not None:
        values = {
            "procedure_kind": posted.get("procedure_kind", ""),
            "fit_to_fly_days": posted.get("fit_to_fly_days", ""),
            "nights": posted.get("nights", ""),
            "source": posted.get("source", ""),
            "note": {"en": posted.get("note_en", ""), "zh-hans": posted.get("note_zh", "")},
        }
    context = {
        "code": code,
        "item": item,
        "pathway": pathway,
        "values": values,
        "rows": _rows(pathway, posted),
        "step_kinds": StepKind.choices,
        "procedure_kinds": ProcedureKind.choices,
        "kinds": pathways.kind_defaults(),
        "services": CatalogItem.objects.filter(hospital_id=request.user.hospital_id)
        .exclude(kind=Kind.PACKAGE)
        .order_by("code"),
        "can_edit": _can_edit(request.user),
        "error": error,
    }
    return render(request, "planning/pathway.html", context, status=status)


@login_required
def pathway_page(request, code: str):
    """One pathway's form (an editor may start one for a service of the catalog that has none)."""
    try:
        found = pathways.get_pathway(request.user, code)
    except NotFound:
        if (
            not _can_edit(request.user)
            or not CatalogItem.objects.filter(hospital_id=request.user.hospital_id, code=code).exists()
        ):
            raise
        found = None
    return _edit(request, code, pathway=found)


@login_required
@require_POST
def pathway_save(request, code: str):
    data = {
        "item": code,
        "procedure_kind": request.POST.get("procedure_kind", ""),
        "fit_to_fly_days": request.POST.get("fit_to_fly_days", ""),
        "nights": request.POST.get("nights", "0"),
        "source": request.POST.get("source", ""),
        "note": {"en": request.POST.get("note_en", ""), "zh-hans": request.POST.get("note_zh", "")},
        "steps": _steps_from(request.POST),
    }
    try:
        pathways.save_pathway(request.user, request.user.hospital, data)
    except InvalidInput as exc:
        return _edit(request, code, posted=request.POST, error=exc, status=422)
    messages.success(request, _("The pathway of %(code)s is saved.") % {"code": code})
    return redirect(reverse("planning:pathway", args=[code]))


@login_required
@require_POST
def pathway_delete(request, code: str):
    found = pathways.get_pathway(request.user, code, roles=pathways.PATHWAY_EDITORS)
    pathways.delete_pathway(request.user, found)
    messages.success(request, _("The pathway of %(code)s is removed.") % {"code": code})
    return redirect(reverse("planning:pathways"))


@login_required
def pathways_csv(request):
    response = HttpResponse(
        pathways.export_csv(request.user, request.user.hospital), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = 'attachment; filename="pathways.csv"'
    return response


@login_required
@require_POST
def pathways_import(request):
    upload = request.FILES.get("file")
    try:
        if upload is None or upload.size > MAX_UPLOAD_BYTES:
            raise InvalidInput(_("Choose a CSV file of at most 1 MB."), field="file")
        with tempfile.NamedTemporaryFile(suffix=".csv") as temporary:
            for chunk in upload.chunks():
                temporary.write(chunk)
            temporary.flush()
            count = pathways.import_csv(request.user, request.user.hospital, temporary.name)
    except InvalidInput as exc:
        messages.error(request, str(exc.message))
        return redirect(reverse("planning:pathways"))
    messages.success(request, _("%(n)s pathway(s) imported.") % {"n": count})
    return redirect(reverse("planning:pathways"))
