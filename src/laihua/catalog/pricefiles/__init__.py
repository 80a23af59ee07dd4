"""Machine-readable price files: a hospital's published catalog in the CMS hospital price transparency
format 3.0.0 (JSON and tall CSV), and the reading of that CSV layout for the importer.

One row model, `PriceRow`, is what the files are written from and what the importer reads them into.
The layout (columns, code types, settings, where the Chinese texts go) is documented in docs/price-files.md.

- `cms`: the format itself (version, schema, stand-ins, code types, settings) and schema validation;
- `rows`: `PriceRow`, `PriceFile` and `price_file`, the rows read from the catalog;
- `json_writer`, `csv_writer`: the two files; `csv_columns`: the CSV's columns;
- `csv_reader`: `read_csv`, for the importer (`laihua.catalog.importer`);
- `views`: the public addresses /prices/<slug>.json and /prices/<slug>.csv.
"""

from laihua.catalog.pricefiles.cms import (
    CMS_VERSION,
    CURRENCY,
    cms_attestation_text,
    cms_code_type,
    cms_schema,
    schema_errors,
    setting_for,
)
from laihua.catalog.pricefiles.csv_columns import column_key
from laihua.catalog.pricefiles.csv_reader import FileRejected, ParsedFile, RowError, read_csv
from laihua.catalog.pricefiles.csv_writer import csv_text
from laihua.catalog.pricefiles.json_writer import json_document, json_text
from laihua.catalog.pricefiles.rows import PriceFile, PriceRow, price_file
from laihua.catalog.pricefiles.views import price_file_csv, price_file_json

__all__ = [
    "CMS_VERSION",
    "CURRENCY",
    "FileRejected",
    "ParsedFile",
    "PriceFile",
    "PriceRow",
    "RowError",
    "cms_attestation_text",
    "cms_code_type",
    "cms_schema",
    "column_key",
    "csv_text",
    "json_document",
    "json_text",
    "price_file",
    "price_file_csv",
    "price_file_json",
    "read_csv",
    "schema_errors",
    "setting_for",
]
