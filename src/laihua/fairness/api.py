"""The fairness report and the real prices over the JSON API: public, no sign-in (as /fairness.json)."""

import datetime
from decimal import Decimal

from ninja import Router, Schema

from laihua.fairness.services import real_prices, report

router = Router(tags=["fairness"])


class FigureOut(Schema):
    month: str
    city: str
    hospital: str | None
    category: str
    unit: str
    capacity: int
    cap: int
    cap_percent: float | None
    used: int | None
    share_percent: float | None
    of_cap_percent: float | None
    patients: int | None
    suppressed: str | None


class FairnessReportOut(Schema):
    changed_at: datetime.datetime | None
    recounted_at: datetime.datetime | None
    months: list[str]
    rows: list[FigureOut]


class RealPriceOut(Schema):
    hospital: str
    code: str
    cases: int
    median: Decimal
    p10: Decimal
    p90: Decimal
    currency: str
    updated_at: datetime.datetime


@router.get("", response=FairnessReportOut, summary="The public fairness report: international use against the cap")
def fairness_report(request, month: str = ""):
    """Every city and hospital, month (or the given one, YYYY-MM) and kind of resource; figures built on
    fewer than 10 patients suppressed (see docs/fairness.md)."""
    rows = report.open_data(report.parse_month(month))
    fresh = report.freshness()
    months = [each.strftime("%Y-%m") for each in report.reported_months()]
    return {**fresh, "months": months, "rows": rows}


@router.get("/real-prices", response=list[RealPriceOut], summary="What patients actually paid, per item")
def list_real_prices(request, hospital: str = ""):
    """Items with at least 10 closed, invoiced cases: median, 10th and 90th percentile (nearest rank), CNY."""
    return [
        {
            "hospital": row.item.hospital.slug,
            "code": row.item.code,
            "cases": row.cases,
            "median": row.median,
            "p10": row.p10,
            "p90": row.p90,
            "currency": row.currency,
            "updated_at": row.updated_at,
        }
        for row in real_prices.published_real_prices(hospital)
    ]
