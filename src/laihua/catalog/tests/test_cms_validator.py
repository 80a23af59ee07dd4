"""Laihua's price files through the official CMS hospital price transparency validator (@cmsgov/hpt-validator,
installed in tools/hpt by `make setup`): every format Laihua publishes, with fixed prices, ranges, a free item,
packages, standard codes and real prices paid, gives no error."""

import csv
import io
import json
import os
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest

from laihua.catalog import pricefiles
from laihua.catalog.models import Kind, PackageComponent
from laihua.catalog.tests.test_pricefiles import by_code, make_catalog
from laihua.fairness.services import real_prices
from laihua.fairness.tests.test_real_prices import settled_case
from tests.builders import make_item

pytestmark = pytest.mark.django_db

REPO_ROOT = Path(__file__).resolve().parents[4]
TOOL = REPO_ROOT / "tools" / "hpt"
VALIDATOR = TOOL / "validate.mjs"
PAID = [Decimal(30000 + 1500 * n) for n in range(12)]  # 12 closed, invoiced cases: 30,000.00 ... 46,500.00 CNY


def _require_validator() -> str:
    """The node binary, once the validator is installed; a skip (or, in CI, a failure) when it cannot be."""
    node = shutil.which("node")
    installed = (TOOL / "node_modules" / "@cmsgov" / "hpt-validator" / "package.json").is_file()
    if node and installed:
        return node
    reason = (
        "node is not installed"
        if not node
        else "the CMS validator is not installed: run `make setup` (npm ci in tools/hpt)"
    )
    if os.environ.get("LAIHUA_REQUIRE_BROWSER") == "1" or os.environ.get("LAIHUA_REQUIRE_HPT_VALIDATOR") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


def cms_validate(path: Path) -> dict:
    node = _require_validator()
    finished = subprocess.run(
        [node, str(VALIDATOR), str(path), "3.0.0"], cwd=TOOL, capture_output=True, text=True, timeout=120, check=False
    )
    assert finished.returncode == 0, finished.stderr
    return json.loads(finished.stdout)


@pytest.fixture
def published(hospital, users, tmp_path):
    """A catalog with every shape (fixed, range, free, packages, standard codes), a check-up package without a
    stay, and real prices paid for the hip package (12 cases); both files written as the public addresses serve
    them."""
    make_catalog(hospital)
    checkup = make_item(
        hospital,
        code="CHECK-PKG",
        kind=Kind.PACKAGE,
        price=Decimal("5800"),
        en="Executive check-up",
        zh="高端体检套餐",
        department="",
        keywords="",
    )
    PackageComponent.objects.create(package=checkup, item=hospital.catalog.get(code="MRI-01"), quantity=1)
    make_item(
        hospital,
        code="LAB-01",
        kind=Kind.LABORATORY,
        price=Decimal("0"),
        price_max=Decimal("500"),
        en="Blood tests as needed",
        zh="按需血液检查",
        department="",
        keywords="",
    )
    hip = hospital.catalog.get(code="HIP-PKG")
    for amount in PAID:
        settled_case(hospital, users["finance"], [(hip, amount)])
    real_prices.refresh_real_prices()
    pricefile = pricefiles.price_file(hospital)
    json_path = tmp_path / f"{hospital.slug}_standardcharges.json"
    csv_path = tmp_path / f"{hospital.slug}_standardcharges.csv"
    json_path.write_text(pricefiles.json_text(pricefile), encoding="utf-8")
    csv_path.write_text(pricefiles.csv_text(pricefile), encoding="utf-8", newline="")
    return {"json": json_path, "csv": csv_path}


def test_the_fixture_holds_every_shape_and_a_real_price(published):
    document = json.loads(published["json"].read_text(encoding="utf-8"), parse_float=Decimal)
    items = by_code(document)
    assert set(items) == {"MRI-01", "CONS-01", "BED-01", "HIP-PKG", "CHECK-PKG", "LAB-01"}
    hip = items["HIP-PKG"]["standard_charges"][0]
    assert (hip["minimum"], hip["maximum"]) == (Decimal("32000"), Decimal("45000.75"))
    assert "Actually paid in 12 closed, invoiced cases" in hip["additional_generic_notes"]
    assert [c["quantity"] for c in items["CHECK-PKG"]["package_components"]] == [1]
    assert "payers_information" in items["CONS-01"]["standard_charges"][0]


@pytest.mark.parametrize("kind", ["json", "csv"])
def test_the_cms_validator_finds_no_error(published, kind):
    result = cms_validate(published[kind])
    assert result["version"] == "3.0.0"
    assert result["errors"] == [], json.dumps(result["errors"], indent=1, ensure_ascii=False)
    assert result["valid"] is True
    # The one alert: the hospital does not make the US attestation (docs/price-files.md).
    assert [alert["message"] for alert in result["alerts"]] == ["Attestation value is false."]


def test_the_validated_csv_reads_back_as_the_same_rows(published, hospital):
    """The free item (a self-pay charge "No charge") and the range from 0 (no minimum) read back as Laihua wrote
    them, so that the file the validator accepts can be imported again."""
    parsed = pricefiles.read_csv(published["csv"].read_text(encoding="utf-8"))
    assert parsed.errors == []
    rows = {row.code: row for _number, row in parsed.rows}
    assert (rows["CONS-01"].amount_min, rows["CONS-01"].amount_max) == (Decimal(0), Decimal(0))
    assert (rows["LAB-01"].amount_min, rows["LAB-01"].amount_max) == (Decimal(0), Decimal(500))
    assert [row for _number, row in parsed.rows] == pricefiles.price_file(hospital).rows


def test_a_payer_charge_other_than_the_free_statement_is_still_refused(published):
    records = list(csv.reader(io.StringIO(published["csv"].read_text(encoding="utf-8"))))
    row = next(number for number, record in enumerate(records, start=1) if "CONS-01" in record)
    records[row - 1][records[2].index("standard_charge | negotiated_algorithm")] = "Per diem"
    out = io.StringIO()
    csv.writer(out).writerows(records)
    parsed = pricefiles.read_csv(out.getvalue())
    assert {(error.row, error.column) for error in parsed.errors} >= {(row, "payer_name"), (row, "plan_name")}
    assert {error.row for error in parsed.errors} == {row}
