"""In demo mode (debug on, published passwords) Laihua refuses to start on a database that holds real data."""

from django.conf import settings
from django.core.checks import Error, register
from django.db import DatabaseError


@register()
def demo_database_only(app_configs=None, **kwargs):
    if not getattr(settings, "DEMO_MODE", False):
        return []
    from laihua.demo.loader import holds_real_data

    try:
        real = holds_real_data()
    except DatabaseError:  # not migrated yet: nothing real in it
        return []
    if not real:
        return []
    return [
        Error(
            "LAIHUA_DEMO=1 but the database holds real hospitals or accounts.",
            hint="The demo runs with debug on and published passwords: point DATABASE_URL at a database of its own.",
            id="laihua.demo.E001",
        )
    ]
