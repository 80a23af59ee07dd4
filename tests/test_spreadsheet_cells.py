"""Every CSV cell Laihua writes is safe to open in a spreadsheet, and reading it back gives the exact text."""

import csv
import io

from hypothesis import given
from hypothesis import strategies as st

from laihua.kit.csvdata import FORMULA_STARTS, SafeWriter, from_spreadsheet, to_spreadsheet

texts = st.text() | st.builds(
    lambda start, rest: start + rest, st.sampled_from([*FORMULA_STARTS, "'", "''"]), st.text()
)


@given(texts)
def test_escaping_is_undone_exactly(text):
    assert from_spreadsheet(to_spreadsheet(text)) == text


@given(texts)
def test_no_written_text_starts_a_formula_unless_it_is_a_number(text):
    written = to_spreadsheet(text)
    if written.startswith(FORMULA_STARTS):
        float(written)  # only a number such as -12.5 may keep its sign


@given(st.lists(texts, max_size=5))
def test_the_safe_writer_round_trips_through_the_csv_module(row):
    out = io.StringIO()
    SafeWriter(out).writerow(row)
    read = next(csv.reader(io.StringIO(out.getvalue()))) if row else []
    assert [from_spreadsheet(cell) for cell in read] == row or row == [""]


def test_numbers_keep_their_sign():
    assert to_spreadsheet("-12.50") == "-12.50" and to_spreadsheet("+3") == "+3"
    assert to_spreadsheet("=1+1") == "'=1+1" and to_spreadsheet("-1+cmd|' /C calc'!A0") == "'-1+cmd|' /C calc'!A0"
