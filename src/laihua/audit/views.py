"""Browsing the audit trail: hospital admins see their hospital's events, the platform admin all."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from laihua.accounts.models import Role
from laihua.audit import services


@login_required
def events(request):
    filters = {"action": request.GET.get("action", ""), "actor_name": request.GET.get("user", "")}
    page = services.browse(request.user, page=request.GET.get("page", 1), **filters)
    role_labels = dict(Role.choices)
    for event in page.object_list:
        event.role_label = role_labels.get(event.actor_role, event.actor_role)
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "page": page,
        "action": filters["action"].strip(),
        "user_filter": filters["actor_name"].strip(),
        "query": query.urlencode(),
        "all_hospitals": request.user.role == Role.PLATFORM_ADMIN,
    }
    return render(request, "audit/events.html", context)
