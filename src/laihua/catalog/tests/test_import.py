import csv
import datetime
import io
import json
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from laihua.audit.models import AuditEvent
from laihua.catalog import pricefiles
from laihua.catalog.importer import import_catalog
from laihua.catalog.models import CatalogItem, Price
from laihua.catalog.pricefiles import FileRejected
from laihua.catalog.tests.test_pricefiles import FIXTURES, make_catalog
from laihua.errors import PermissionDenied
from laihua.kit import clock

pytestmark = pytest.mark.django_db


def export_csv(hospital) -> str:
    return pricefiles.csv_text(pricefiles.price_file(hospital))


def edit_csv(text: str, changes: dict[int, dict[str, str]], extra_rows: list[dict[str, str]] = ()) -> str:
    """Change cells by row number (1 = first line) and column header; append copies of row 4, changed."""
    records = list(csv.reader(io.StringIO(text)))
    header = records[2]
    for number, cells in changes.items():
        for column, value in cells.items():
            records[number - 1][header.index(column) if number > 2 else records[0].index(column)] = value
    for cells in extra_rows:
        record = list(records[3])
        for column, value in cells.items():
            record[header.index(column)] = value
        records.append(record)
    out = io.StringIO()
    csv.writer(out).writerows(records)
    return out.getvalue()


def snapshot(hospital) -> list[pricefiles.PriceRow]:
    return pricefiles.price_file(hospital).rows


def test_export_then_import_into_another_hospital_reproduces_the_catalog(hospital, other_hospital):
    make_catalog(hospital)
    summary = import_catalog(None, other_hospital, export_csv(hospital))
    assert (summary.rows, summary.created, summary.prices_added) == (4, 4, 4)
    assert snapshot(other_hospital) == snapshot(hospital)
    hip = other_hospital.catalog.get(code="HIP-PKG")
    assert hip.standard_codes == [
        {"system": "ICD-9-CM-3", "code": "81.51"},
        {"system": "CHS-DRG", "code": "IC29"},
    ]
    assert hip.department.hospital_id == other_hospital.pk
    assert hip.price_on(clock.today()).amount_max == Decimal("45000.75")


def test_importing_the_same_file_twice_changes_nothing(hospital, other_hospital):
    make_catalog(hospital)
    text = export_csv(hospital)
    import_catalog(None, other_hospital, text)
    stamps = dict(other_hospital.catalog.values_list("code", "updated_at"))
    prices = Price.objects.filter(item__hospital=other_hospital).count()
    again = import_catalog(None, other_hospital, text)
    assert (again.created, again.updated, again.unchanged, again.prices_added) == (0, 0, 4, 0)
    assert dict(other_hospital.catalog.values_list("code", "updated_at")) == stamps
    assert Price.objects.filter(item__hospital=other_hospital).count() == prices


def test_reimporting_a_hospitals_own_export_changes_nothing(hospital):
    make_catalog(hospital)
    before = snapshot(hospital)
    summary = import_catalog(None, hospital, export_csv(hospital))
    assert (summary.created, summary.updated, summary.prices_added) == (0, 0, 0)
    assert snapshot(hospital) == before


def test_import_updates_items_by_code_and_adds_a_price_from_the_given_date(hospital, mri):
    today = clock.today()
    text = edit_csv(
        export_csv(hospital),
        {
            4: {
                "description": "MRI, one body region",
                "standard_charge | gross": "450.00",
                "waiting_days": "1",
            }
        },
    )
    summary = import_catalog(None, hospital, text, effective_from=today)
    assert (summary.updated, summary.prices_added, summary.effective_from) == (1, 1, today)
    mri.refresh_from_db()
    assert mri.name["en"] == "MRI, one body region" and mri.waiting_days == 1
    assert mri.price_on(today).amount_min == Decimal("450.00")
    assert mri.price_on(today - datetime.timedelta(days=1)).amount_min == Decimal("486.00")


def test_a_past_date_never_rewrites_an_items_price_history(hospital, mri):
    text = edit_csv(export_csv(hospital), {4: {"standard_charge | gross": "450.00"}})
    with pytest.raises(FileRejected) as rejected:
        import_catalog(None, hospital, text, effective_from=datetime.date(2024, 1, 1))
    assert [(e.row, e.column) for e in rejected.value.errors] == [(4, "standard_charge | gross")]
    assert mri.prices.count() == 1


def test_a_different_price_on_a_date_that_already_has_one_is_an_error(hospital, mri):
    start = clock.today() + datetime.timedelta(days=10)
    Price.objects.create(item=mri, effective_from=start, amount_min=Decimal("470"), amount_max=Decimal("470"))
    text = edit_csv(export_csv(hospital), {4: {"standard_charge | gross": "460.00"}})
    with pytest.raises(FileRejected) as rejected:
        import_catalog(None, hospital, text, effective_from=start)
    error = rejected.value.errors[0]
    assert (error.row, error.column) == (4, "standard_charge | gross") and "470" in error.message
    same = edit_csv(export_csv(hospital), {4: {"standard_charge | gross": "470.00"}})
    assert import_catalog(None, hospital, same, effective_from=start).prices_added == 0


def test_every_bad_row_is_reported_by_row_and_column_and_nothing_is_written(hospital, other_hospital):
    make_catalog(hospital)
    good = export_csv(hospital)
    bad = edit_csv(
        good,
        {5: {"department": "cardiology"}, 6: {"kind": "surgery"}, 7: {"standard_charge | gross": "12,0.5x"}},
        extra_rows=[
            {
                "code | 1": "RANGE-01",
                "standard_charge | min": "900.00",
                "standard_charge | max": "800.00",
                "standard_charge | gross": "",
            },
            {"code | 1": "MRI-01"},
            {"code | 1": "NOLOCAL", "code | 1 | type": "CPT"},
            {"code | 1": "NEG-01", "standard_charge | gross": "-5"},
            {"code | 1": "PAYER-01", "payer_name": "Some Insurer"},
            {"code | 1": "CMP-01", "comparable": "teleportation"},
        ],
    )
    events = AuditEvent.objects.count()
    with pytest.raises(FileRejected) as rejected:
        import_catalog(None, other_hospital, bad)
    found = [(e.row, e.column) for e in rejected.value.errors]
    assert found == [
        (5, "department"),
        (6, "kind"),
        (7, "standard_charge | gross"),
        (8, "standard_charge | min"),
        (9, "code | 1"),
        (10, "code | 1 | type"),
        (11, "standard_charge | gross"),
        (12, "payer_name"),
        (13, "comparable"),
    ]
    assert "row 7" in rejected.value.errors[4].message  # the duplicate names the first use of the code
    assert not other_hospital.catalog.exists()
    assert AuditEvent.objects.count() == events


def test_missing_columns_are_named(hospital, other_hospital):
    make_catalog(hospital)
    records = list(csv.reader(io.StringIO(export_csv(hospital))))
    drop = {records[2].index("kind"), records[2].index("standard_charge | max")}
    records = records[:2] + [[c for i, c in enumerate(r) if i not in drop] for r in records[2:]]
    out = io.StringIO()
    csv.writer(out).writerows(records)
    with pytest.raises(FileRejected) as rejected:
        import_catalog(None, other_hospital, out.getvalue())
    assert {(e.row, e.column) for e in rejected.value.errors} == {(3, "standard_charge | max"), (3, "kind")}


def test_a_file_without_a_date_needs_an_effective_date(hospital, other_hospital, mri):
    text = edit_csv(export_csv(hospital), {2: {"last_updated_on": ""}})
    with pytest.raises(FileRejected) as rejected:
        import_catalog(None, other_hospital, text)
    assert [(e.row, e.column) for e in rejected.value.errors] == [(2, "last_updated_on")]
    assert import_catalog(None, other_hospital, text, effective_from=clock.today()).created == 1


def test_a_file_in_another_currency_is_refused(hospital, other_hospital, mri):
    text = edit_csv(export_csv(hospital), {2: {"currency": "USD"}})
    with pytest.raises(FileRejected) as rejected:
        import_catalog(None, other_hospital, text)
    assert [(e.row, e.column) for e in rejected.value.errors] == [(2, "currency")]


def test_codes_in_cms_code_columns_become_standard_codes(hospital, other_hospital, mri):
    text = export_csv(hospital)
    records = list(csv.reader(io.StringIO(text)))
    header = records[2]
    insert_at = header.index("code | 1 | type") + 1
    records[2][insert_at:insert_at] = ["code | 2", "code | 2 | type"]
    records[3][insert_at:insert_at] = ["70551", "cpt"]
    out = io.StringIO()
    csv.writer(out).writerows(records)
    import_catalog(None, other_hospital, out.getvalue())
    assert other_hospital.catalog.get().standard_codes == [{"system": "CPT", "code": "70551"}]


def test_the_cms_example_file_is_refused_column_by_column(hospital):
    example = (FIXTURES / "cms-v3-tall-example.csv").read_text(encoding="utf-8")
    with pytest.raises(FileRejected) as rejected:
        import_catalog(None, hospital, example)
    columns = {e.column for e in rejected.value.errors if e.row == 3}
    assert {"kind", "department", "description_zh_hans"} <= columns
    assert not hospital.catalog.exists()


def test_import_writes_one_audit_event_with_its_counts(hospital, other_hospital, users):
    make_catalog(hospital)
    import_catalog(users["other_coordinator"], other_hospital, export_csv(hospital))
    event = AuditEvent.objects.get(action="catalog.import")
    assert event.actor == users["other_coordinator"] and event.hospital == other_hospital
    assert event.detail["created"] == 4 and event.detail["prices_added"] == 4
    assert Price.objects.filter(item__hospital=other_hospital, created_by=users["other_coordinator"]).count() == 4


@pytest.mark.parametrize("role", ["coordinator", "clinician", "finance", "patient", "insurer_agent"])
def test_import_is_refused_to_other_hospitals_staff_and_to_non_editors(hospital, other_hospital, users, mri, role):
    with pytest.raises(PermissionDenied):
        import_catalog(users[role], other_hospital, export_csv(hospital))
    assert not other_hospital.catalog.exists()


# The command line


def write(tmp_path, text: str, name="catalog.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_command_imports_and_reports_counts(tmp_path, hospital, other_hospital):
    make_catalog(hospital)
    path = write(tmp_path, export_csv(hospital))
    out = StringIO()
    call_command("catalog", "import", "west", str(path), stdout=out)
    assert "4 created" in out.getvalue() and "4 prices added" in out.getvalue()
    assert other_hospital.catalog.count() == 4
    assert AuditEvent.objects.get(action="catalog.import").actor is None


def test_command_lists_every_problem_and_fails(tmp_path, hospital, other_hospital):
    make_catalog(hospital)
    path = write(tmp_path, edit_csv(export_csv(hospital), {4: {"kind": "x"}, 6: {"standard_charge | gross": "y"}}))
    err = StringIO()
    with pytest.raises(CommandError) as failed:
        call_command("catalog", "import", "west", str(path), stderr=err)
    lines = err.getvalue().splitlines()
    assert len(lines) == 2 and "Row 4" in lines[0] and "kind" in lines[0]
    assert "Row 6" in lines[1] and "standard_charge | gross" in lines[1]
    assert "2 problems" in str(failed.value)
    assert not other_hospital.catalog.exists()


def test_command_exits_non_zero_on_a_rejected_file(tmp_path, hospital, other_hospital, capsys):
    from django.core.management import ManagementUtility

    path = write(tmp_path, "not,a\nprice,file\n")
    with pytest.raises(SystemExit) as exited:
        ManagementUtility(["laihua", "catalog", "--skip-checks", "import", "west", str(path)]).execute()
    assert exited.value.code == 1
    assert "Row 3" in capsys.readouterr().err


def test_command_takes_an_effective_date(tmp_path, hospital, other_hospital, mri):
    path = write(tmp_path, export_csv(hospital))
    start = clock.today() + datetime.timedelta(days=7)
    call_command("catalog", "import", "west", str(path), "--effective-from", start.isoformat(), stdout=StringIO())
    assert other_hospital.catalog.get().prices.get().effective_from == start
    with pytest.raises(CommandError):
        call_command("catalog", "import", "west", str(path), "--effective-from", "next week")


def test_command_refuses_an_unknown_hospital_and_a_missing_file(tmp_path, hospital):
    with pytest.raises(CommandError, match="nowhere"):
        call_command("catalog", "export", "nowhere")
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("catalog", "import", "east", str(tmp_path / "missing.csv"))
    (tmp_path / "latin1.csv").write_bytes("description\n\xe9".encode("latin-1"))
    with pytest.raises(CommandError, match="UTF-8"):
        call_command("catalog", "import", "east", str(tmp_path / "latin1.csv"))


def test_command_exports_json_and_csv(tmp_path, hospital):
    make_catalog(hospital)
    target = tmp_path / "east.json"
    out = StringIO()
    call_command("catalog", "export", "east", "-o", str(target), stdout=out)
    assert "4 items" in out.getvalue()
    assert pricefiles.schema_errors(json.loads(target.read_text(encoding="utf-8"))) == []
    out = StringIO()
    call_command("catalog", "export", "east", "--format", "csv", stdout=out)
    assert out.getvalue() == export_csv(hospital)


def test_command_refuses_a_json_export_of_an_empty_catalog(hospital):
    with pytest.raises(CommandError):
        call_command("catalog", "export", "east", stdout=StringIO())


def test_an_excel_saved_file_with_a_byte_order_mark_imports(tmp_path, hospital, other_hospital, mri):
    path = tmp_path / "excel.csv"
    path.write_bytes(export_csv(hospital).encode("utf-8-sig"))
    call_command("catalog", "import", "west", str(path), stdout=StringIO())
    assert other_hospital.catalog.get().name["zh-hans"] == "核磁共振成像（单部位）"


def test_imported_item_is_searchable_in_both_languages(hospital, other_hospital, mri):
    from laihua.catalog.services import SearchQuery, search

    import_catalog(None, other_hospital, export_csv(hospital))
    for query in ("核磁", "mri"):
        assert {i.hospital.slug for i in search(SearchQuery(q=query))[0]} == {"east", "west"}
    assert CatalogItem.objects.filter(hospital=other_hospital, active=True).count() == 1


FORMULAS = [
    '=HYPERLINK("http://evil.example","x")',
    "+1+1",
    "-2+3",
    "@SUM(A1)",
    "'=already quoted",
]  # names are stripped, so no tab


@pytest.mark.parametrize("name", FORMULAS)
def test_a_name_a_spreadsheet_would_run_is_written_as_text_and_read_back_unchanged(hospital, other_hospital, name):
    make_catalog(hospital)
    item = hospital.catalog.get(code="HIP-PKG")
    item.name = {**item.name, "en": name}
    item.save()
    text = export_csv(hospital)
    cells = [cell for record in csv.reader(io.StringIO(text)) for cell in record]
    assert not any(cell.startswith(("=", "+", "@", "\t")) for cell in cells)
    assert "'" + name in cells
    import_catalog(None, other_hospital, text)
    assert other_hospital.catalog.get(code="HIP-PKG").name["en"] == name
    assert snapshot(other_hospital) == snapshot(hospital)


def test_the_public_price_file_neutralises_formulas(client, hospital):
    make_catalog(hospital)
    item = hospital.catalog.get(code="HIP-PKG")
    item.name = {**item.name, "en": '=HYPERLINK("http://evil.example")'}
    item.save()
    body = client.get(f"/prices/{hospital.slug}.csv").content.decode()
    assert "'=HYPERLINK" in body and ",=HYPERLINK" not in body
