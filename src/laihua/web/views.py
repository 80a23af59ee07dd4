from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from laihua import __name__ as app_name


@never_cache
@require_GET
def healthz(request):
    """The application's and the database's state, for load balancers and operators."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        database = {"status": "ok", "vendor": connection.vendor}
    except Exception as exc:  # noqa: BLE001 - any database failure is reported, not raised
        database = {"status": "error", "vendor": connection.vendor, "detail": exc.__class__.__name__}
    healthy = database["status"] == "ok"
    body = {"status": "ok" if healthy else "degraded", "application": app_name, "database": database}
    return JsonResponse(body, status=200 if healthy else 503)


def home(request):
    from django.shortcuts import render

    return render(request, "web/home.html")
