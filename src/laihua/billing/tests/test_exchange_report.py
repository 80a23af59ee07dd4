"""Finance's monthly exchange gains and losses: per payment in another currency its invoice, amounts, rates and the
gain or loss, with totals per currency and in all; on the page (month picker, phone friendly), as CSV (no cell a
spreadsheet would run as a formula) and in the API; finance and hospital admins of the hospital only, audited."""

import csv
import datetime
import io
from decimal import Decimal

import pytest

from laihua.audit.models import AuditEvent
from laihua.billing import services
from laihua.billing.services.exchange_report import safe_cell
from laihua.errors import InvalidInput, PermissionDenied
from laihua.kit import clock

from .test_api import get
from .test_exchange import PINNED, in_pounds, pay  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db


@pytest.fixture
def month_of_payments(in_pounds, users):  # noqa: F811
    finance = users["finance"]
    pay(finance, in_pounds, "10.00", key='=HYPERLINK("http://x")')  # a reference a spreadsheet would run
    pay(finance, in_pounds, "8.85", key="+gbp-2")
    pay(finance, in_pounds, "5.00", currency="USD", key="@usd-1")
    pay(finance, in_pounds, "1.00", currency="GBP", kind="refund", key="-refund-1")
    pay(finance, in_pounds, "100.00", currency="CNY", key="cny-1")  # in CNY: not in the report
    return in_pounds


def test_the_month_lists_each_foreign_payment_with_its_gain_or_loss_and_totals(month_of_payments, users):
    report = services.exchange_differences(users["finance"], clock.today().strftime("%Y-%m"))
    assert [row.reference for row in report.rows] == ['=HYPERLINK("http://x")', "+gbp-2", "@usd-1", "-refund-1"]
    first = report.rows[0]
    assert (first.invoice, first.currency, first.amount, first.pinned_rate) == (
        month_of_payments.number,
        "GBP",
        Decimal("10.00"),
        PINNED,
    )
    assert (first.day_rate, first.settled_cny, first.received_cny, first.exchange_cny) == (
        Decimal("9.30000000"),
        Decimal("91.25"),
        Decimal("93.00"),
        Decimal("1.75"),
    )
    refund = report.rows[3]
    assert refund.amount == Decimal("-1.00") and refund.received_cny == Decimal("-9.30") and refund.settled_cny < 0
    gbp, usd = report.by_currency
    assert (gbp.currency, gbp.payments, gbp.amount) == ("GBP", 3, Decimal("17.85"))
    assert gbp.exchange_cny == sum((row.exchange_cny for row in report.rows if row.currency == "GBP"), Decimal(0))
    assert (usd.payments, usd.settled_cny, usd.received_cny, usd.exchange_cny) == (
        1,
        Decimal("35.62"),
        Decimal("35.62"),
        Decimal("0.00"),
    )
    assert report.exchange_cny == gbp.exchange_cny + usd.exchange_cny
    assert report.received_cny - report.settled_cny == report.exchange_cny
    assert report.gains + report.losses == report.exchange_cny
    event = AuditEvent.objects.filter(action="billing.exchange_differences").latest("pk")
    assert event.detail["rows"] == 4 and event.hospital_id == users["finance"].hospital_id


def test_another_month_and_another_hospital_see_none_of_it(month_of_payments, users):
    last_month = (clock.today().replace(day=1) - datetime.timedelta(days=1)).strftime("%Y-%m")
    assert services.exchange_differences(users["finance"], last_month).rows == []
    assert services.exchange_differences(users["other_admin"]).rows == []  # their own hospital's: none
    assert len(services.exchange_differences(users["hospital_admin"]).rows) == 4


@pytest.mark.parametrize("who", ["coordinator", "clinician", "patient", "insurer_agent", "platform_admin"])
def test_only_finance_and_hospital_admins_read_it(month_of_payments, users, client, who):
    with pytest.raises(PermissionDenied):
        services.exchange_differences(users[who])
    assert get(client, "/api/billing/exchange-differences", users[who]).status_code == 403
    client.force_login(users[who])
    assert client.get("/en/billing/exchange-differences/").status_code == 403
    assert client.get("/en/billing/exchange-differences.csv").status_code == 403
    assert not AuditEvent.objects.filter(action="billing.exchange_differences").exists()


def test_a_month_that_is_not_yyyy_mm_is_refused_naming_the_field(users, client):
    with pytest.raises(InvalidInput) as caught:
        services.exchange_differences(users["finance"], "2026-13")
    assert caught.value.field == "month"
    response = get(client, "/api/billing/exchange-differences?month=July", users["finance"])
    assert response.status_code == 422 and response.json()["field"] == "month"


def test_the_csv_neutralises_what_a_spreadsheet_would_run(month_of_payments, users, client):
    response = get(client, "/api/billing/exchange-differences.csv", users["finance"])
    assert response.status_code == 200 and "exchange-differences-" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:3] == ["received_on", "invoice", "case"] and rows[0][-1] == "exchange_gain_loss_cny"
    references = [row[5] for row in rows[1:5]]
    assert references == ['\'=HYPERLINK("http://x")', "'+gbp-2", "'@usd-1", "'-refund-1"]
    for row in rows[1:]:
        for cell in row[:7]:  # every text cell
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell
    assert (
        rows[-1][0] == "total" and Decimal(rows[-1][-1]) == services.exchange_differences(users["finance"]).exchange_cny
    )
    assert [safe_cell(text) for text in ("\tx", "\rx", "ok", "")] == ["'\tx", "'\rx", "ok", ""]


def test_the_page_picks_a_month_and_fits_a_phone(month_of_payments, users, client):
    client.force_login(users["finance"])
    page = client.get(f"/en/billing/exchange-differences/?month={clock.today():%Y-%m}").content.decode()
    assert 'type="month"' in page and month_of_payments.number in page
    assert page.count('<table class="responsive">') == 2  # cards on a phone, no sideways scroll
    assert "£10.00" in page and "GBP" in page
    csv_page = client.get(f"/en/billing/exchange-differences.csv?month={clock.today():%Y-%m}")
    assert csv_page.status_code == 200 and month_of_payments.number in csv_page.content.decode()
    refused = client.get("/en/billing/exchange-differences/?month=nope", follow=True).content.decode()
    assert "YYYY-MM" in refused


def test_the_api_gives_rows_and_totals(month_of_payments, users, client):
    body = get(client, f"/api/billing/exchange-differences?month={clock.today():%Y-%m}", users["finance"]).json()
    assert body["month"] == clock.today().strftime("%Y-%m") and len(body["rows"]) == 4
    assert body["rows"][0]["exchange_cny"] == "1.75" and body["rows"][0]["pinned_rate"].startswith("9.1234")
    assert [entry["currency"] for entry in body["by_currency"]] == ["GBP", "USD"]
    assert Decimal(body["exchange_cny"]) == Decimal(body["gains_cny"]) + Decimal(body["losses_cny"])
