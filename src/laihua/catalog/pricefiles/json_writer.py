"""The JSON price file: the CMS v3.0.0 document, one standard_charge_information entry per row."""

import json
from decimal import Decimal

from django.utils.translation import gettext as _

from laihua.catalog.pricefiles.cms import (
    CMS_VERSION,
    CURRENCY,
    FREE_CHARGE,
    LICENSE_STATE_STANDIN,
    cms_attestation_text,
    npi_standin,
)
from laihua.catalog.pricefiles.rows import PriceFile, PriceRow, bilingual, generic_notes
from laihua.kit.i18n import pick


def _charge(row: PriceRow) -> dict:
    charge: dict = {"setting": row.setting}
    if row.is_range:
        if row.amount_min > 0:
            charge["minimum"] = row.amount_min
        charge["maximum"] = row.amount_max
        charge["gross_charge"] = row.amount_max
    elif row.amount_min > 0:
        charge["gross_charge"] = row.amount_min
    else:
        # The format has no zero charge: a free item is stated as a self-pay "algorithm" that says so.
        charge["payers_information"] = [
            {
                "payer_name": FREE_CHARGE["payer_name"],
                "plan_name": FREE_CHARGE["plan_name"],
                "methodology": FREE_CHARGE["methodology"],
                "standard_charge_algorithm": FREE_CHARGE["algorithm"],
                "count": FREE_CHARGE["count"],
                "additional_payer_notes": bilingual(lambda: _("This item is free of charge.")),
            }
        ]
    charge["additional_generic_notes"] = generic_notes(row)
    return charge


def _charge_information(row: PriceRow) -> dict:
    entry = {
        "description": row.name.get("en") or pick(row.name, "en"),
        "code_information": [{"code": code, "type": code_type} for code, code_type in row.cms_codes()],
        "standard_charges": [_charge(row)],
    }
    entry.update(row.extension())
    return entry


def json_document(pricefile: PriceFile) -> dict:
    """The CMS v3.0.0 JSON document (amounts as Decimal); valid against the schema when it lists any item."""
    return {
        "hospital_name": pricefile.hospital_name,
        "last_updated_on": pricefile.last_updated_on.isoformat(),
        "version": CMS_VERSION,
        "location_name": [pricefile.hospital_name],
        "hospital_address": [pricefile.hospital_address],
        "license_information": {"state": LICENSE_STATE_STANDIN},
        "type_2_npi": [npi_standin(pricefile.hospital)],
        "attestation": {
            "attestation": cms_attestation_text(),
            "confirm_attestation": False,
            "attester_name": pricefile.hospital_name,
        },
        "hospital_name_zh_hans": pricefile.hospital.name.get("zh-hans", ""),
        "hospital_address_zh_hans": pricefile.hospital_address_zh,
        "currency": CURRENCY,
        "publisher_statement": pricefile.statement(),
        "standard_charge_information": [_charge_information(row) for row in pricefile.rows],
    }


def _json_default(value):
    if isinstance(value, Decimal):
        # JSON has no decimal type. Amounts have at most 12 digits and 2 decimals, which a float's
        # shortest repr writes back exactly, so the text in the file is the exact amount.
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def json_text(pricefile: PriceFile) -> str:
    return json.dumps(json_document(pricefile), default=_json_default, ensure_ascii=False, indent=2) + "\n"
