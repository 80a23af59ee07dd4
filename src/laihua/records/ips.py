"""Reading an International Patient Summary: parse (JSON or XML) once, check the structure with the
fhir.resources R4B models and the IPS rules, and pull out the clinical items.

Every rule reports where it failed as a FHIRPath-like location (`Bundle.entry[3].resource.subject`);
all failures are reported together, never only the first.

What breaks the document is refused (errors): a body nested deeper than `MAX_DEPTH` levels, what the
R4B models refuse, a Bundle that is not a document with an identifier (system and value, bdl-9) and a
timestamp (bdl-10), a first entry that is not a Composition, not exactly one Patient, a required
section missing or empty without a reason, a reference of the Composition or any `subject`/`patient`
that does not resolve, and an entry whose item would have neither a code nor a text. What the sender
should fix but that does not stop a reader is a warning, returned with the import and kept on the
document: a reference from an entry to a resource the sender left out (a performer, an encounter, a
recorder...), and a narrative that is not well-formed XHTML (its structured data is kept; the narrative
is shown as plain text). Laihua's own exports are held to every rule, warnings included (`strict_issues`).
"""

import hashlib
import json
from dataclasses import dataclass, field

from django.utils.translation import gettext as _
from lxml import etree

from laihua.errors import InvalidInput
from laihua.kit import fhircheck
from laihua.kit.fhirxml import XmlError, check_xhtml, xml_to_dict
from laihua.records import extraction

LOINC = "http://loinc.org"
PROBLEMS, ALLERGIES, MEDICATIONS = "11450-4", "48765-2", "10160-0"
REQUIRED_SECTIONS = {
    PROBLEMS: "problems",
    ALLERGIES: "allergies",
    MEDICATIONS: "medications",
}
MAX_ISSUES = 200
# FHIR documents nest a few dozen levels at most (a Questionnaire's items, contained resources): a body
# nested deeper is refused before anything walks it.
MAX_DEPTH = 100


class IpsInvalid(InvalidInput):
    """A document that breaks one or more rules; `issues` lists them all with their locations."""

    code = "ips_invalid"

    def __init__(self, issues: list[dict]):
        self.issues = issues[:MAX_ISSUES]
        first = issues[0] if issues else {}
        message = _("The patient summary was refused (%(count)d problems). First: %(first)s") % {
            "count": len(issues),
            "first": f"{first.get('expression', '')}: {first.get('diagnostics', '')}",
        }
        super().__init__(message, field=first.get("expression"))

    def as_dict(self) -> dict:
        return {**super().as_dict(), "issues": self.issues}


def issue(expression: str, diagnostics: str, code: str = "invalid", severity: str = "error") -> dict:
    return {"severity": severity, "code": code, "diagnostics": str(diagnostics), "expression": expression}


@dataclass
class Parsed:
    data: dict
    source_format: str
    text: str
    content_hash: str
    warnings: list = field(default_factory=list)
    rows: list | None = None
    texts: "Texts | None" = None
    structure_checked: bool = True
    check: "fhircheck.Check | None" = None

    @property
    def identifier(self) -> tuple[str, str]:
        ident = self.data.get("identifier")
        ident = ident if isinstance(ident, dict) else {}
        return str(ident.get("system") or ""), str(ident.get("value") or "")

    @property
    def composition(self) -> dict:
        return self.data["entry"][0]["resource"]

    def resources(self):
        for index, entry in enumerate(self.data.get("entry") or []):
            resource = entry.get("resource") if isinstance(entry, dict) else None
            if isinstance(resource, dict):
                yield index, entry, resource

    def patient(self) -> dict:
        return next(r for _i, _e, r in self.resources() if r.get("resourceType") == "Patient")

    def patient_location(self) -> str:
        index = next(i for i, _e, r in self.resources() if r.get("resourceType") == "Patient")
        return f"Bundle.entry[{index}].resource"


# --- parsing --------------------------------------------------------------------------------------


def decode(content: bytes | str) -> tuple[dict, str, str]:
    """(FHIR JSON dict, "json" | "xml", text) of a document, or IpsInvalid at `Bundle`."""
    data, source_format, text = _decode_only(content)
    if source_format == "json" and _json_too_deep(data):
        raise too_deep()
    return data, source_format, text


def _decode_only(content: bytes | str) -> tuple[dict, str, str]:
    """`decode` without the depth check of a JSON body (the caller makes it)."""
    if isinstance(content, bytes):
        try:
            text = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise IpsInvalid([issue("Bundle", _("The file is not UTF-8 text."), "structure")]) from None
    else:
        text = content
    stripped = text.lstrip()
    if stripped.startswith("<"):
        raw = stripped.encode("utf-8")
        if _xml_too_deep(raw):
            raise too_deep()
        try:
            return xml_to_dict(raw), "xml", text
        except XmlError as exc:
            raise IpsInvalid(
                [issue("Bundle", _("Not a FHIR XML document: %(why)s") % {"why": exc}, "structure")]
            ) from None
    try:
        data = json.loads(text)
    except RecursionError:  # nested deeper than the interpreter's own limit: far deeper than MAX_DEPTH
        raise too_deep() from None
    except ValueError as exc:
        raise IpsInvalid([issue("Bundle", _("Not valid JSON: %(why)s") % {"why": exc}, "structure")]) from None
    if not isinstance(data, dict):
        raise IpsInvalid([issue("Bundle", _("A FHIR resource is a JSON object."), "structure")])
    return data, "json", text


def _decode(content: bytes | str) -> tuple[dict, str, str, "Texts"]:
    """`decode`, and the texts of the document that the rules check (`_scan`), found in the pass that
    checks its depth."""
    data, source_format, text = _decode_only(content)
    texts = _scan(data, MAX_DEPTH if source_format == "json" else None)  # XML: its elements' depth is checked
    if texts is None:
        raise too_deep()
    return data, source_format, text, texts


def too_deep() -> IpsInvalid:
    return IpsInvalid(
        [
            issue(
                "Bundle",
                _("The document is nested deeper than %(limit)d levels; FHIR never needs that many.")
                % {"limit": MAX_DEPTH},
                "structure",
            )
        ]
    )


def _json_too_deep(data) -> bool:
    """Whether objects and lists nest deeper than MAX_DEPTH (the outermost object is level 1)."""
    return _scan(data) is None


@dataclass
class Texts:
    """What the rules read of a whole document, found in one pass: its narratives' `div` texts and, for
    each entry's resource, its `reference` texts outside contained resources."""

    divs: list = field(default_factory=list)
    references: dict = field(default_factory=dict)


def _scan(data: dict, limit: int | None = MAX_DEPTH) -> Texts | None:
    """The document's `Texts` (`_with_text` of each kind in one pass, `_name` primitive companions never
    read), or None when objects and lists nest deeper than `limit` (the outermost object is level 1; None:
    no limit). No recursion: a body of any depth is walked only as far as the limit + 1."""
    limit = limit if limit is not None else float("inf")
    texts = Texts()
    divs, references = texts.divs, texts.references
    entries = data.get("entry")
    # (node, depth, read its texts, the entry's reference list when the node is in its resource)
    stack = [(data, 1, True, None)]
    while stack:
        node, depth, read, refs = stack.pop()
        if depth > limit:
            return None
        below = depth + 1
        if isinstance(node, dict):
            if read:
                value = node.get("div")
                if isinstance(value, str):
                    divs.append(value)
                if refs is not None:
                    value = node.get("reference")
                    if isinstance(value, str):
                        refs.append(value)
            if node is data and isinstance(entries, list):
                for index, entry in enumerate(entries):
                    if isinstance(entry, dict) and isinstance(entry.get("resource"), dict):
                        if isinstance(entry.get("div"), str):
                            divs.append(entry["div"])
                        for name, value in entry.items():
                            if isinstance(value, (dict, list)):
                                if name == "resource":
                                    stack.append((value, depth + 3, True, references.setdefault(index, [])))
                                else:
                                    stack.append((value, depth + 3, not name.startswith("_"), None))
                    elif isinstance(entry, (dict, list)):
                        stack.append((entry, depth + 2, True, None))
                items = ((name, value) for name, value in node.items() if name != "entry")
            else:
                items = node.items()
            for name, value in items:
                if isinstance(value, (dict, list)):
                    if name.startswith("_"):
                        stack.append((value, below, False, None))
                    elif name == "contained":
                        stack.append((value, below, read, None))
                    else:
                        stack.append((value, below, read, refs))
        else:
            stack.extend((value, below, read, refs) for value in node if isinstance(value, (dict, list)))
    return texts


_DEPTH_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True)
_DEEPER = "/" + "/".join(["*"] * (MAX_DEPTH + 1))  # the elements at level MAX_DEPTH + 1


def _xml_too_deep(raw: bytes) -> bool:
    """Whether elements nest deeper than MAX_DEPTH (the root is level 1); a body that is not XML is
    left to the reader, which says why."""
    try:
        root = etree.fromstring(raw, parser=_DEPTH_PARSER)
    except etree.XMLSyntaxError as exc:
        return "depth" in str(exc).lower()  # deeper than even libxml2's own limit
    except ValueError:
        return False
    return bool(root.xpath(_DEEPER))


def _path(loc) -> str:
    out = "Bundle"
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif isinstance(part, str) and ("[" in part or "(" in part):
            continue  # pydantic's validator names, not FHIR elements
        else:
            out += f".{part}"
    return out


def structure_issues(data: dict) -> list[dict]:
    """What the fhir.resources R4B Bundle model refuses, each with its location."""
    if data.get("resourceType") != "Bundle":
        return [issue("Bundle", _("The document is a %(type)s, not a Bundle.") % {"type": data.get("resourceType")})]
    return _model_issues(fhircheck.bundle_errors(data))


def _model_issues(errors: list[tuple]) -> list[dict]:
    return [issue(_path(loc), msg, "required" if kind == "missing" else "structure") for loc, msg, kind in errors]


# --- the IPS rules --------------------------------------------------------------------------------


def _codes(concept) -> set[str]:
    if not isinstance(concept, dict):
        return set()
    return {c.get("code") for c in concept.get("coding") or [] if isinstance(c, dict)}


def rule_issues(data: dict, texts: Texts | None = None) -> list[dict]:
    """The IPS document rules the models do not check (`texts`: the document's, when already read)."""
    found = []
    if data.get("type") != "document":
        found.append(issue("Bundle.type", _("An IPS is a Bundle of type “document”.")))
    ident = data.get("identifier")
    if not isinstance(ident, dict) or not ident.get("value"):
        found.append(issue("Bundle.identifier", _("A document Bundle needs an identifier."), "required"))
    elif not ident.get("system"):  # bdl-9
        found.append(
            issue("Bundle.identifier.system", _("A document's identifier needs a system and a value."), "required")
        )
    if not data.get("timestamp"):  # bdl-10
        found.append(issue("Bundle.timestamp", _("A document Bundle needs a timestamp."), "required"))
    entries = data.get("entry") if isinstance(data.get("entry"), list) else []
    if not entries:
        found.append(issue("Bundle.entry", _("The document has no entries."), "required"))
        return found
    first = entries[0].get("resource") if isinstance(entries[0], dict) else None
    composition = first if isinstance(first, dict) and first.get("resourceType") == "Composition" else None
    if composition is None:
        found.append(issue("Bundle.entry[0].resource", _("The first entry of a document must be its Composition.")))
    patients = [
        i
        for i, e in enumerate(entries)
        if isinstance(e, dict)
        and isinstance(e.get("resource"), dict)
        and e["resource"].get("resourceType") == "Patient"
    ]
    if not patients:
        found.append(issue("Bundle.entry", _("The document must hold exactly one Patient; it holds none."), "required"))
    for extra in patients[1:]:
        found.append(
            issue(
                f"Bundle.entry[{extra}].resource",
                _("The document must hold exactly one Patient; this is another one."),
            )
        )
    if composition is not None:
        found += _section_issues(composition)
    found += reference_issues(entries, texts)
    return found


def _section_issues(composition: dict) -> list[dict]:
    found = []
    sections = composition.get("section") if isinstance(composition.get("section"), list) else []
    seen = {}
    for index, section in enumerate(sections):
        if isinstance(section, dict):
            for code in _codes(section.get("code")):
                seen.setdefault(code, (index, section))
    for code, name in REQUIRED_SECTIONS.items():
        if code not in seen:
            found.append(
                issue(
                    "Bundle.entry[0].resource.section",
                    _("The %(name)s section (LOINC %(code)s) is missing.") % {"name": name, "code": code},
                    "required",
                )
            )
            continue
        index, section = seen[code]
        if not section.get("entry") and not section.get("emptyReason"):
            found.append(
                issue(
                    f"Bundle.entry[0].resource.section[{index}]",
                    _("The %(name)s section has no entries and no empty-reason.") % {"name": name},
                    "required",
                )
            )
    return found


def _targets(entries: list) -> tuple[set, set]:
    full_urls, relative = set(), set()
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        if entry.get("fullUrl"):
            full_urls.add(entry["fullUrl"])
        resource = entry.get("resource")
        if isinstance(resource, dict) and resource.get("id"):
            relative.add(f"{resource.get('resourceType')}/{resource['id']}")
    return full_urls, relative


def _having(node, key: str, skip=()):
    """(trail, element) of every object below node, itself included, in document order, whose `key` is a
    text; `skip` names elements not to enter (and `_name` primitive companions are never entered). The
    trail becomes a location with `_location` (built only for what is reported). One pass, no recursion."""
    stack = [(node, None)]
    while stack:
        node, trail = stack.pop()
        if isinstance(node, dict):
            if isinstance(node.get(key), str):
                yield trail, node
            children = [
                (value, (trail, "." + name))
                for name, value in node.items()
                if isinstance(value, (dict, list)) and name not in skip and not name.startswith("_")
            ]
        else:
            children = [
                (value, (trail, f"[{index}]")) for index, value in enumerate(node) if isinstance(value, (dict, list))
            ]
        stack.extend(reversed(children))


def _with_text(node, key: str, skip=()) -> list[str]:
    """The `key` texts of every object below node, as `_having` finds them, in no particular order: the
    quick pass over the whole document (locations are found again only for what is reported)."""
    found, stack = [], [node]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            value = node.get(key)
            if isinstance(value, str):
                found.append(value)
            stack.extend(
                value
                for name, value in node.items()
                if isinstance(value, (dict, list)) and name not in skip and not name.startswith("_")
            )
        else:
            stack.extend(value for value in node if isinstance(value, (dict, list)))
    return found


def _location(root: str, trail) -> str:
    parts = []
    while trail is not None:
        trail, part = trail
        parts.append(part)
    return root + "".join(reversed(parts))


# The elements whose reference must resolve wherever they are; any other reference outside the
# Composition to a resource the sender left out is a warning.
ESSENTIAL_REFERENCES = {"subject", "patient"}


def _element_name(path: str) -> str:
    return path.rsplit(".", 1)[-1].split("[", 1)[0]


def _resolves(ref: str, full_urls: set, relative: set, contained: set) -> bool:
    if ref in full_urls or ref in relative or ref in contained:
        return True
    tail = "/".join(ref.rstrip("/").split("/")[-2:])
    return "://" in ref and tail in relative and any(u.endswith(tail) for u in full_urls)


def reference_issues(entries: list, texts: Texts | None = None) -> list[dict]:
    """References that do not point at an entry of the Bundle (by fullUrl or Type/id) or a contained
    resource: errors for the Composition's and every subject/patient, warnings for the others."""
    full_urls, relative = _targets(entries)
    found = []
    for index, entry in enumerate(entries):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict):
            continue
        contained = {f"#{c.get('id')}" for c in resource.get("contained") or [] if isinstance(c, dict)}
        targets = (full_urls, relative, contained)
        refs = texts.references.get(index, []) if texts is not None else None
        if refs is None:
            refs = _with_text(resource, "reference", skip=("contained",))
        if all(_resolves(ref, *targets) for ref in refs):
            continue  # the usual case: no location to name
        root = f"Bundle.entry[{index}].resource"
        in_composition = resource.get("resourceType") == "Composition"
        for trail, element in _having(resource, "reference", skip=("contained",)):
            ref = element["reference"]
            if _resolves(ref, *targets):
                continue
            path = _location(root, trail)
            if in_composition or _element_name(path) in ESSENTIAL_REFERENCES:
                found.append(
                    issue(
                        path,
                        _("The reference “%(ref)s” does not resolve inside the Bundle.") % {"ref": ref},
                        "not-found",
                    )
                )
            else:
                found.append(
                    issue(
                        path,
                        _("The reference “%(ref)s” points at a resource the document left out; kept as written.")
                        % {"ref": ref},
                        "not-found",
                        "warning",
                    )
                )
    return found


def narrative_issues(data: dict, severity: str = "warning", texts: Texts | None = None) -> list[dict]:
    """Every narrative should be one well-formed XHTML <div> (FHIR's rule; the XML form cannot carry it else)."""
    divs = texts.divs if texts is not None else _with_text(data, "div")
    if all(_well_formed(text) for text in set(divs)):
        return []  # the usual case: no location to name
    root = data.get("resourceType") or "Bundle"
    found = []
    for trail, element in _having(data, "div"):
        path = _location(root, trail) + ".div"
        try:
            check_xhtml(element["div"], path)
        except XmlError as exc:
            message = _("The narrative is not well-formed XHTML (%(why)s); it is shown as plain text.")
            found.append(issue(path, message % {"why": exc.args[0]}, "invalid", severity))
    return found


def _well_formed(text: str) -> bool:
    try:
        check_xhtml(text, "", serialize=False)
    except XmlError:
        return False
    return True


def _errors(issues: list[dict]) -> list[dict]:
    return [i for i in issues if i["severity"] == "error"]


def parse(content: bytes | str, *, structure: bool = True) -> Parsed:
    """Parse and check a document; IpsInvalid with every error, or the parsed document with its
    items and its warnings.

    `structure=False` leaves the check of a Bundle against the fhir.resources models to
    `check_structure`, which the caller must run before it keeps anything (the importer runs it while
    PostgreSQL stores the document, and commits only when it passes). When another rule already refuses
    the document, the models are checked at once: the refusal lists every error, as `parse` does."""
    # a JSON document's model check begins before anything else: a helper process checks while this one reads
    early = _check_json_text(content) if not structure else None
    try:
        data, source_format, text, texts = _decode(content)
    except IpsInvalid:
        if early is not None:
            early.close()
        raise
    bundle = data.get("resourceType") == "Bundle"
    found = structure_issues(data) if structure or not bundle else []
    parsed = Parsed(data, source_format, text, "", structure_checked=structure or not bundle)
    if not parsed.structure_checked:
        parsed.check = early or fhircheck.start(data)
    elif early is not None:
        early.close()
    if bundle:
        found += rule_issues(data, texts)
        parsed.rows, problems = extraction.extract(data, parsed.identifier)
        found += [issue(where, why, "required") for where, why in problems]
    found += narrative_issues(data, texts=texts)
    if _errors(found):
        if not parsed.structure_checked:
            found = (_model_issues(parsed.check.errors()) if parsed.check else structure_issues(data)) + found
        raise IpsInvalid(_errors(found))
    parsed.warnings = found
    parsed.content_hash = canonical_hash(data)
    return parsed


_BOM = "\ufeff".encode()
_SPACE = frozenset(b" \t\r\n")


def _check_json_text(content: bytes | str) -> "fhircheck.Check | None":
    """The model check of a body that looks like JSON text, begun (None for XML)."""
    raw = content.encode("utf-8") if isinstance(content, str) else content
    if raw.startswith(_BOM):
        raw = raw[len(_BOM) :]
    first = next((byte for byte in raw[:256] if byte not in _SPACE), None)
    if first is None or first == ord("<"):
        return None
    return fhircheck.start(text=raw)


def check_structure(parsed: Parsed) -> None:
    """The check `parse(structure=False)` left out: IpsInvalid with what the fhir.resources models refuse
    (every other rule passed, so these are all the document's errors)."""
    if parsed.structure_checked:
        return
    found = _errors(_model_issues(parsed.check.errors()) if parsed.check else structure_issues(parsed.data))
    parsed.structure_checked, parsed.check = True, None
    if found:
        raise IpsInvalid(found)


def release(parsed: Parsed) -> None:
    """Free the helper process of a check begun by `parse(structure=False)` and never read."""
    if parsed.check is not None:
        parsed.check.close()


def strict_issues(data: dict) -> list[dict]:
    """Every rule as an error, warnings included: what Laihua's own exports are held to."""
    found = structure_issues(data)
    if data.get("resourceType") == "Bundle":
        found += rule_issues(data)
        found += [issue(where, why, "required") for where, why in extraction.extract(data, ("", ""))[1]]
    found += narrative_issues(data, "error")
    return [{**i, "severity": "error"} for i in found]


def canonical_hash(data: dict) -> str:
    """sha256 of the FHIR JSON with sorted keys and no spaces: the same whatever the file's layout."""
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


# --- clinical items -------------------------------------------------------------------------------


def items(parsed: Parsed) -> list[dict]:
    """The clinical items of a checked document, in document order, as ClinicalItem field dicts."""
    if parsed.rows is None:
        parsed.rows, _problems = extraction.extract(parsed.data, parsed.identifier)
    return parsed.rows
