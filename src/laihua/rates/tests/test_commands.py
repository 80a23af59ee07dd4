import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from laihua.audit.models import AuditEvent
from laihua.kit import clock
from laihua.rates import services
from laihua.rates.models import ExchangeRate

pytestmark = pytest.mark.django_db

EXAMPLE = Path(__file__).resolve().parents[4] / "docs" / "examples" / "rates.csv"


def write(tmp_path, text, name="rates.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_import_loads_a_good_file_and_prints_the_count(tmp_path, capsys):
    path = write(
        tmp_path,
        "currency,date,cny_per_unit,source\naed,2026-11-20,1.81,Bank of Demo\nKZT,2026-11-20,0.0137,Bank of Demo\n",
    )
    call_command("rates", "import", path)
    assert f"Imported 2 rates from {path}." in capsys.readouterr().out
    aed = ExchangeRate.objects.get(currency="AED")
    assert (aed.rate_date, aed.cny_per_unit, aed.source) == (
        datetime.date(2026, 11, 20),
        Decimal("1.81"),
        "Bank of Demo",
    )
    event = AuditEvent.objects.get(action="rates.import")
    assert event.actor is None and event.detail == {"rows": 2}


def test_import_of_the_documented_example_file_covers_the_currencies_the_ecb_lacks(capsys):
    call_command("rates", "import", str(EXAMPLE))
    assert set(ExchangeRate.objects.values_list("currency", flat=True)) == {"AED", "SAR", "KZT", "MNT", "RUB"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("currency,date,cny_per_unit\nAED,2026-11-20,1.81\nSAR,2026-13-01,1.77\n", "Row 3, column date"),
        (
            "currency,date,cny_per_unit\nAED,2026-11-20,1.81\nSAR,2026-11-20,zero\n",
            "Row 3, column cny_per_unit",
        ),
        ("currency,date,cny_per_unit\nDIRHAM,2026-11-20,1.81\n", "Row 2, column currency"),
        ("currency,date\nAED,2026-11-20\n", "Missing columns: cny_per_unit"),
    ],
)
def test_import_rejects_a_bad_file_naming_row_and_column_and_imports_nothing(tmp_path, text, expected):
    with pytest.raises(CommandError) as caught:
        call_command("rates", "import", write(tmp_path, text))
    assert expected in str(caught.value) and "Nothing was imported" in str(caught.value)
    assert not ExchangeRate.objects.exists()


def test_import_of_a_missing_or_binary_file_is_an_error(tmp_path):
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("rates", "import", str(tmp_path / "absent.csv"))
    binary = tmp_path / "rates.xlsx"
    binary.write_bytes(b"PK\x03\x04\xff\xfe")
    with pytest.raises(CommandError, match="not UTF-8"):
        call_command("rates", "import", str(binary))


def test_bad_file_exits_with_a_non_zero_status(tmp_path, capsys):
    from laihua.rates.management.commands.rates import Command

    path = write(tmp_path, "currency,date,cny_per_unit\nAED,yesterday,1.81\n")
    with pytest.raises(SystemExit) as exited:
        Command().run_from_argv(["laihua", "rates", "import", path])
    assert exited.value.code == 1
    assert "Row 2, column date" in capsys.readouterr().err


def test_show_prints_the_rate_used_today_with_its_date_and_source(capsys):
    call_command("rates", "show", "usd")
    rate = services.rate_for("USD")
    out = capsys.readouterr().out
    assert f"1 USD = {rate.cny_per_unit.normalize()} CNY, rate of {rate.rate_date.isoformat()}" in out
    assert services.ECB_SOURCE in out and f"used for {clock.today().isoformat()}" in out


def test_show_on_a_past_date_uses_the_table_rate_in_force_then(capsys):
    ExchangeRate.objects.create(
        currency="RUB",
        rate_date=datetime.date(2024, 6, 1),
        cny_per_unit=Decimal("0.08"),
        source="Bank of Demo",
    )
    call_command("rates", "show", "RUB", "--date", "2024-06-03")
    assert "1 RUB = 0.08 CNY, rate of 2024-06-01 (Bank of Demo), used for 2024-06-03." in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["AED"], "No exchange rate is known for AED"),
        (["XYZ"], "not an ISO 4217 currency code"),
        (["USD", "--date", "03/06/2024"], "not a date in the form YYYY-MM-DD"),
    ],
)
def test_show_without_a_usable_rate_is_an_error_never_one_to_one(args, expected):
    with pytest.raises(CommandError, match=expected):
        call_command("rates", "show", *args)
