"""The CMS hospital price transparency format 3.0.0: its version, the shipped JSON schema, the stand-ins
for what only US hospitals have, the code types and settings, and validation against the schema."""

import json
from functools import cache
from pathlib import Path

from laihua.catalog.models import Kind
from laihua.hospitals.models import Hospital

CMS_VERSION = "3.0.0"
CURRENCY = "CNY"
SCHEMA_PATH = Path(__file__).parent.parent / "data" / "cms-hpt-v3.0.0-schema.json"

# The CMS schema requires a US licensing state and type 2 NPIs, neither of which a Chinese hospital has.
# The files carry these stand-ins so that they validate, confirm_attestation is false, and the
# publisher_statement in every file says so (docs/price-files.md, "Fields the US format requires").
LICENSE_STATE_STANDIN = "DC"


# The format has no zero charge (a gross charge must be positive): a free item is stated, in both the JSON
# and the CSV file, as one self-pay charge whose "algorithm" says that it is free.
FREE_CHARGE = {
    "payer_name": "Self-pay",
    "plan_name": "International patients",
    "methodology": "other",
    "algorithm": "No charge",
    "count": "0",
}


def npi_standin(hospital: Hospital) -> str:
    return f"laihua:{hospital.slug}"


@cache
def cms_schema() -> dict:
    """The CMS v3.0.0 JSON schema shipped with the application (source noted in data/README.md)."""
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def cms_attestation_text() -> str:
    return cms_schema()["definitions"]["attestation"]["properties"]["attestation"]["const"]


def cms_code_types() -> frozenset[str]:
    return frozenset(cms_schema()["definitions"]["code_information"]["properties"]["type"]["enum"])


# Standard code systems kept under a broader CMS code type. Systems that are CMS code types themselves
# (CPT, HCPCS, ICD, DRG, ...) keep their name; any other system has no CMS code type and appears only
# in the standard_codes element, where every standard code keeps its exact system.
CODE_TYPE_ALIASES = {
    "ICD-9-CM": "ICD",
    "ICD-9-CM-3": "ICD",
    "ICD-10": "ICD",
    "ICD-10-CM": "ICD",
    "ICD-10-PCS": "ICD",
    "ICD-11": "ICD",
    "CHS-DRG": "DRG",
    "C-DRG": "DRG",
}
# NDC codes need drug_information (unit and type of measurement) that the catalog does not hold.
CODE_TYPES_NOT_LISTED = frozenset({"NDC"})


def cms_code_type(system: str) -> str | None:
    """The CMS code type a standard code is listed under, or None when the format has none for it."""
    key = (system or "").strip().upper()
    if key in CODE_TYPES_NOT_LISTED:
        return None
    if key in cms_code_types():
        return key
    return CODE_TYPE_ALIASES.get(key)


def setting_for(kind: str, stay_days: int | None) -> str:
    """The CMS setting (outpatient, inpatient or both), by the kind of service and whether it has a stay."""
    if kind == Kind.INPATIENT_DAY:
        return "inpatient"
    if kind in (Kind.PROCEDURE, Kind.PACKAGE) and stay_days:
        return "inpatient"
    if kind == Kind.PROCEDURE:
        return "both"
    return "outpatient"


def schema_errors(document: dict) -> list[str]:
    """Every way the document departs from the shipped CMS v3.0.0 schema (empty when valid)."""
    from jsonschema import Draft7Validator, FormatChecker

    validator = Draft7Validator(cms_schema(), format_checker=FormatChecker())
    return [
        f"{'/'.join(str(p) for p in error.absolute_path) or '(document)'}: {error.message}"
        for error in sorted(validator.iter_errors(document), key=lambda e: list(map(str, e.absolute_path)))
    ]
