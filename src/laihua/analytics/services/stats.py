"""Histograms {value: count} merged across roll-up rows, and their percentiles (nearest rank)."""

import math
from decimal import Decimal


def merge(into: dict[int, int], histogram: dict) -> dict[int, int]:
    for value, count in (histogram or {}).items():
        key = int(value)
        into[key] = into.get(key, 0) + int(count)
    return into


def add_raw(into: dict, histogram: dict | None) -> dict:
    """Merge a histogram as the roll-up row stores it (JSON: string keys, integer counts) without converting
    its keys: the hot loop of a page that merges hundreds of rows. keyed() converts the result once."""
    if histogram:
        get = into.get
        for value, count in histogram.items():
            into[value] = get(value, 0) + count
    return into


def keyed(histogram: dict) -> dict[int, int]:
    """A histogram merged by add_raw with its values as integers (string keys of the same number added)."""
    out: dict[int, int] = {}
    for value, count in histogram.items():
        key = int(value)
        out[key] = out.get(key, 0) + int(count)
    return out


def total(histogram: dict[int, int]) -> int:
    return sum(histogram.values())


def percentile(histogram: dict[int, int], share: float) -> int | None:
    """The nearest-rank percentile: the smallest value with at least share × N values at or below it
    (the median of 1, 2, 3, 4 is 2). None when the histogram is empty."""
    n = total(histogram)
    if n == 0:
        return None
    rank = max(math.ceil(share * n), 1)
    seen = 0
    for value in sorted(histogram):
        seen += histogram[value]
        if seen >= rank:
            return value
    return max(histogram)


def mean(histogram: dict[int, int]) -> Decimal | None:
    n = total(histogram)
    if n == 0:
        return None
    return (Decimal(sum(value * count for value, count in histogram.items())) / n).quantize(Decimal("0.1"))


def hours(minutes: int | None) -> Decimal | None:
    """Minutes as hours to the tenth."""
    return None if minutes is None else (Decimal(minutes) / 60).quantize(Decimal("0.1"))


def share(part: int, whole: int) -> Decimal | None:
    """part / whole as a percentage to the tenth; None when there is no whole."""
    return None if not whole else (Decimal(100) * part / whole).quantize(Decimal("0.1"))
