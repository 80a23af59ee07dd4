"""Pages of the interpreter pool: the list with an add form, one interpreter's page (details and days away),
CSV export and import. The hospital admin and coordinators of the hospital; refusals render as error pages."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from laihua.errors import InvalidInput
from laihua.interpreters import services
from laihua.interpreters.forms import AbsenceForm, InterpreterForm

MAX_UPLOAD_BYTES = 1_000_000


@login_required
def pool(request):
    form, status = InterpreterForm(initial={"active": True, "weekdays": [1, 2, 3, 4, 5]}), 200
    if request.method == "POST":
        try:
            person = services.save_interpreter(request.user, request.POST)
        except services.FormInvalid as exc:
            form, status = exc.form, 422
        else:
            messages.success(request, _("%(name)s is added to the pool.") % {"name": person})
            return redirect("interpreters:pool")
    people = services.pool_page(request.user)
    return render(request, "interpreters/pool.html", {"people": people, "form": form}, status=status)


@login_required
def edit(request, interpreter_id: int):
    person = services.get_interpreter(request.user, interpreter_id)
    form, status = InterpreterForm(instance=person), 200
    if request.method == "POST":
        try:
            person = services.save_interpreter(request.user, request.POST, pk=person.pk)
        except services.FormInvalid as exc:
            form, status = exc.form, 422
        else:
            messages.success(request, _("%(name)s is saved.") % {"name": person})
            return redirect("interpreters:edit", interpreter_id=person.pk)
    return _edit_page(request, person, form=form, status=status)


def _edit_page(request, person, *, form=None, absence_form=None, status=200):
    context = {
        "person": person,
        "form": form or InterpreterForm(instance=person),
        "absence_form": absence_form or AbsenceForm(),
        "absences": list(person.absences.all()),
    }
    return render(request, "interpreters/edit.html", context, status=status)


@login_required
@require_POST
def absence_add(request, interpreter_id: int):
    try:
        services.add_absence(request.user, interpreter_id, request.POST)
    except services.FormInvalid as exc:
        person = services.get_interpreter(request.user, interpreter_id)
        return _edit_page(request, person, absence_form=exc.form, status=422)
    messages.success(request, _("The days away are recorded."))
    return redirect("interpreters:edit", interpreter_id=interpreter_id)


@login_required
@require_POST
def absence_remove(request, interpreter_id: int, absence_id: int):
    services.delete_absence(request.user, interpreter_id, absence_id)
    messages.success(request, _("The days away are removed."))
    return redirect("interpreters:edit", interpreter_id=interpreter_id)


@login_required
def export(request):
    response = HttpResponse(services.export_csv(request.user), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="interpreters.csv"'
    return response


@login_required
@require_POST
def import_file(request):
    upload = request.FILES.get("file")
    try:
        if upload is None:
            raise InvalidInput(_("Choose a CSV file."), field="file")
        if upload.size > MAX_UPLOAD_BYTES:
            raise InvalidInput(_("The file is larger than 1 MB."), field="file")
        try:
            text = upload.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise InvalidInput(_("The file is not UTF-8 text."), field="file") from None
        result = services.import_csv(request.user, text)
    except InvalidInput as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(
            request,
            _("Imported: %(added)s added, %(changed)s changed.")
            % {"added": result["added"], "changed": result["changed"]},
        )
    return redirect("interpreters:pool")
