"""Is the Patient of an imported document the case's patient?

Compared: the family and the given names, the birth date, the sex and, where the document carries one
as a `Patient.identifier`, the passport number. Names are compared without case, accents, spacing or
order, and with the passport's Latin spelling: a name written with umlauts, in Cyrillic or in Greek
matches the passport's Latin letters as ICAO Doc 9303 spells them (Müller is MUELLER or MULLER,
Иванова is IVANOVA), and a document that swaps the family and the given names still matches. A name
matches when any of the document's names does. A document without a name or a birth date cannot be
matched; its sex and passport are compared only when it gives them.

`differences()` returns one entry per field that differs, each naming the element of the document and
both values; the case's passport number is shown masked.
"""

import itertools
import re
import unicodedata

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from laihua.kit.crypto import mask

FIELDS = {
    "family_name": gettext_lazy("family name"),
    "given_names": gettext_lazy("given names"),
    "birth_date": gettext_lazy("birth date"),
    "sex": gettext_lazy("sex"),
    "passport_number": gettext_lazy("passport number"),
}
GENDER = {"F": "female", "M": "male", "X": "other"}
PASSPORT_TYPE = ("http://terminology.hl7.org/CodeSystem/v2-0203", "PPN")
PASSPORT_SYSTEM = "http://hl7.org/fhir/sid/passport-"  # + the ISO 3166 alpha-3 code of the issuing country
PASSPORT_OID = "urn:oid:2.16.840.1.113883.4.330."  # + the ISO 3166 numeric code of the issuing country

# ICAO Doc 9303 part 3: Cyrillic and Greek in the Latin letters of passports; and the older spelling
# of Cyrillic that many passports still carry (Я YA, Ю YU, Й Y, Ъ left out).
_ICAO_CYRILLIC = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh", "з": "z", "и": "i",
    "й": "i", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t",
    "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "ie", "ы": "y",
    "ь": "", "э": "e", "ю": "iu", "я": "ia", "є": "ie", "і": "i", "ї": "i", "ґ": "g", "ў": "u", "ђ": "d",
    "ј": "j", "љ": "lj", "њ": "nj", "ћ": "c", "џ": "dz", "ѓ": "g", "ќ": "k", "ѕ": "dz",
}  # fmt: skip
_OLDER_CYRILLIC = {**_ICAO_CYRILLIC, "й": "y", "ъ": "", "ю": "yu", "я": "ya", "є": "ye", "ї": "yi"}
GREEK = {
    "α": "a", "β": "v", "γ": "g", "δ": "d", "ε": "e", "ζ": "z", "η": "i", "θ": "th", "ι": "i", "κ": "k",
    "λ": "l", "μ": "m", "ν": "n", "ξ": "x", "ο": "o", "π": "p", "ρ": "r", "σ": "s", "ς": "s", "τ": "t",
    "υ": "y", "φ": "f", "χ": "ch", "ψ": "ps", "ω": "o",
}  # fmt: skip
# Letters without a decomposition; the umlauts and å have two passport spellings (ICAO: "AE or A").
LETTERS = {"ß": "ss", "æ": "ae", "ø": "oe", "œ": "oe", "þ": "th", "ð": "d", "đ": "d", "ł": "l", "ı": "i", "ŋ": "n"}
EXPANDED = {"ä": "ae", "ö": "oe", "ü": "ue", "å": "aa"}
# The spellings tried: (umlauts expanded, Cyrillic table).
SPELLINGS = [(False, _ICAO_CYRILLIC), (True, _ICAO_CYRILLIC), (False, _OLDER_CYRILLIC)]
MAX_PERMUTED = 6


def _latin(text: str, expand: bool, cyrillic: dict) -> str:
    """The text in lower-case Latin letters without accents (Greek letters lose their accents first)."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    base = "".join(c for c in decomposed if not unicodedata.combining(c) or c in "\u0306\u0308\u030a")
    text = unicodedata.normalize("NFC", base).replace("ου", "ou")  # ELOT 743, the Greek passports' spelling
    out = []
    for char in text:
        if expand and char in EXPANDED:
            out.append(EXPANDED[char])
        else:
            out.append(cyrillic.get(char) if char in cyrillic else GREEK.get(char, LETTERS.get(char, char)))
    decomposed = unicodedata.normalize("NFKD", "".join(out))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _spellings(parts: list[str]) -> set[str]:
    """Every way of writing the name's words together, in any order, without spaces, in each spelling."""
    out = set()
    for expand, cyrillic in SPELLINGS:
        words = [w for w in re.split(r"[^0-9a-z]+", _latin(" ".join(parts), expand, cyrillic)) if w]
        if not words:
            continue
        if len(words) <= MAX_PERMUTED:
            out |= {"".join(p) for p in itertools.permutations(words)}
        else:
            out |= {"".join(words), "".join(sorted(words))}
    return out


def same_name(first: list[str], second: list[str]) -> bool:
    """Whether two names (lists of their words) are the same without case, accents, spacing or order."""
    return bool(_spellings(first) & _spellings(second))


def _strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def _names(resource: dict) -> list[tuple[int, list[str], list[str], str]]:
    """(index, family words, given words, text) of each of the document's names."""
    out = []
    for index, name in enumerate(resource.get("name") or []):
        if not isinstance(name, dict):
            continue
        family, given = _strings(name.get("family")), _strings(name.get("given"))
        text = name.get("text") if isinstance(name.get("text"), str) else ""
        if family or given or text:
            out.append((index, family, given, text))
    return out


def _shown(words: list[str], text: str = "") -> str:
    return " ".join(words) or text or "—"


def _name_differences(resource: dict, patient, where: str) -> list[dict]:
    family, given = [patient.family_name], patient.given_names.split()
    names = _names(resource)
    if not names:
        return [
            _difference("family_name", f"{where}.name", "—", patient.family_name),
            _difference("given_names", f"{where}.name", "—", patient.given_names or "—"),
        ]
    best = None
    for index, doc_family, doc_given, text in names:
        if doc_family or doc_given:
            family_ok = same_name(doc_family, family)
            given_ok = same_name(doc_given, given) if (doc_given or given) else True
            if not (family_ok and given_ok) and same_name(doc_family + doc_given, family + given):
                family_ok = given_ok = True  # written in the other order
        else:  # only the name as text
            family_ok = given_ok = same_name([text], family + given)
        score = family_ok + given_ok
        if best is None or score > best[0]:
            best = (score, index, doc_family, doc_given, text, family_ok, given_ok)
    _score, index, doc_family, doc_given, text, family_ok, given_ok = best
    out = []
    if not family_ok:
        element = "family" if doc_family else "text" if text else "family"
        out.append(
            _difference(
                "family_name", f"{where}.name[{index}].{element}", _shown(doc_family, text), patient.family_name
            )
        )
    if not given_ok:
        element = "given" if doc_given else "text" if text else "given"
        out.append(
            _difference(
                "given_names", f"{where}.name[{index}].{element}", _shown(doc_given, text), patient.given_names or "—"
            )
        )
    return out


def _passport_country(identifier: dict) -> str | None:
    """The issuing country's alpha-2 code when the identifier's system names it, else None."""
    from django_countries import countries

    system = identifier.get("system") or ""
    if system.startswith(PASSPORT_SYSTEM):
        return countries.alpha2(system[len(PASSPORT_SYSTEM) :].upper()) or None
    if system.startswith(PASSPORT_OID):
        number = system[len(PASSPORT_OID) :]
        return countries.alpha2(int(number)) or None if number.isdigit() else None
    return None


def passports(resource: dict) -> list[tuple[int, str, str | None]]:
    """(index, number, issuing country or None) of the passport numbers among the Patient's identifiers."""
    out = []
    for index, identifier in enumerate(resource.get("identifier") or []):
        if not isinstance(identifier, dict) or not isinstance(identifier.get("value"), str):
            continue
        system = identifier.get("system") or ""
        codings = (identifier.get("type") or {}).get("coding") or []
        typed = any(
            isinstance(c, dict) and (c.get("system"), c.get("code")) == PASSPORT_TYPE for c in codings
        ) or system.startswith((PASSPORT_SYSTEM, PASSPORT_OID))
        if typed:
            out.append((index, identifier["value"], _passport_country(identifier)))
    return out


def _passport_key(value: str) -> str:
    return re.sub(r"[^0-9A-Z]", "", value.upper())


def _difference(field: str, expression: str, document: str, patient: str) -> dict:
    return {"field": field, "expression": expression, "document": str(document), "patient": str(patient)}


def differences(resource: dict, patient, where: str = "Patient") -> list[dict]:
    """The fields in which the document's Patient (a FHIR JSON dict at `where`) differs from the case's patient."""
    out = _name_differences(resource, patient, where)
    birth = resource.get("birthDate")
    born = patient.date_of_birth.isoformat()
    if not isinstance(birth, str) or not birth:
        out.append(_difference("birth_date", f"{where}.birthDate", "—", born))
    elif not born.startswith(birth):  # FHIR allows a year or a year and month
        out.append(_difference("birth_date", f"{where}.birthDate", birth, born))
    gender = resource.get("gender")
    if gender in ("female", "male", "other") and gender != GENDER.get(patient.sex):
        out.append(_difference("sex", f"{where}.gender", gender, GENDER.get(patient.sex, patient.sex)))
    own = patient.passport_number or ""
    nationality = str(patient.nationality or "")
    compared = [(i, number) for i, number, country in passports(resource) if country in (None, nationality)]
    if own and compared and not any(_passport_key(number) == _passport_key(own) for _i, number in compared):
        index, number = compared[0]
        out.append(_difference("passport_number", f"{where}.identifier[{index}].value", number, mask(own)))
    return out


def describe(difference: dict) -> str:
    """One difference in words: "birth date: the document says 1972-05-01, the case's patient 1968-03-02"."""
    return _("%(field)s: the document says %(document)s; the case's patient: %(patient)s") % {
        "field": FIELDS.get(difference["field"], difference["field"]),
        "document": difference["document"],
        "patient": difference["patient"],
    }
