"""Records' fixtures: the HL7 IPS examples (copies in tests/data), a minimal valid IPS builder, and a
case whose patient matches the HL7 examples' patient."""

import copy
import json
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"
EXAMPLES = sorted(p.name for p in DATA.iterdir() if p.suffix in (".json", ".xml"))


def example_bytes(name: str) -> bytes:
    return (DATA / name).read_bytes()


MINIMAL = json.loads((DATA / "hl7-bundle-minimal.json").read_text())


@pytest.fixture
def minimal() -> dict:
    """A fresh copy of the HL7 minimal IPS (a dict) to break rule by rule."""
    return copy.deepcopy(MINIMAL)


def as_bytes(document: dict) -> bytes:
    return json.dumps(document).encode()


@pytest.fixture
def staff(users):
    return users["clinician"]
