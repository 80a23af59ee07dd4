"""Real prices: what closed, invoiced cases paid per item, shown from 10 cases and hidden at 9, on the
public pages and in the price files (which still validate against the CMS v3 schema)."""

import csv
import datetime
import io
import json
from decimal import Decimal

import jsonschema
import pytest
from django.core.management import call_command

from laihua.billing.models import Invoice, InvoiceLine, Payment, WriteOff
from laihua.cases import services as cases
from laihua.catalog import pricefiles
from laihua.catalog.models import PaidPriceSummary
from laihua.catalog.tests.test_pricefiles import fixture_schema
from laihua.fairness.services import real_prices
from laihua.fairness.services.real_prices import nearest_rank
from laihua.kit import clock
from tests.builders import make_case, make_item, make_patient, make_user

pytestmark = pytest.mark.django_db
AMOUNTS = [Decimal(1000 + 100 * n) for n in range(10)]  # 1,000.00 ... 1,900.00 CNY


def settled_case(hospital, staff, lines, *, state="closed", write_off=Decimal("0"), status="balanced"):
    """A case with one statement of `lines` [(item, amount)], paid in full but for an approved write-off."""
    n = Invoice.objects.count()
    patient = make_patient(make_user(f"paid-{n}", "patient"), passport_number=f"Q{n:07d}")
    case = make_case(patient, hospital, state=state)
    total = sum(amount for _item, amount in lines)
    invoice = Invoice.objects.create(
        case=case,
        hospital=hospital,
        status=status,
        number=f"ST-{n:05d}",
        currency="CNY",
        total_cny=total,
        patient_cny=total,
        created_by=staff,
        issue_date=clock.today(),
    )
    for position, (item, amount) in enumerate(lines, start=1):
        InvoiceLine.objects.create(
            invoice=invoice,
            position=position,
            source="extra",
            reason="delivered",
            item=item,
            code=item.code,
            kind=item.kind,
            description=item.name,
            service_date=clock.today(),
            unit_price_cny=amount,
            gross_cny=amount,
            amount_cny=amount,
            patient_cny=amount,
            confirmed=True,
        )
    if write_off:
        WriteOff.objects.create(
            invoice=invoice, part="patient", amount_cny=write_off, reason="hardship", status="approved"
        )
    if total - write_off > 0:
        Payment.objects.create(
            invoice=invoice,
            hospital=hospital,
            kind="balance",
            payer="patient",
            method="card",
            reference=f"card-{n}",
            amount=total - write_off,
            currency="CNY",
            amount_cny=total - write_off,
            received_on=clock.today(),
            idempotency_key=f"pay-{n}",
            recorded_by=staff,
        )
    return case


def test_nearest_rank_percentiles_are_amounts_someone_paid():
    ordered = [Decimal(n) for n in range(1, 11)]
    assert [nearest_rank(ordered, p) for p in (10, 50, 90, 100)] == [1, 5, 9, 10]
    assert nearest_rank([Decimal(7)], 10) == 7
    assert nearest_rank([Decimal(1), Decimal(2), Decimal(3)], 50) == 2


def test_ten_closed_invoiced_cases_give_a_real_price(users, hospital, mri):
    for amount in AMOUNTS:
        settled_case(hospital, users["finance"], [(mri, amount)])
    assert real_prices.refresh_real_prices() == 1
    summary = PaidPriceSummary.objects.get(item=mri)
    assert (summary.cases, summary.median, summary.p10, summary.p90) == (
        10,
        Decimal("1400.00"),
        Decimal("1000.00"),
        Decimal("1800.00"),
    )
    assert summary.currency == "CNY"


def test_nine_cases_show_nothing_and_open_cases_do_not_count(users, hospital, mri):
    for amount in AMOUNTS[:9]:
        settled_case(hospital, users["finance"], [(mri, amount)])
    settled_case(hospital, users["finance"], [(mri, AMOUNTS[9])], state="follow_up")  # not closed
    settled_case(hospital, users["finance"], [(mri, AMOUNTS[9])], status="cancelled")  # a void statement
    assert real_prices.refresh_real_prices() == 0
    assert not PaidPriceSummary.objects.exists()


def test_a_write_off_is_not_paid_and_shared_between_the_items(users, hospital, mri):
    ct = make_item(hospital, code="CT-01", en="CT scan", zh="CT")
    settled_case(
        hospital, users["finance"], [(mri, Decimal("1000.00")), (ct, Decimal("1000.00"))], write_off=Decimal("500.00")
    )
    settled_case(hospital, users["finance"], [(mri, Decimal("333.33"))], write_off=Decimal("100.00"))
    paid = real_prices.paid_amounts()
    assert sorted(paid[mri.pk]) == [Decimal("233.33"), Decimal("750.00")]
    assert paid[ct.pk] == [Decimal("750.00")]


def test_a_falling_count_removes_the_real_price(users, hospital, mri):
    made = [settled_case(hospital, users["finance"], [(mri, amount)]) for amount in AMOUNTS]
    call_command("fairness", "refresh")
    assert PaidPriceSummary.objects.filter(item=mri).exists()
    Invoice.objects.filter(case=made[0]).update(status="entered-in-error")
    call_command("fairness", "refresh")
    assert not PaidPriceSummary.objects.filter(item=mri).exists()


def test_closing_the_tenth_case_publishes_the_real_price(users, hospital, mri, django_capture_on_commit_callbacks):
    for amount in AMOUNTS[:9]:
        settled_case(hospital, users["finance"], [(mri, amount)])
    tenth = settled_case(hospital, users["finance"], [(mri, AMOUNTS[9])], state="follow_up")
    with django_capture_on_commit_callbacks(execute=True):
        cases.move(users["coordinator"], tenth, "closed")
    assert PaidPriceSummary.objects.get(item=mri).cases == 10


def test_the_public_pages_show_the_real_price_from_ten_cases_only(client, users, hospital, mri):
    for amount in AMOUNTS[:9]:
        settled_case(hospital, users["finance"], [(mri, amount)])
    real_prices.refresh_real_prices()
    page = client.get(f"/en/hospitals/{hospital.slug}/services/{mri.code}/").content.decode()
    assert "What patients actually paid" not in page
    settled_case(hospital, users["finance"], [(mri, AMOUNTS[9])])
    real_prices.refresh_real_prices()
    page = client.get(f"/en/hospitals/{hospital.slug}/services/{mri.code}/").content.decode()
    assert "What patients actually paid" in page and "1,400.00" in page and "10 closed, invoiced cases" in page
    assert "1,000.00" in page and "1,800.00" in page
    chinese = client.get(f"/zh-hans/hospitals/{hospital.slug}/services/{mri.code}/")
    assert chinese.status_code == 200 and "1,400.00" in chinese.content.decode().replace("\xa0", "")
    listing = client.get(f"/en/hospitals/{hospital.slug}/").content.decode()
    assert "paid: median CN¥1,400.00 (10 cases)" in listing


def test_the_price_files_note_the_real_price_and_still_validate(client, users, hospital, mri):
    other = make_item(hospital, code="CT-01", en="CT scan", zh="CT")
    for amount in AMOUNTS:
        settled_case(hospital, users["finance"], [(mri, amount)])
    real_prices.refresh_real_prices()
    document = json.loads(client.get(f"/prices/{hospital.slug}.json").content)
    jsonschema.Draft7Validator(fixture_schema(), format_checker=jsonschema.FormatChecker()).validate(document)
    notes = {
        entry["code_information"][0]["code"]: entry["standard_charges"][0]["additional_generic_notes"]
        for entry in document["standard_charge_information"]
    }
    assert "Actually paid in 10 closed, invoiced cases" in notes[mri.code]
    assert "median 1,400.00 CNY, 10th to 90th percentile 1,000.00 to 1,800.00 CNY" in notes[mri.code]
    assert "Actually paid" not in notes[other.code]
    assert pricefiles.schema_errors(document) == []
    rows = list(csv.reader(io.StringIO(client.get(f"/prices/{hospital.slug}.csv").content.decode())))
    header = rows[2]
    notes_column = header.index("additional_generic_notes")
    by_code = {row[header.index("code | 1")]: row[notes_column] for row in rows[3:]}
    assert "median 1,400.00 CNY" in by_code[mri.code] and "Actually paid" not in by_code[other.code]


def test_the_real_price_is_dated(users, hospital, mri):
    for amount in AMOUNTS:
        settled_case(hospital, users["finance"], [(mri, amount)])
    real_prices.refresh_real_prices()
    assert PaidPriceSummary.objects.get(item=mri).updated_at.date() >= datetime.date(2020, 1, 1)


def test_the_api_lists_real_prices_without_sign_in(client, users, hospital, mri):
    for amount in AMOUNTS:
        settled_case(hospital, users["finance"], [(mri, amount)])
    real_prices.refresh_real_prices()
    [row] = client.get(f"/api/fairness/real-prices?hospital={hospital.slug}").json()
    assert (row["code"], row["cases"], row["median"], row["p10"], row["p90"]) == (
        mri.code,
        10,
        "1400.00",
        "1000.00",
        "1800.00",
    )
    assert client.get("/api/fairness/real-prices?hospital=nowhere").json() == []
