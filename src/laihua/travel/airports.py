"""Airports by IATA code (the `airportsdata` package): name, city, country and time zone, so that a flight's
times are typed as the airport's local time and shown in it."""

import functools

import airportsdata


@functools.cache
def _airports() -> dict[str, dict]:
    return airportsdata.load("IATA")


def airport(code: str) -> dict | None:
    """The airport with this three-letter IATA code, or None."""
    return _airports().get((code or "").strip().upper())


def label(code: str) -> str:
    """ "PVG, Shanghai Pudong International Airport" (the code alone when it is unknown)."""
    found = airport(code)
    return f"{code}, {found['name']}" if found else code


def in_mainland_china(code: str) -> bool:
    found = airport(code)
    return bool(found) and found["country"] == "CN"
