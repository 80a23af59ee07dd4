import csv
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from laihua.audit.models import AuditEvent
from laihua.catalog import reference_data
from laihua.catalog.models import ComparableService, ReferencePrice
from laihua.errors import InvalidInput, PermissionDenied

pytestmark = pytest.mark.django_db


def shipped_rows(path):
    with open(path, encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_shipped_reference_prices_each_carry_a_source_a_year_and_the_secondary_report_caveat():
    for row in shipped_rows(reference_data.REFERENCES_FILE):
        assert row["source"].startswith("International Federation of Health Plans, 20")
        assert row["year"] in row["source"]
        assert row["source_url"].startswith("https://")
        assert "secondary report" in row["note_en"].lower() and "二手" in row["note_zh-hans"]


def test_loading_adds_the_shipped_services_and_reference_prices():
    summary = reference_data.load_reference_data()
    assert summary.references_created == len(shipped_rows(reference_data.REFERENCES_FILE)) == 12
    assert summary.services_created == ComparableService.objects.count()
    uk_mri = ReferencePrice.objects.get(comparable__key="mri", country="GB", year=2015)
    assert (uk_mri.amount, uk_mri.currency) == (Decimal("788.00"), "USD")
    assert uk_mri.note["zh-hans"] and uk_mri.note["en"]
    knee = ReferencePrice.objects.get(comparable__key="knee-replacement", country="US")
    assert (knee.amount, knee.year) == (Decimal("25637.00"), 2012)
    assert ComparableService.objects.get(key="hip-replacement").name["zh-hans"] == "全髋关节置换术（含住院）"
    assert not ReferencePrice.objects.filter(comparable__key="hip-replacement").exists()  # none is invented
    assert AuditEvent.objects.filter(action="catalog.reference_data.load").count() == 1


def test_loading_twice_changes_nothing_and_is_not_audited_again():
    reference_data.load_reference_data()
    before = list(ReferencePrice.objects.order_by("pk").values())
    summary = reference_data.load_reference_data()
    assert summary.references_created == summary.services_created == 0
    assert summary.references_unchanged == 12 and not summary.kept
    assert list(ReferencePrice.objects.order_by("pk").values()) == before
    assert AuditEvent.objects.filter(action="catalog.reference_data.load").count() == 1


def test_an_admins_edit_is_kept_and_reported_unless_overwrite_is_asked_for():
    reference_data.load_reference_data()
    edited = ReferencePrice.objects.get(comparable__key="mri", country="US", year=2015)
    edited.amount, edited.source = Decimal("1120.00"), "iFHP 2015, checked against the report, table 3"
    edited.save()
    summary = reference_data.load_reference_data()
    edited.refresh_from_db()
    assert edited.amount == Decimal("1120.00")
    assert summary.kept == ["Reference mri US 2015: amount, source differ from the shipped data; kept."]
    summary = reference_data.load_reference_data(overwrite=True)
    edited.refresh_from_db()
    assert summary.references_updated == 1 and edited.amount == Decimal("1119.00")


def test_a_reference_row_the_admin_deleted_comes_back_on_the_next_load():
    reference_data.load_reference_data()
    ReferencePrice.objects.filter(comparable__key="mri", country="ES").delete()
    assert reference_data.load_reference_data().references_created == 1


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


PRICES_HEADER = "comparable,country,amount,currency,year,source,source_url,note_en,note_zh-hans\n"


@pytest.mark.parametrize(
    ("row", "column"),
    [
        ("mri,USA,1119,USD,2015,iFHP,,,", "country"),
        ("mri,US,-5,USD,2015,iFHP,,,", "amount"),
        ("mri,US,1119,DOLLAR,2015,iFHP,,,", "currency"),
        ("mri,US,1119,USD,3015,iFHP,,,", "year"),
        ("mri,US,1119,USD,2015,,,,", "source"),
        ("mri,US,1119,USD,2015,iFHP,not a link,,", "source_url"),
        ("scan,US,1119,USD,2015,iFHP,,,", "comparable"),
    ],
)
def test_a_bad_row_rejects_the_file_naming_row_and_column_and_writes_nothing(tmp_path, row, column):
    good = "mri,GB,788,USD,2015,iFHP,,,\n"
    prices = write(tmp_path, "prices.csv", PRICES_HEADER + good + row + "\n")
    with pytest.raises(InvalidInput) as caught:
        reference_data.load_reference_data(references_file=prices)
    assert caught.value.field == column
    assert f"row 3, column {column}" in str(caught.value.message)
    assert not ReferencePrice.objects.exists() and not ComparableService.objects.exists()


def test_a_stray_cell_or_a_missing_column_is_refused(tmp_path):
    stray = write(tmp_path, "stray.csv", PRICES_HEADER + "mri,GB,788,USD,2015,iFHP,,note,注,extra\n")
    with pytest.raises(InvalidInput, match="row 2"):
        reference_data.load_reference_data(references_file=stray)
    missing = write(tmp_path, "missing.csv", "comparable,country,amount\nmri,GB,788\n")
    with pytest.raises(InvalidInput, match="missing columns: currency"):
        reference_data.load_reference_data(references_file=missing)


def test_a_service_needs_its_name_in_english_and_chinese(tmp_path):
    services = write(tmp_path, "services.csv", "key,name_en,name_zh-hans\nmri,MRI scan,\n")
    with pytest.raises(InvalidInput) as caught:
        reference_data.load_reference_data(services_file=services)
    assert caught.value.field == "name_zh-hans"


def test_only_a_platform_admin_loads_reference_data_when_signed_in(users):
    for role in ("hospital_admin", "coordinator", "patient", "insurer_agent"):
        with pytest.raises(PermissionDenied):
            reference_data.load_reference_data(users[role])
    assert not ReferencePrice.objects.exists()
    reference_data.load_reference_data(users["platform_admin"])
    event = AuditEvent.objects.get(action="catalog.reference_data.load")
    assert event.actor == users["platform_admin"] and event.detail["references_created"] == 12


def test_command_reports_counts_and_the_rows_it_kept(capsys):
    call_command("catalog_reference", "load")
    assert "Reference prices: 12 added, 0 replaced, 0 kept." in capsys.readouterr().out
    ReferencePrice.objects.filter(comparable__key="colonoscopy", country="GB").update(amount=Decimal("3000"))
    call_command("catalog_reference", "load")
    captured = capsys.readouterr()
    assert "Reference prices: 0 added, 0 replaced, 12 kept." in captured.out
    assert "Reference colonoscopy GB 2015: amount differ" in captured.err and "--overwrite" in captured.err
    call_command("catalog_reference", "load", "--overwrite")
    assert "1 replaced" in capsys.readouterr().out
    assert ReferencePrice.objects.get(comparable__key="colonoscopy", country="GB").amount == Decimal("3059")


def test_command_names_the_bad_row_of_another_file(tmp_path):
    prices = write(tmp_path, "prices.csv", PRICES_HEADER + "mri,GB,788,GBP,20x5,iFHP,,,\n")
    with pytest.raises(CommandError, match=r"prices.csv, row 2, column year"):
        call_command("catalog_reference", "load", "--prices", str(prices))
