"""The CSV price file in the CMS v3.0.0 tall layout: general data, column headers, one row per item."""

import io
from decimal import Decimal

from laihua.catalog.pricefiles.cms import (
    CMS_VERSION,
    CURRENCY,
    FREE_CHARGE,
    LICENSE_STATE_STANDIN,
    cms_attestation_text,
    npi_standin,
)
from laihua.catalog.pricefiles.csv_columns import (
    CHARGE_COLUMNS,
    COMPONENTS,
    EXTRA_COLUMNS,
    FREE_CHARGE_COLUMNS,
    GENERAL_EXTRA_COLUMNS,
    GROSS,
    MAX,
    MIN,
)
from laihua.catalog.pricefiles.rows import PriceFile, PriceRow, generic_notes
from laihua.kit.csvdata import SafeWriter
from laihua.kit.i18n import pick


def _amount_text(value: Decimal) -> str:
    return f"{value:.2f}"


def _csv_cells(row: PriceRow, code_columns: int) -> list[str]:
    codes = row.cms_codes()
    cells = [row.name.get("en") or pick(row.name, "en")]
    for index in range(code_columns):
        cells += list(codes[index]) if index < len(codes) else ["", ""]
    charges = dict.fromkeys(CHARGE_COLUMNS, "")
    charges["setting"] = row.setting
    if row.amount_max > 0:
        charges[GROSS] = _amount_text(row.amount_max)
    else:
        # The format has no zero charge: a free item is one self-pay charge whose algorithm says so.
        for name, column in FREE_CHARGE_COLUMNS.items():
            charges[column] = FREE_CHARGE[name]
    if row.is_range:
        # A range from 0 leaves its minimum empty: the format refuses 0 as an amount.
        charges[MIN] = _amount_text(row.amount_min) if row.amount_min > 0 else ""
        charges[MAX] = _amount_text(row.amount_max)
    charges["additional_generic_notes"] = generic_notes(row)
    cells += list(charges.values())
    for name, value in row.extension().items():
        if name == "standard_codes":
            value = " | ".join(f"{c['system']}:{c['code']}" for c in value)
        elif name == COMPONENTS:
            value = ";".join(f"{c['code']}*{c['quantity']}" for c in value)
        cells.append("" if value is None else str(value))
    return cells


def csv_text(pricefile: PriceFile) -> str:
    """The tall CSV: general data (rows 1-2), column headers (row 3), then one row per item."""
    code_columns = max([len(row.cms_codes()) for row in pricefile.rows] + [1])
    item_header = ["description"]
    for index in range(1, code_columns + 1):
        item_header += [f"code | {index}", f"code | {index} | type"]
    item_header += CHARGE_COLUMNS + EXTRA_COLUMNS
    general_header = [
        "hospital_name",
        "last_updated_on",
        "version",
        "location_name",
        "hospital_address",
        f"license_number|{LICENSE_STATE_STANDIN}",
        "type_2_npi",
        cms_attestation_text(),
        "attester_name",
        *GENERAL_EXTRA_COLUMNS,
    ]
    general_values = [
        pricefile.hospital_name,
        pricefile.last_updated_on.isoformat(),
        CMS_VERSION,
        pricefile.hospital_name,
        pricefile.hospital_address,
        "",
        npi_standin(pricefile.hospital),
        "false",
        pricefile.hospital_name,
        pricefile.hospital.name.get("zh-hans", ""),
        pricefile.hospital_address_zh,
        CURRENCY,
        pricefile.statement(),
    ]
    width = max(len(item_header), len(general_header))
    out = io.StringIO()
    writer = SafeWriter(out)
    writer.writerow(general_header + [""] * (width - len(general_header)))
    writer.writerow(general_values + [""] * (width - len(general_values)))
    writer.writerow(item_header)
    for row in pricefile.rows:
        writer.writerow(_csv_cells(row, code_columns))
    return out.getvalue()
