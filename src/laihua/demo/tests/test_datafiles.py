"""The demo's data files: every shipped file passes its schema, the schemas accept what the models accept, a
copied hospital file is found by its short code, and a bad file is refused, naming the file and the place of
every bad value, before the demo writes anything."""

import json
import shutil
import sys

import pytest
from django.core.management import CommandError, call_command

import laihua.demo
from laihua.accounts.models import Role, User
from laihua.capacity.models import ResourceKind, Unit
from laihua.cases.states import State
from laihua.catalog.models import Kind
from laihua.demo import datafiles
from laihua.errors import InvalidInput
from laihua.hospitals.models import Hospital
from laihua.patients.models import Sex

KINDS = sorted(
    path.name.removesuffix(".schema.json")
    for path in datafiles.SCHEMA_DIR.glob("*.schema.json")
    if path.name != "common.schema.json"
)
# The modules that read the data files when imported, in no particular order.
LOADERS = ("hospitals", "patients", "travel", "cases", "quotes", "capacity", "planning", "insurance", "records")
LOADERS += ("billing", "statements", "stay", "loader")


def schema(kind: str) -> dict:
    return json.loads((datafiles.SCHEMA_DIR / f"{kind}.schema.json").read_text())


@pytest.fixture
def data(tmp_path):
    """A copy of the shipped data files to spoil."""
    shutil.copytree(datafiles.DATA_DIR, tmp_path, dirs_exist_ok=True)
    return tmp_path


def refusal(kind: str, code: str | None, directory) -> str:
    with pytest.raises(InvalidInput) as refused:
        datafiles.read(kind, code, directory=directory)
    return str(refused.value.message)


@pytest.mark.parametrize("kind", [kind for kind in KINDS if kind not in datafiles.PER_HOSPITAL])
def test_every_shipped_file_passes_its_schema(kind):
    assert datafiles.read(kind)


def test_every_demo_hospital_has_a_file_that_passes_its_schema():
    codes = datafiles.read("demo")["hospitals"]
    assert sorted(path.stem for path in (datafiles.DATA_DIR / "hospitals").glob("*.yaml")) == sorted(codes)
    for code in codes:
        assert datafiles.read("hospital", code)["prices"]


def test_the_schemas_accept_what_the_models_accept():
    common = schema("common")["$defs"]
    assert common["kind"]["enum"] == list(Kind.values)
    assert common["role"]["enum"] == list(Role.values)
    assert common["state"]["enum"] == list(State.values)
    resource = schema("capacity")["properties"]["resources"]["items"]["properties"]
    assert resource["kind"]["enum"] == list(ResourceKind.values) and resource["unit"]["enum"] == list(Unit.values)
    patient = schema("people")["properties"]["patients"]["items"]["properties"]
    assert patient["sex"]["enum"] == list(Sex.values)


def test_a_copied_hospital_file_is_found_by_its_short_code(data):
    text = (data / "hospitals" / "huangpu.yaml").read_text()
    (data / "hospitals" / "minhang.yaml").write_text(text.replace("huangpu-international-demo", "minhang-demo"))
    hospital = datafiles.read("hospital", "minhang", directory=data)
    assert hospital["slug"] == "minhang-demo" and hospital["prices"]["RAD-MRI-1"] == 880


def test_every_bad_value_is_named_with_its_file_and_place(data):
    path = data / "hospitals" / "huangpu.yaml"
    path.write_text(path.read_text().replace("prefix: HIDH", "prefix: hidh").replace("CON-GP: 800", "CON-GP: cheap"))
    message = refusal("hospital", "huangpu", data)
    assert message.startswith("hospitals/huangpu.yaml, at prefix: 'hidh' does not match")
    assert "\nhospitals/huangpu.yaml, at prices.CON-GP: 'cheap' is not valid" in message


def test_an_unknown_field_and_a_missing_one_are_refused(data):
    path = data / "catalog.yaml"
    path.write_text(path.read_text().replace("  - code: CON-GP\n", "  - colour: red\n", 1))
    message = refusal("catalog", None, data)
    assert "catalog.yaml, at services[0]: 'code' is a required property" in message
    assert "catalog.yaml, at services[0]: Additional properties are not allowed ('colour' was unexpected)" in message


def test_a_key_given_twice_is_refused_with_its_line(data):
    path = data / "people.yaml"
    path.write_text(path.read_text().replace("password: laihua-demo-2026\n", "password: a\npassword: b\n"))
    assert refusal("people", None, data) == "people.yaml, line 4: “password” appears twice."


def test_a_file_that_is_not_yaml_is_refused_with_its_line(data):
    (data / "demo.yaml").write_text("hospitals: [huangpu\n")
    assert refusal("demo", None, data).startswith("demo.yaml, line 2: ")


def test_a_country_code_and_a_date_reach_the_schema_as_written(data):
    path = data / "people.yaml"
    path.write_text(path.read_text().replace("nationality: US", "nationality: NO", 1))
    first = datafiles.read("people", directory=data)["patients"][0]
    assert first["nationality"] == "NO" and first["date_of_birth"] == "1968-03-14"


def test_a_reference_to_something_the_data_lacks_is_refused():
    with pytest.raises(InvalidInput, match=r"^hospitals/huangpu.yaml, at prices.XR: “XR” is not one of: CON-GP.$"):
        datafiles.require("hospital", ["prices", "XR"], "XR", ["CON-GP"], code="huangpu")


def test_load_demo_refuses_a_bad_file_before_writing_anything(db, data, monkeypatch):
    path = data / "hospitals" / "pudong.yaml"
    path.write_text(path.read_text().replace("prefix: PDMC", "prefix: PD MC"))
    monkeypatch.setattr(datafiles, "DATA_DIR", data)
    for name in LOADERS:  # they read the data when imported: have the command import them afresh
        monkeypatch.delitem(sys.modules, f"laihua.demo.{name}", raising=False)
        monkeypatch.delattr(laihua.demo, name, raising=False)
    with pytest.raises(CommandError, match=r"^hospitals/pudong.yaml, at prefix: 'PD MC' does not match"):
        call_command("load_demo", verbosity=0)
    assert not Hospital.objects.exists() and not User.objects.exists()
