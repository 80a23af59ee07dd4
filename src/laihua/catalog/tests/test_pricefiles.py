import csv
import datetime
import io
import json
from decimal import Decimal
from pathlib import Path

import jsonschema
import pytest
from django.utils import timezone

from laihua.catalog import pricefiles
from laihua.catalog.models import CatalogItem, Kind, PackageComponent, Price
from laihua.hospitals.models import Hospital
from laihua.kit import clock
from tests.builders import make_comparable, make_hospital, make_item

pytestmark = pytest.mark.django_db

REPO_ROOT = Path(__file__).resolve().parents[4]
_SHARED = REPO_ROOT.parent / "shared" / "fixtures" / "price-transparency"
# The shared fixtures beside the checkout when present, else the copies kept with the tests.
FIXTURES = _SHARED if _SHARED.is_dir() else Path(__file__).resolve().parent / "data" / "price-transparency"


def fixture_schema() -> dict:
    return json.loads((FIXTURES / "cms-v3.0.0-schema.json").read_text(encoding="utf-8"))


def make_catalog(hospital):
    """A catalog with every shape a price file must carry: fixed, range, free, package with a stay,
    standard codes the CMS format lists, one it lists under a broader type, and ones it has no type for."""
    make_item(
        hospital,
        comparable=make_comparable(),
        standard_codes=[
            {"system": "CPT", "code": "70551"},
            {"system": "LOINC", "code": "24590-2"},
            {"system": "NDC", "code": "0000-0000-00"},
        ],
        description={"en": "One body region, without contrast.", "zh-hans": "单部位，不含造影剂。"},
        included={"en": "Radiologist's report", "zh-hans": "放射科报告"},
        waiting_days=2,
        duration_minutes=40,
    )
    make_item(
        hospital,
        code="CONS-01",
        kind=Kind.CONSULTATION,
        price=Decimal("0"),
        en="Welcome consultation",
        zh="国际患者首诊咨询",
        department="orthopaedics",
        keywords="",
    )
    make_item(
        hospital,
        code="BED-01",
        kind=Kind.INPATIENT_DAY,
        price=Decimal("1280.50"),
        en="Single room, per day",
        zh="单人病房（每日）",
        department="",
        keywords="",
    )
    hip = make_item(
        hospital,
        code="HIP-PKG",
        kind=Kind.PACKAGE,
        price=Decimal("32000"),
        price_max=Decimal("45000.75"),
        en="Total hip replacement package",
        zh="全髋关节置换套餐",
        department="orthopaedics",
        keywords="hip 髋关节",
        stay_days=7,
        standard_codes=[{"system": "ICD-9-CM-3", "code": "81.51"}, {"system": "CHS-DRG", "code": "IC29"}],
        excluded={"en": "Revision surgery", "zh-hans": "翻修手术"},
    )
    PackageComponent.objects.create(package=hip, item=hospital.catalog.get(code="BED-01"), quantity=7)
    PackageComponent.objects.create(package=hip, item=hospital.catalog.get(code="CONS-01"), quantity=1)


def by_code(document: dict) -> dict:
    return {
        next(c["code"] for c in entry["code_information"] if c["type"] == "LOCAL"): entry
        for entry in document["standard_charge_information"]
    }


def test_json_price_file_validates_against_the_cms_v3_schema(hospital):
    make_catalog(hospital)
    document = json.loads(pricefiles.json_text(pricefiles.price_file(hospital)), parse_float=Decimal)
    jsonschema.Draft7Validator(fixture_schema(), format_checker=jsonschema.FormatChecker()).validate(document)
    assert pricefiles.schema_errors(document) == []
    assert len(document["standard_charge_information"]) == 4


def test_shipped_schema_is_the_cms_fixture():
    assert pricefiles.cms_schema() == fixture_schema()


def test_schema_check_reports_a_departure_by_its_path(hospital):
    make_catalog(hospital)
    document = pricefiles.json_document(pricefiles.price_file(hospital))
    document["standard_charge_information"][0]["standard_charges"][0]["setting"] = "day case"
    problems = pricefiles.schema_errors(document)
    assert problems and problems[0].startswith("standard_charge_information/0/standard_charges/0/setting")


def test_json_carries_english_and_chinese_names_codes_and_exact_cny_amounts(hospital):
    make_catalog(hospital)
    document = json.loads(pricefiles.json_text(pricefiles.price_file(hospital)), parse_float=Decimal)
    items = by_code(document)
    mri = items["MRI-01"]
    assert mri["description"] == "MRI scan, one region"
    assert mri["description_zh_hans"] == "核磁共振成像（单部位）"
    assert "核磁共振成像（单部位）" in mri["standard_charges"][0]["additional_generic_notes"]
    assert "CNY" in mri["standard_charges"][0]["additional_generic_notes"]
    assert mri["code_information"] == [{"code": "MRI-01", "type": "LOCAL"}, {"code": "70551", "type": "CPT"}]
    assert {"system": "LOINC", "code": "24590-2"} in mri["standard_codes"]
    assert mri["standard_charges"][0]["gross_charge"] == Decimal("486")
    assert "minimum" not in mri["standard_charges"][0]
    assert mri["kind"] == "imaging" and mri["department"] == "radiology" and mri["comparable"] == "mri"
    assert mri["details_zh_hans"] == "单部位，不含造影剂。" and mri["included_en"] == "Radiologist's report"
    assert mri["waiting_days"] == 2 and mri["duration_minutes"] == 40

    hip = items["HIP-PKG"]
    charge = hip["standard_charges"][0]
    assert (charge["minimum"], charge["maximum"], charge["gross_charge"]) == (
        Decimal("32000"),
        Decimal("45000.75"),
        Decimal("45000.75"),
    )
    assert hip["code_information"][1:] == [{"code": "81.51", "type": "ICD"}, {"code": "IC29", "type": "DRG"}]
    assert hip["package_components"] == [{"code": "BED-01", "quantity": 7}, {"code": "CONS-01", "quantity": 1}]
    assert mri["package_components"] == []
    assert items["BED-01"]["standard_charges"][0]["gross_charge"] == Decimal("1280.50")
    assert items["BED-01"]["department"] == ""

    free = items["CONS-01"]["standard_charges"][0]
    assert "gross_charge" not in free and free["payers_information"][0]["standard_charge_algorithm"] == "No charge"


def test_settings_follow_the_kind_of_service(hospital):
    make_catalog(hospital)
    items = by_code(pricefiles.json_document(pricefiles.price_file(hospital)))
    assert {code: entry["standard_charges"][0]["setting"] for code, entry in items.items()} == {
        "MRI-01": "outpatient",
        "CONS-01": "outpatient",
        "BED-01": "inpatient",
        "HIP-PKG": "inpatient",
    }
    assert pricefiles.setting_for(Kind.PROCEDURE, None) == "both"
    assert pricefiles.setting_for(Kind.PACKAGE, None) == "outpatient"
    assert pricefiles.setting_for(Kind.LABORATORY, 3) == "outpatient"


def test_code_types_map_to_the_cms_list_or_are_left_to_standard_codes():
    assert pricefiles.cms_code_type("cpt") == "CPT"
    assert pricefiles.cms_code_type("HCPCS") == "HCPCS"
    assert pricefiles.cms_code_type("ICD-10-PCS") == "ICD"
    assert pricefiles.cms_code_type("CHS-DRG") == "DRG"
    assert pricefiles.cms_code_type("NDC") is None
    assert pricefiles.cms_code_type("LOINC") is None
    assert pricefiles.cms_code_type("SNOMED CT") is None


def test_hospital_fields_and_the_honest_attestation(hospital):
    make_catalog(hospital)
    document = pricefiles.json_document(pricefiles.price_file(hospital))
    assert document["hospital_name"] == "East Demo Hospital"
    assert document["hospital_name_zh_hans"] == "东方示范医院"
    assert document["hospital_address"] == ["1 Demo Road, Shanghai"]
    assert document["hospital_address_zh_hans"] == "上海示范路1号"
    assert document["version"] == "3.0.0" and document["currency"] == "CNY"
    assert document["attestation"]["confirm_attestation"] is False
    assert "not a filing under US law" in document["publisher_statement"]
    assert document["type_2_npi"] == ["laihua:east"]


def test_only_active_items_with_the_price_in_force_today_are_listed(hospital, other_hospital):
    item = make_item(hospital, price=Decimal("500"), effective_from=datetime.date(2023, 1, 1))
    Price.objects.create(
        item=item,
        effective_from=datetime.date(2024, 3, 1),
        amount_min=Decimal("486"),
        amount_max=Decimal("486"),
    )
    Price.objects.create(
        item=item,
        effective_from=clock.today() + datetime.timedelta(days=30),
        amount_min=Decimal("520"),
        amount_max=Decimal("520"),
    )
    make_item(hospital, code="OLD-01", active=False)
    make_item(hospital, code="SOON-01", effective_from=clock.today() + datetime.timedelta(days=3))
    make_item(other_hospital, code="WEST-01")
    pricefile = pricefiles.price_file(hospital)
    assert [(row.code, row.amount_min) for row in pricefile.rows] == [("MRI-01", Decimal("486.00"))]


def test_last_updated_on_is_the_latest_change_to_what_is_listed(hospital):
    Hospital.objects.filter(pk=hospital.pk).update(created_at=aware(2019, 5, 1))
    hospital.refresh_from_db()
    make_item(hospital, effective_from=datetime.date(2020, 1, 1))
    make_item(hospital, code="CT-01", effective_from=datetime.date(2024, 3, 1))
    assert pricefiles.price_file(hospital).last_updated_on == clock.today()  # items were edited today
    CatalogItem.objects.update(updated_at=aware(2021, 7, 1))
    assert pricefiles.price_file(hospital).last_updated_on == datetime.date(2024, 3, 1)
    CatalogItem.objects.filter(code="CT-01").update(updated_at=aware(2025, 2, 1))
    assert pricefiles.price_file(hospital).last_updated_on == datetime.date(2025, 2, 1)
    assert pricefiles.price_file(hospital, datetime.date(2024, 6, 1)).last_updated_on == datetime.date(2024, 6, 1)


def aware(year, month, day):
    return timezone.make_aware(datetime.datetime(year, month, day, 12))


def read_records(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_csv_follows_the_cms_tall_layout_and_carries_every_item(hospital):
    make_catalog(hospital)
    records = read_records(pricefiles.csv_text(pricefiles.price_file(hospital)))
    general = dict(zip(records[0], records[1], strict=True))
    assert general["hospital_name"] == "East Demo Hospital"
    assert general["version"] == "3.0.0"
    assert general[pricefiles.cms_attestation_text()] == "false"
    assert general["license_number|DC"] == ""
    assert general["hospital_name_zh_hans"] == "东方示范医院"
    header = records[2]
    example = read_records((FIXTURES / "cms-v3-tall-example.csv").read_text(encoding="utf-8"))
    assert {pricefiles.column_key(h) for h in example[2]} <= {pricefiles.column_key(h) for h in header}
    rows = [dict(zip(header, record, strict=True)) for record in records[3:]]
    assert sorted(r["code | 1"] for r in rows) == ["BED-01", "CONS-01", "HIP-PKG", "MRI-01"]
    assert {r["code | 1 | type"] for r in rows} == {"LOCAL"}
    hip = next(r for r in rows if r["code | 1"] == "HIP-PKG")
    assert (hip["standard_charge | min"], hip["standard_charge | max"], hip["standard_charge | gross"]) == (
        "32000.00",
        "45000.75",
        "45000.75",
    )
    assert (hip["code | 2"], hip["code | 2 | type"], hip["code | 3 | type"]) == ("81.51", "ICD", "DRG")
    assert hip["standard_codes"] == "ICD-9-CM-3:81.51 | CHS-DRG:IC29"
    assert hip["description_zh_hans"] == "全髋关节置换套餐" and hip["setting"] == "inpatient"
    assert hip["stay_days"] == "7" and hip["excluded_zh_hans"] == "翻修手术"
    assert hip["package_components"] == "BED-01*7;CONS-01*1"
    assert next(r for r in rows if r["code | 1"] == "MRI-01")["package_components"] == ""


def test_csv_read_back_gives_the_same_rows(hospital):
    make_catalog(hospital)
    pricefile = pricefiles.price_file(hospital)
    parsed = pricefiles.read_csv(pricefiles.csv_text(pricefile))
    assert parsed.errors == []
    assert parsed.last_updated_on == pricefile.last_updated_on
    assert [row for _number, row in parsed.rows] == pricefile.rows
    assert [number for number, _row in parsed.rows] == [4, 5, 6, 7]


# The public addresses


def test_json_price_file_is_served_without_login_with_caching_headers(client, hospital):
    make_catalog(hospital)
    response = client.get("/prices/east.json")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert response["Content-Disposition"] == 'inline; filename="east_standardcharges.json"'
    assert "max-age=300" in response["Cache-Control"] and "public" in response["Cache-Control"]
    document = json.loads(response.content, parse_float=Decimal)
    assert pricefiles.schema_errors(document) == []
    again = client.get("/prices/east.json", HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304 and again.content == b""


def test_etag_changes_when_a_price_changes(client, hospital, mri):
    before = client.get("/prices/east.json")["ETag"]
    Price.objects.create(item=mri, effective_from=clock.today(), amount_min=Decimal("450"), amount_max=Decimal("450"))
    after = client.get("/prices/east.json", HTTP_IF_NONE_MATCH=before)
    assert after.status_code == 200 and after["ETag"] != before
    assert by_code(json.loads(after.content))["MRI-01"]["standard_charges"][0]["gross_charge"] == 450


def test_csv_price_file_is_served_as_an_attachment(client, hospital):
    make_catalog(hospital)
    response = client.get("/prices/east.csv")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="east_standardcharges.csv"'
    assert response["ETag"].startswith('"')
    assert len(read_records(response.content.decode("utf-8"))) == 3 + 4


@pytest.mark.parametrize("suffix", ["json", "csv"])
def test_unknown_hospital_is_a_json_404(client, suffix):
    response = client.get(f"/prices/nowhere.{suffix}")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def test_a_hospital_without_prices_has_no_json_file_but_an_empty_csv(client, db):
    make_hospital("north")
    response = client.get("/prices/north.json")
    assert response.status_code == 404 and response.json()["error"] == "not_found"
    records = read_records(client.get("/prices/north.csv").content.decode())
    assert len(records) == 3 and records[2][0] == "description"


def test_price_files_cannot_be_posted_to(client, hospital, mri):
    assert client.post("/prices/east.json").status_code == 405
