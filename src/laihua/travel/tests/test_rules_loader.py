import datetime

import pytest
from django.core.management import CommandError, call_command

from laihua.audit.models import AuditEvent
from laihua.errors import InvalidInput
from laihua.travel import rules
from laihua.travel.models import EntryScheme, SchemeCountry

pytestmark = pytest.mark.django_db

HEADER = "scheme,country,valid_from,valid_until,source_title,source_url,note_en,note_zh-hans\n"
GOOD = "visa_free_30,SG,2030-01-01,2030-12-31,Test source,https://example.org/a,,\n"


def countries_file(tmp_path, *rows, header=HEADER):
    path = tmp_path / "countries.csv"
    path.write_text(header + "".join(rows), encoding="utf-8")
    return path


def load(path, **options):
    return rules.load_entry_rules(None, schemes_file=None, countries_file=path, **options)


@pytest.mark.parametrize(
    ("row", "line", "column"),
    [
        ("visa_free_30,ZZ,2030-01-01,,Source,,,\n", 3, "country"),
        ("visa_free_30,SG,2030-13-01,,Source,,,\n", 3, "valid_from"),
        ("visa_free_30,SG,,,Source,,,\n", 3, "valid_from"),
        ("visa_free_30,NZ,2030-05-01,2030-04-01,Source,,,\n", 3, "valid_until"),
        ("no_such_scheme,SG,2030-01-01,,Source,,,\n", 3, "scheme"),
        ("visa_free_30,NZ,2030-01-01,,,,,\n", 3, "source_title"),
        ("visa_free_30,NZ,2030-01-01,,Source,not a url,,\n", 3, "source_url"),
        ("visa_free_30,SG,2030-06-01,,Source,,,\n", 3, "valid_from"),  # overlaps the good row
        ("visa_free_30,NZ,2030-01-01,,Source,,,,extra\n", 3, "9"),
    ],
)
def test_loader_rejects_a_bad_row_naming_row_and_column_and_loads_nothing(tmp_path, row, line, column):
    before = SchemeCountry.objects.count()
    with pytest.raises(InvalidInput) as error:
        load(countries_file(tmp_path, GOOD, row))
    message = str(error.value.message)
    assert f"row {line}" in message and f"column {column}" in message
    assert error.value.field == column
    assert SchemeCountry.objects.count() == before  # the good row before it was not loaded either
    assert not SchemeCountry.objects.filter(country="SG", scheme__code="visa_free_30").exists()


def test_loader_rejects_a_file_missing_a_column(tmp_path):
    with pytest.raises(InvalidInput) as error:
        load(countries_file(tmp_path, "visa_free_30,SG\n", header="scheme,country\n"))
    assert "valid_from" in str(error.value.message)


def test_loading_the_shipped_files_again_adds_nothing(db):
    before = SchemeCountry.objects.count()
    summary = rules.load_entry_rules()
    assert (summary.schemes_created, summary.countries_created) == (0, 0)
    assert summary.countries_unchanged == before and summary.kept == []
    assert not AuditEvent.objects.filter(action="travel.entry_rules.load").exists()


def test_loader_adds_new_rows_once_and_audits(tmp_path):
    path = countries_file(tmp_path, GOOD)
    assert load(path).countries_created == 1
    assert load(path).countries_created == 0
    entry = SchemeCountry.objects.get(scheme__code="visa_free_30", country="SG")
    assert entry.valid_until == datetime.date(2030, 12, 31) and entry.source_url == "https://example.org/a"
    assert AuditEvent.objects.filter(action="travel.entry_rules.load").count() == 1


def test_an_admins_edit_is_kept_and_reported_unless_overwrite():
    france = SchemeCountry.objects.get(scheme__code="visa_free_30", country="FR")
    france.valid_until = datetime.date(2027, 12, 31)
    france.save()
    summary = rules.load_entry_rules()
    assert any("FR" in line and "valid_until" in line for line in summary.kept)
    france.refresh_from_db()
    assert france.valid_until == datetime.date(2027, 12, 31)
    assert rules.load_entry_rules(overwrite=True).countries_updated == 1
    france.refresh_from_db()
    assert france.valid_until == datetime.date(2026, 12, 31)


def test_a_platform_admin_may_load_but_nobody_else(users):
    from laihua.errors import PermissionDenied

    assert rules.load_entry_rules(users["platform_admin"]).countries_created == 0
    with pytest.raises(PermissionDenied):
        rules.load_entry_rules(users["hospital_admin"])


def test_command_reports_counts(capsys):
    call_command("entry_rules", "load")
    out = capsys.readouterr().out
    assert "Entry schemes: 0 added" in out and "Countries: 0 added, 0 replaced, 163 kept" in out


def test_command_refuses_a_bad_file_naming_row_and_column(tmp_path):
    path = countries_file(tmp_path, GOOD, "visa_free_30,SG,2031-01-01,someday,Source,,,\n")
    with pytest.raises(CommandError) as error:
        call_command("entry_rules", "load", str(path))
    assert "row 3" in str(error.value) and "column valid_until" in str(error.value)
    assert "Nothing was loaded" in str(error.value)


def test_command_loads_a_schemes_file_with_its_countries(tmp_path):
    schemes = tmp_path / "schemes.csv"
    schemes.write_text(
        "code,order,name_en,name_zh-hans,max_stay_days,medical_purpose,onward_ticket_required,all_nationalities,"
        "only_in_cities,source_title,source_url\n"
        "mutual_30,5,Mutual visa exemption,互免签证,30,yes,no,no,,Agreement text,https://example.org/m\n",
        encoding="utf-8",
    )
    path = countries_file(tmp_path, "mutual_30,SG,2024-02-09,,Agreement text,,,\n")
    call_command("entry_rules", "load", str(path), "--schemes", str(schemes))
    scheme = EntryScheme.objects.get(code="mutual_30")
    assert scheme.medical_purpose and scheme.countries.get().country.code == "SG"


def test_schemes_file_rejects_a_bad_flag_naming_row_and_column(tmp_path):
    schemes = tmp_path / "schemes.csv"
    schemes.write_text(
        "code,order,name_en,name_zh-hans,max_stay_days,medical_purpose,onward_ticket_required,all_nationalities,"
        "only_in_cities,source_title,source_url\n"
        "mutual_30,5,Mutual,互免,30,perhaps,no,no,,Agreement,\n",
        encoding="utf-8",
    )
    with pytest.raises(InvalidInput) as error:
        rules.load_entry_rules(None, schemes_file=schemes, countries_file=countries_file(tmp_path))
    assert "row 2" in str(error.value.message) and error.value.field == "medical_purpose"
    assert not EntryScheme.objects.filter(code="mutual_30").exists()
