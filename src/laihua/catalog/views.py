"""Staff pages to edit their own hospital's catalog: items, and prices with their history.

A refusal (another hospital, wrong role) escapes as a DomainError that kit.weberrors renders as a page.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from laihua.catalog import services
from laihua.catalog.forms import ItemForm, PriceForm
from laihua.catalog.models import Kind
from laihua.errors import DomainError
from laihua.kit import clock
from laihua.kit.i18n import pick, with_language_labels


def _own_hospital(request):
    hospital = request.user.hospital
    services.require_editor(request.user, hospital)
    return hospital


@login_required
def item_list(request):
    hospital = _own_hospital(request)
    items = list(services.editable_items(request.user, hospital))
    for item in items:
        item.display_name = pick(item.name)
    return render(request, "catalog/manage/items.html", {"hospital": hospital, "items": items})


@login_required
def item_create(request):
    hospital = _own_hospital(request)
    if request.method == "POST":
        try:
            item = services.save_item(request.user, hospital, request.POST)
        except services.FormInvalid as exc:
            form = exc.form
        else:
            messages.success(request, _("“%(item)s” is added. Set its price to publish it.") % {"item": item})
            return redirect(reverse("catalog:item", args=[item.pk]) + "#prices")
    else:
        form = ItemForm(hospital=hospital)
    context = {"hospital": hospital, "form": with_language_labels(form), "item": None}
    return render(request, "catalog/manage/item_form.html", context, status=422 if form.errors else 200)


def _render_item(request, item, *, form=None, price_form=None):
    """The edit page; a form with errors shows them beside its fields, with status 422."""
    current = services.item_with_current_price(item.pk)
    context = {
        "hospital": item.hospital,
        "item": current,
        "form": with_language_labels(form or ItemForm(instance=current, hospital=item.hospital)),
        "components": services.components_of(current) if current.kind == Kind.PACKAGE else [],
        "price_form": price_form or PriceForm(initial={"effective_from": clock.today()}),
        "prices": services.price_history(item).select_related("created_by"),
        "today": clock.today(),
    }
    invalid = (form is not None and form.errors) or (price_form is not None and price_form.errors)
    return render(request, "catalog/manage/item_form.html", context, status=422 if invalid else 200)


@login_required
def item_edit(request, item_id: int):
    item = services.get_editable_item(request.user, item_id)
    if request.method != "POST":
        return _render_item(request, item)
    try:
        item = services.save_item(request.user, item.hospital, request.POST, item=item)
    except services.FormInvalid as exc:
        return _render_item(request, item, form=exc.form)
    messages.success(request, _("“%(item)s” is saved.") % {"item": item})
    return redirect("catalog:item", item.pk)


@login_required
@require_POST
def price_create(request, item_id: int):
    item = services.get_editable_item(request.user, item_id)
    try:
        price = services.set_price(request.user, item, request.POST)
    except services.FormInvalid as exc:
        return _render_item(request, item, price_form=exc.form)
    except DomainError as exc:
        form = PriceForm(request.POST)
        if not form.is_valid() or exc.field not in form.fields:
            raise
        form.add_error(exc.field, str(exc.message))
        return _render_item(request, item, price_form=form)
    messages.success(
        request,
        _("The new price is in force from %(date)s; earlier prices are kept.")
        % {"date": date_format(price.effective_from)},
    )
    return redirect(reverse("catalog:item", args=[item.pk]) + "#prices")
