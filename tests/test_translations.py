"""Every message the code and templates show must have its Simplified Chinese translation."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "laihua"
CATALOG = PACKAGE / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"


@pytest.fixture(scope="module")
def fresh_catalog(tmp_path_factory):
    """makemessages over a copy of the package, merged with the shipped catalog, leaving the tree untouched."""
    if shutil.which("xgettext") is None:
        pytest.fail("gettext is not installed (make test installs it)")
    copy = tmp_path_factory.mktemp("i18n") / "laihua"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__", "*.mo", "static"))
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    django_admin = Path(sys.executable).with_name("django-admin")
    subprocess.run(
        [str(django_admin), "makemessages", "-l", "zh_Hans", "--no-obsolete", "--no-location", "-v0"],
        cwd=copy,
        env=env,
        check=True,
    )
    return polib.pofile(str(copy / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"))


def test_shipped_catalog_exists():
    assert CATALOG.exists()


def test_every_message_has_a_chinese_translation(fresh_catalog):
    missing = [entry.msgid for entry in fresh_catalog if not entry.obsolete and not entry.translated()]
    assert not missing, f"{len(missing)} messages lack a Chinese translation, e.g. {missing[:10]}"


def test_no_translation_is_fuzzy(fresh_catalog):
    fuzzy = [entry.msgid for entry in fresh_catalog.fuzzy_entries()]
    assert not fuzzy, f"fuzzy translations: {fuzzy[:10]}"


def test_placeholders_survive_translation(fresh_catalog):
    import re

    pattern = re.compile(r"%\((\w+)\)[sd]|\{(\w*)\}")
    broken = [
        entry.msgid
        for entry in fresh_catalog
        if entry.translated()
        and not entry.msgid_plural
        and sorted(pattern.findall(entry.msgid)) != sorted(pattern.findall(entry.msgstr))
    ]
    assert not broken, f"placeholders differ: {broken[:10]}"
