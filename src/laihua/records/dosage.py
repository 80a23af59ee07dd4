"""A structured FHIR Dosage (dose, route, timing, as needed) in words, in the active language:
"1 tablet by mouth twice a day" / "口服，每次1片，每日2次".

Each part is a translated message, and the order of the parts is a translated message too (English
says the dose first, Chinese the route), so every language reads naturally. A dosage with nothing
structured is its text as written.
"""

from decimal import Decimal, InvalidOperation

from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, ngettext, pgettext

# The dose's unit (its `unit`, `code` or a SNOMED CT dose form) as a countable word or a metric unit.
COUNTABLE = {
    "tablet": lambda n, shown: ngettext("%(n)s tablet", "%(n)s tablets", n) % {"n": shown},
    "capsule": lambda n, shown: ngettext("%(n)s capsule", "%(n)s capsules", n) % {"n": shown},
    "drop": lambda n, shown: ngettext("%(n)s drop", "%(n)s drops", n) % {"n": shown},
    "puff": lambda n, shown: ngettext("%(n)s puff", "%(n)s puffs", n) % {"n": shown},
    "patch": lambda n, shown: ngettext("%(n)s patch", "%(n)s patches", n) % {"n": shown},
    "sachet": lambda n, shown: ngettext("%(n)s sachet", "%(n)s sachets", n) % {"n": shown},
    "suppository": lambda n, shown: ngettext("%(n)s suppository", "%(n)s suppositories", n) % {"n": shown},
    "unit": lambda n, shown: ngettext("%(n)s unit", "%(n)s units", n) % {"n": shown},
    "iu": lambda n, shown: ngettext("%(n)s international unit", "%(n)s international units", n) % {"n": shown},
    "mg": lambda n, shown: _("%(n)s mg") % {"n": shown},
    "g": lambda n, shown: _("%(n)s g") % {"n": shown},
    "mcg": lambda n, shown: _("%(n)s µg") % {"n": shown},
    "ml": lambda n, shown: _("%(n)s mL") % {"n": shown},
}
UNIT_NAMES = {
    "tablet": "tablet",
    "tab": "tablet",
    "tbl": "tablet",
    "732936001": "tablet",
    "385055001": "tablet",
    "capsule": "capsule",
    "cap": "capsule",
    "732937005": "capsule",
    "drop": "drop",
    "drp": "drop",
    "gtt": "drop",
    "puff": "puff",
    "actuation": "puff",
    "patch": "patch",
    "sachet": "sachet",
    "suppository": "suppository",
    "unit": "unit",
    "u": "unit",
    "iu": "iu",
    "mg": "mg",
    "g": "g",
    "mcg": "mcg",
    "ug": "mcg",
    "µg": "mcg",
    "ml": "ml",
}
# Routes by SNOMED CT or EDQM code, else by a word of their display or text.
ROUTES = {
    "oral": gettext_noop("by mouth"),
    "sublingual": gettext_noop("under the tongue"),
    "intravenous": gettext_noop("into a vein"),
    "intramuscular": gettext_noop("into a muscle"),
    "subcutaneous": gettext_noop("under the skin"),
    "topical": gettext_noop("on the skin"),
    "transdermal": gettext_noop("through the skin"),
    "inhalation": gettext_noop("by inhalation"),
    "nasal": gettext_noop("in the nose"),
    "eye": gettext_noop("in the eye"),
    "rectal": gettext_noop("rectally"),
    "vaginal": gettext_noop("vaginally"),
}
ROUTE_CODES = {
    "26643006": "oral",
    "20053000": "oral",
    "37839007": "sublingual",
    "47625008": "intravenous",
    "78421000": "intramuscular",
    "34206005": "subcutaneous",
    "6064005": "topical",
    "45890007": "transdermal",
    "447694001": "inhalation",
    "18679011000001101": "inhalation",
    "46713006": "nasal",
    "54485002": "eye",
    "37161004": "rectal",
    "16857009": "vaginal",
}
ROUTE_WORDS = (
    ("sublingual", "sublingual"),
    ("intravenous", "intravenous"),
    ("intramuscular", "intramuscular"),
    ("subcutaneous", "subcutaneous"),
    ("transdermal", "transdermal"),
    ("cutaneous", "topical"),
    ("topical", "topical"),
    ("inhal", "inhalation"),
    ("nasal", "nasal"),
    ("ophthalmic", "eye"),
    ("ocular", "eye"),
    ("rectal", "rectal"),
    ("vaginal", "vaginal"),
    ("oral", "oral"),
    ("by mouth", "oral"),
)
# Timing.repeat per period unit: (once, twice, n times) per one period; every p periods; n times every p.
FREQUENCY = {
    "h": (
        gettext_noop("once an hour"),
        gettext_noop("twice an hour"),
        gettext_noop("%(n)s times an hour"),
        gettext_noop("every %(p)s hours"),
        gettext_noop("%(n)s times every %(p)s hours"),
    ),
    "d": (
        gettext_noop("once a day"),
        gettext_noop("twice a day"),
        gettext_noop("%(n)s times a day"),
        gettext_noop("every %(p)s days"),
        gettext_noop("%(n)s times every %(p)s days"),
    ),
    "wk": (
        gettext_noop("once a week"),
        gettext_noop("twice a week"),
        gettext_noop("%(n)s times a week"),
        gettext_noop("every %(p)s weeks"),
        gettext_noop("%(n)s times every %(p)s weeks"),
    ),
    "mo": (
        gettext_noop("once a month"),
        gettext_noop("twice a month"),
        gettext_noop("%(n)s times a month"),
        gettext_noop("every %(p)s months"),
        gettext_noop("%(n)s times every %(p)s months"),
    ),
    "a": (
        gettext_noop("once a year"),
        gettext_noop("twice a year"),
        gettext_noop("%(n)s times a year"),
        gettext_noop("every %(p)s years"),
        gettext_noop("%(n)s times every %(p)s years"),
    ),
    "min": (
        gettext_noop("once a minute"),
        gettext_noop("twice a minute"),
        gettext_noop("%(n)s times a minute"),
        gettext_noop("every %(p)s minutes"),
        gettext_noop("%(n)s times every %(p)s minutes"),
    ),
}
# FHIR timing abbreviations (http://terminology.hl7.org/CodeSystem/v3-GTSAbbreviation) as repeats.
TIMING_CODES = {
    "QD": (1, 1, "d"),
    "BID": (2, 1, "d"),
    "TID": (3, 1, "d"),
    "QID": (4, 1, "d"),
    "QOD": (1, 2, "d"),
    "Q4H": (1, 4, "h"),
    "Q6H": (1, 6, "h"),
    "WK": (1, 1, "wk"),
    "MO": (1, 1, "mo"),
}
TIMING_WHEN_CODES = {"AM": "MORN", "PM": "EVE"}
# Timing.repeat.when (http://hl7.org/fhir/event-timing).
WHEN = {
    "MORN": gettext_noop("in the morning"),
    "AFT": gettext_noop("in the afternoon"),
    "EVE": gettext_noop("in the evening"),
    "NIGHT": gettext_noop("at night"),
    "HS": gettext_noop("at bedtime"),
    "WAKE": gettext_noop("on waking"),
    "C": gettext_noop("with meals"),
    "CM": gettext_noop("with breakfast"),
    "CD": gettext_noop("with lunch"),
    "CV": gettext_noop("with dinner"),
    "AC": gettext_noop("before meals"),
    "ACM": gettext_noop("before breakfast"),
    "ACD": gettext_noop("before lunch"),
    "ACV": gettext_noop("before dinner"),
    "PC": gettext_noop("after meals"),
    "PCM": gettext_noop("after breakfast"),
    "PCD": gettext_noop("after lunch"),
    "PCV": gettext_noop("after dinner"),
}
DURATION = {
    "d": lambda shown: _("for %(n)s days") % {"n": shown},
    "wk": lambda shown: _("for %(n)s weeks") % {"n": shown},
    "mo": lambda shown: _("for %(n)s months") % {"n": shown},
}


def number(value) -> str:
    """1 as "1", 0.5 as "0.5", 1.0 as "1", without an exponent."""
    try:
        shown = format(Decimal(str(value)).normalize(), "f")
    except (InvalidOperation, ValueError):
        return str(value)
    return shown


def _plural(value) -> int:
    try:
        return 1 if Decimal(str(value)) == 1 else 2
    except (InvalidOperation, ValueError):
        return 2


def _quantity(quantity) -> str:
    if not isinstance(quantity, dict) or quantity.get("value") is None:
        return ""
    value = quantity["value"]
    for raw in (quantity.get("code"), quantity.get("unit")):
        key = str(raw or "").strip().strip("{}[]").lower().rstrip(".")
        if key.endswith("s") and key[:-1] in UNIT_NAMES and key not in UNIT_NAMES:
            key = key[:-1]
        if key in UNIT_NAMES:
            return COUNTABLE[UNIT_NAMES[key]](_plural(value), number(value))
    unit = quantity.get("unit") or quantity.get("code") or ""
    return f"{number(value)} {unit}".strip()


def _dose(dosage: dict) -> str:
    for dose_and_rate in dosage.get("doseAndRate") or []:
        if not isinstance(dose_and_rate, dict):
            continue
        if dose_and_rate.get("doseQuantity"):
            return _quantity(dose_and_rate["doseQuantity"])
        dose_range = dose_and_rate.get("doseRange")
        if isinstance(dose_range, dict) and dose_range.get("low") and dose_range.get("high"):
            low, high = _quantity(dose_range["low"]), _quantity(dose_range["high"])
            return _("%(low)s to %(high)s") % {"low": low, "high": high}
    return ""


def _concept_words(concept) -> str:
    if not isinstance(concept, dict):
        return ""
    if concept.get("text"):
        return concept["text"]
    return next((c.get("display") for c in concept.get("coding") or [] if isinstance(c, dict) and c.get("display")), "")


def _route(dosage: dict) -> str:
    route = dosage.get("route")
    if not isinstance(route, dict):
        return ""
    for coding in route.get("coding") or []:
        if isinstance(coding, dict) and coding.get("code") in ROUTE_CODES:
            return _(ROUTES[ROUTE_CODES[coding["code"]]])
    words = _concept_words(route)
    lowered = words.lower()
    for word, name in ROUTE_WORDS:
        if word in lowered:
            return _(ROUTES[name])
    return words


def _frequency(repeat: dict) -> str:
    unit = repeat.get("periodUnit")
    if unit not in FREQUENCY:
        return ""
    once, twice, times, every, times_every = FREQUENCY[unit]
    frequency, frequency_max = repeat.get("frequency") or 1, repeat.get("frequencyMax")
    period, period_max = repeat.get("period") or 1, repeat.get("periodMax")
    n = f"{number(frequency)}–{number(frequency_max)}" if frequency_max else number(frequency)
    p = f"{number(period)}–{number(period_max)}" if period_max else number(period)
    if p == "1":
        if n == "1":
            return _(once)
        if n == "2":
            return _(twice)
        return _(times) % {"n": n}
    if n == "1":
        return _(every) % {"p": p}
    return _(times_every) % {"n": n, "p": p}


def _timing(dosage: dict) -> tuple[str, list[str]]:
    """(how often, what else the timing says: when, at what time, for how long, how many in all)."""
    timing = dosage.get("timing")
    if not isinstance(timing, dict):
        return "", []
    repeat = dict(timing.get("repeat") or {}) if isinstance(timing.get("repeat"), dict) else {}
    codes = [c.get("code") for c in (timing.get("code") or {}).get("coding") or [] if isinstance(c, dict)]
    for code in codes:
        if code in TIMING_CODES and not repeat.get("periodUnit"):
            repeat["frequency"], repeat["period"], repeat["periodUnit"] = TIMING_CODES[code]
        if code in TIMING_WHEN_CODES and not repeat.get("when"):
            repeat["when"] = [TIMING_WHEN_CODES[code]]
    often = _frequency(repeat)
    if not often and not repeat:
        often = _concept_words(timing.get("code"))
    more = [_(WHEN[w]) for w in repeat.get("when") or [] if w in WHEN]
    times = [str(t)[:5] for t in repeat.get("timeOfDay") or [] if isinstance(t, str)]
    if times:
        more.append(_("at %(times)s") % {"times": ", ".join(times)})
    bounds = repeat.get("boundsDuration")
    if isinstance(bounds, dict) and bounds.get("value") is not None:
        unit = bounds.get("code") or bounds.get("unit")
        if unit in DURATION:
            more.append(DURATION[unit](number(bounds["value"])))
    count = repeat.get("count")
    if isinstance(count, int) and count > 1:
        more.append(_("%(n)s doses in all") % {"n": count})
    return often, more


def words(dosage: dict) -> str:
    """One Dosage in words in the active language; its text as written when nothing in it is structured."""
    if not isinstance(dosage, dict):
        return ""
    dose, route = _dose(dosage), _route(dosage)
    often, more = _timing(dosage)
    parts = {"dose": dose, "route": route, "frequency": often}
    present = tuple(name for name in ("dose", "route", "frequency") if parts[name])
    if not present:
        return str(dosage.get("text") or "")
    layout = {
        ("dose", "route", "frequency"): pgettext("dosage", "%(dose)s %(route)s %(frequency)s"),
        ("dose", "route"): pgettext("dosage", "%(dose)s %(route)s"),
        ("dose", "frequency"): pgettext("dosage", "%(dose)s %(frequency)s"),
        ("route", "frequency"): pgettext("dosage", "%(route)s %(frequency)s"),
        ("dose",): pgettext("dosage", "%(dose)s"),
        ("route",): pgettext("dosage", "%(route)s"),
        ("frequency",): pgettext("dosage", "%(frequency)s"),
    }[present]
    out = layout % {name: parts[name] for name in present}
    for extra in more:
        out = pgettext("dosage", "%(dosage)s %(more)s") % {"dosage": out, "more": extra}
    if dosage.get("asNeededBoolean") is True:
        out = pgettext("dosage", "%(dosage)s, as needed") % {"dosage": out}
    elif isinstance(dosage.get("asNeededCodeableConcept"), dict):
        reason = _concept_words(dosage["asNeededCodeableConcept"])
        out = pgettext("dosage", "%(dosage)s, as needed for %(reason)s") % {"dosage": out, "reason": reason}
    return out


def in_words(dosages, language: str | None = None) -> str:
    """A list of Dosages in words ("; " between them), in `language` or the active one."""
    if not dosages:
        return ""
    if language is None:
        return "; ".join(w for w in (words(d) for d in dosages) if w)
    with translation.override(language):
        return "; ".join(w for w in (words(d) for d in dosages) if w)


def has_structure(dosages) -> bool:
    """Whether any of the Dosages says more than its text (a dose, a route or a timing)."""
    return any(isinstance(d, dict) and (d.get("doseAndRate") or d.get("route") or d.get("timing")) for d in dosages)
