"""A small RFC 5545 writer for itineraries: CRLF line ends, lines folded at 75 octets, TEXT escaped,
a UID and DTSTAMP on every event, times in UTC (converted from the hospital's Asia/Shanghai time)."""

import datetime
import zoneinfo

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


def escape(text: str) -> str:
    """TEXT escaping (RFC 5545 3.3.11): backslash, semicolon, comma and new lines."""
    return (
        str(text)
        .replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
        .replace("\r", "\\n")
    )


def fold(line: str) -> str:
    """Fold a content line into parts of at most 75 octets, never splitting a UTF-8 character."""
    out, current, size = [], "", 0
    limit = 75
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > limit:
            out.append(current)
            current, size, limit = " ", 1, 75
        current += char
        size += width
    out.append(current)
    return "\r\n".join(out)


def _utc(day: datetime.date, at: datetime.time) -> str:
    local = datetime.datetime.combine(day, at, tzinfo=SHANGHAI)
    return local.astimezone(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")


def calendar(name: str, events: list[dict], *, stamp: datetime.datetime, domain: str = "laihua") -> bytes:
    """A VCALENDAR of events {uid, day, start, end (Beijing times, or None for all-day) or instant_start and
    instant_end (aware datetimes, e.g. a flight's), summary, location, description, and optionally sequence and
    status}."""
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Laihua//Trip planner//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{escape(name)}",
    ]
    dtstamp = stamp.astimezone(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    for event in events:
        lines += ["BEGIN:VEVENT", f"UID:{event['uid']}@{domain}", f"DTSTAMP:{dtstamp}"]
        lines.append(f"SEQUENCE:{int(event.get('sequence') or 0)}")
        if event.get("status"):  # CANCELLED: an event of an earlier plan that this one drops
            lines.append(f"STATUS:{event['status']}")
        if event.get("instant_start") is not None:  # an instant (a flight), written in UTC
            lines.append(f"DTSTART:{event['instant_start'].astimezone(datetime.UTC):%Y%m%dT%H%M%SZ}")
            lines.append(
                f"DTEND:{(event.get('instant_end') or event['instant_start']).astimezone(datetime.UTC):%Y%m%dT%H%M%SZ}"
            )
        elif event.get("start") is not None:
            lines.append(f"DTSTART:{_utc(event['day'], event['start'])}")
            lines.append(f"DTEND:{_utc(event['day'], event['end'] or event['start'])}")
        else:
            lines.append(f"DTSTART;VALUE=DATE:{event['day']:%Y%m%d}")
            lines.append(f"DTEND;VALUE=DATE:{event['day'] + datetime.timedelta(days=1):%Y%m%d}")
        lines.append(f"SUMMARY:{escape(event['summary'])}")
        if event.get("location"):
            lines.append(f"LOCATION:{escape(event['location'])}")
        if event.get("description"):
            lines.append(f"DESCRIPTION:{escape(event['description'])}")
        lines.append("END:VEVENT")
    lines.append("END:VCALENDAR")
    return ("\r\n".join(fold(line) for line in lines) + "\r\n").encode("utf-8")
