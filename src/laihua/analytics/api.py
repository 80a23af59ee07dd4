"""Analytics over JSON: each view's table (columns and rows) and its chart, for one hospital or the city."""

from ninja import Query, Router, Schema

from laihua.accounts.auth import AUTH
from laihua.analytics import services

router = Router(tags=["analytics"], auth=AUTH)


class HospitalFilters(Schema):
    start: str = ""
    end: str = ""
    country: str = ""
    department: str = ""
    service: str = ""


class CityFilters(Schema):
    start: str = ""
    end: str = ""
    country: str = ""


class ViewOut(Schema):
    key: str
    title: str
    columns: list[dict]
    rows: list[dict]
    chart: dict | None
    empty: str
    note: str


class AnalyticsReportOut(Schema):
    scope: str
    hospitals: list[dict]
    period: dict
    refreshed_at: str | None
    views: list[ViewOut]


def _out(report: dict, hospitals: list) -> dict:
    filters = report["filters"]
    return {
        "scope": "hospital" if len(hospitals) == 1 and "hospital" in report else "city",
        "hospitals": [{"slug": h.slug, "name": h.name, "pilot": h.pilot} for h in hospitals],
        "period": filters.query(),
        "refreshed_at": report["refreshed_at"].isoformat() if report["refreshed_at"] else None,
        "views": report["views"],
    }


@router.get("/hospitals/{slug}", response=AnalyticsReportOut, summary="One hospital's analytics, every view")
def hospital_report(request, slug: str, filters: Query[HospitalFilters]):
    report = services.hospital_dashboard(request.auth, slug, **filters.dict())
    return _out(report, [report["hospital"]])


@router.get("/hospitals/{slug}/{view}", response=AnalyticsReportOut, summary="One view of one hospital's analytics")
def hospital_view(request, slug: str, view: str, filters: Query[HospitalFilters]):
    report = services.hospital_dashboard(request.auth, slug, view=view, **filters.dict())
    return _out(report, [report["hospital"]])


@router.get(
    "/city", response=AnalyticsReportOut, summary="Every hospital side by side (city health commission, platform)"
)
def city_report(request, filters: Query[CityFilters]):
    report = services.city_dashboard(request.auth, **filters.dict())
    return _out(report, report["hospitals"])


@router.get("/city/{view}", response=AnalyticsReportOut, summary="One view of every hospital side by side")
def city_view(request, view: str, filters: Query[CityFilters]):
    report = services.city_dashboard(request.auth, view=view, **filters.dict())
    return _out(report, report["hospitals"])
