"""Analytics for hospitals and the city, read from monthly roll-ups (see rollup.py and figures.py)."""

import io

from django.utils.translation import gettext as _

from laihua.analytics.services.access import (
    Filters,
    city_hospitals,
    hospital_for,
    is_city_reader,
    parse_filters,
    require_city_reader,
    require_hospital_reader,
    require_reader,
)
from laihua.analytics.services.figures import (
    CITY_VIEWS,
    HOSPITAL_VIEWS,
    TITLES,
    Scope,
    cached_views,
    refresh_stamps,
    refreshed,
)
from laihua.analytics.services.rollup import refresh, refresh_all, stale_hospitals
from laihua.errors import NotFound
from laihua.kit.csvdata import SafeWriter

__all__ = [
    "CITY_VIEWS",
    "HOSPITAL_VIEWS",
    "TITLES",
    "Filters",
    "city_dashboard",
    "hospital_dashboard",
    "is_city_reader",
    "refresh",
    "refresh_all",
    "require_city_reader",
    "require_hospital_reader",
    "require_reader",
    "stale_hospitals",
    "view_csv",
]


def _views_named(view: str | None, allowed: tuple[str, ...]) -> tuple[str, ...]:
    if view is None:
        return allowed
    if view not in allowed:
        raise NotFound(_("No such analytics view."), field="view")
    return (view,)


def hospital_dashboard(actor, slug: str | None = None, *, view: str | None = None, **params) -> dict:
    """One hospital's views (or the one named) grouped by month: its own staff, the city and the platform.
    params are the filters' query parameters: start, end (YYYY-MM), country, department, service (codes)."""
    hospital = hospital_for(actor, slug)
    filters = parse_filters(hospital, **params)
    keys = _views_named(view, HOSPITAL_VIEWS)
    states = refresh_stamps([hospital.pk])
    return {
        "hospital": hospital,
        "filters": filters,
        "views": cached_views(Scope([hospital], filters, "month"), keys, states),
        "refreshed_at": refreshed([hospital.pk], states),
    }


def city_dashboard(actor, *, view: str | None = None, **params) -> dict:
    """Every hospital side by side, pilot hospitals first and marked: the city health commission and the
    platform admin. Filters: start, end, country."""
    hospitals = city_hospitals(actor)
    filters = parse_filters(None, **params)
    keys = _views_named(view, CITY_VIEWS)
    ids = [hospital.pk for hospital in hospitals]
    states = refresh_stamps(ids)
    return {
        "hospitals": hospitals,
        "filters": filters,
        "views": cached_views(Scope(hospitals, filters, "hospital_id"), keys, states),
        "refreshed_at": refreshed(ids, states),
    }


def view_csv(view: dict) -> str:
    """One view's table as CSV: a header of the column labels, then its rows."""
    out = io.StringIO()
    writer = SafeWriter(out)
    writer.writerow([column["label"] for column in view["columns"]])
    for row in view["rows"]:
        writer.writerow(["" if row.get(column["key"]) is None else row[column["key"]] for column in view["columns"]])
    return out.getvalue()
