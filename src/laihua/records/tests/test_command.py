"""`laihua records import`: files and folders, a summary, and a non-zero exit on any rejection."""

import io
import json
import shutil

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from laihua.records.models import IpsDocument
from laihua.records.tests.conftest import DATA, JUDGE_EXAMPLE, SHARED

pytestmark = pytest.mark.django_db


def run(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("records", "import", *args, "--no-progress", stdout=out, stderr=err)
    return out.getvalue()


def test_imports_a_folder_and_summarises(case, tmp_path):
    for path in DATA.iterdir():
        if path.suffix in (".json", ".xml") and path.name != JUDGE_EXAMPLE:
            shutil.copy(path, tmp_path / path.name)
    output = run(str(tmp_path), "--case", case.reference)
    assert output.count("accepted  ") == 3
    assert output.strip().endswith("3 accepted, 0 already stored, 0 rejected.")
    assert IpsDocument.objects.filter(case=case).count() == 3
    again = run(str(tmp_path / "hl7-bundle-minimal.json"), "--case", case.reference)
    assert again.strip().endswith("0 accepted, 1 already stored, 0 rejected.")


def test_a_rejected_file_gives_its_reasons_and_exit_status_1(case, tmp_path, minimal):
    del minimal["timestamp"]
    (tmp_path / "bad.json").write_text(json.dumps(minimal))
    shutil.copy(DATA / "hl7-bundle-minimal.json", tmp_path / "good.json")
    out = io.StringIO()
    with pytest.raises(CommandError) as caught:
        call_command(
            "records",
            "import",
            str(tmp_path),
            str(tmp_path / "missing.xml"),
            "--case",
            case.reference,
            "--no-progress",
            stdout=out,
            stderr=io.StringIO(),
        )
    assert caught.value.returncode == 1
    assert "1 accepted, 0 already stored, 2 rejected." in str(caught.value)
    text = out.getvalue()
    assert "rejected  " + str(tmp_path / "bad.json") in text
    assert "Bundle.timestamp: A document Bundle needs a timestamp." in text
    assert "No such file or folder." in text
    assert IpsDocument.objects.count() == 1


def test_import_as_a_user_checks_their_access(case, users, tmp_path):
    shutil.copy(DATA / "hl7-bundle-minimal.json", tmp_path / "good.json")
    with pytest.raises(CommandError) as caught:
        call_command(
            "records",
            "import",
            str(tmp_path),
            "--case",
            case.reference,
            "--user",
            users["other_coordinator"].username,
            "--no-progress",
            stdout=io.StringIO(),
            stderr=io.StringIO(),
        )
    assert caught.value.returncode == 1
    assert not IpsDocument.objects.exists()


def test_the_shared_hl7_examples_import_when_present(case, case_for, tmp_path):
    if not SHARED.is_dir():
        pytest.skip("../shared/fixtures/ips is not here (fresh clone)")
    theirs = [p for p in SHARED.iterdir() if p.name != JUDGE_EXAMPLE]
    assert len(theirs) == 3
    output = run(*(str(p) for p in theirs), "--case", case.reference)
    assert output.strip().endswith("3 accepted, 0 already stored, 0 rejected.")
    output = run(str(SHARED / JUDGE_EXAMPLE), "--case", case_for(JUDGE_EXAMPLE).reference)
    assert output.strip().endswith("1 accepted, 0 already stored, 0 rejected.")
