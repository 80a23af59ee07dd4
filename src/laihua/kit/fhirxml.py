"""FHIR XML to FHIR JSON (as a dict) and back, guided by the fhir.resources R4B models.

Reading (`xml_to_dict`): fhir.resources can read XML itself, but trips over some XHTML narratives
(tables) in real documents; this converter follows the FHIR XML rules instead: an element's `value`
attribute is the primitive, `id` and `extension` children of a primitive go to `_name`, repeating
elements become lists (the model says which), a resource sits inside an element named after its type,
and a narrative's `<div>` is kept as XHTML text. DOCTYPEs and entities are refused (no XXE).

Writing (`to_xml`): fhir.resources 8 no longer writes XML, so this is the inverse, by the same rules
(https://hl7.org/fhir/R4/xml.html): elements in the order of the definition (`elements_sequence()`),
primitives as `value` attributes with their `_name` companion's id and extensions, the `id` of a
complex element and `Extension.url` as attributes, contained resources wrapped in an element named
after their type, and the narrative parsed (safely) and written as the XHTML element it is.
What `to_xml` writes, `xml_to_dict` reads back to the same dict, with one exception that XML itself
imposes: a narrative given as JSON text comes back as the same XHTML, but in lxml's spelling (double
quotes, `<b/>` for `<b></b>`, LF line ends); a narrative read from XML comes back as the same text.
"""

import math
import re
import uuid
from decimal import Decimal
from functools import lru_cache

from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.resource import Resource
from fhir_core.utils import determine_version_prefix, get_fhir_type_name, is_list_type, is_primitive_type
from lxml import etree

FHIR_NS = "http://hl7.org/fhir"
XHTML_NS = "http://www.w3.org/1999/xhtml"
PREFIX = determine_version_prefix("fhir.resources.R4B.bundle")
_NUMBERS = {"integer": int, "positiveInt": int, "unsignedInt": int, "integer64": int}


class XmlError(ValueError):
    """The XML is not well-formed or not FHIR (reading), or the resource cannot be written as FHIR XML
    (writing; `location` then names the element, e.g. `Bundle.entry[0].resource.text.div`)."""

    def __init__(self, message: str, location: str | None = None):
        super().__init__(f"{location}: {message}" if location else message)
        self.location = location


class XmlUnsafe(XmlError):
    """The XML declares a document type or entities: refused for safety (no XXE, no entity expansion)."""


def _parser():
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


@lru_cache(maxsize=2048)
def _fields(type_name: str) -> dict:
    """{element name: (type name, primitive?, list?)} of a FHIR type or resource."""
    klass = get_fhir_model_class(type_name)
    out = {}
    for name, field in klass.model_fields.items():
        if name.endswith("__ext") or name in ("resource_type", "fhir_comments"):
            continue
        try:
            fhir_type = get_fhir_type_name(field, prefix=PREFIX)
        except (ValueError, KeyError):
            continue
        out[field.alias or name] = (fhir_type, is_primitive_type(field), is_list_type(field))
    return out


def _local(tag) -> tuple[str, str]:
    qname = etree.QName(tag)
    return qname.namespace or "", qname.localname


def _primitive(value: str, fhir_type: str):
    if fhir_type == "boolean":
        return value == "true" if value in ("true", "false") else value
    if fhir_type in _NUMBERS:
        try:
            return int(value)
        except ValueError:
            return value
    if fhir_type == "decimal":
        try:
            return float(value) if any(c in value for c in ".eE") else int(value)
        except ValueError:
            return value
    return value


def _resource(element) -> dict:
    namespace, name = _local(element.tag)
    if namespace != FHIR_NS:
        raise XmlError(f"<{name}> is not in the FHIR namespace")
    return _complex(element, name, is_resource=True)


def _complex(element, type_name: str, *, is_resource: bool = False) -> dict:
    try:
        fields = _fields(type_name)
    except (KeyError, ValueError, AttributeError):
        raise XmlError(f"unknown FHIR type {type_name}") from None
    out: dict = {"resourceType": type_name} if is_resource else {}
    if not is_resource and element.get("id") is not None:
        out["id"] = element.get("id")
    if type_name == "Extension" and element.get("url") is not None:
        out["url"] = element.get("url")
    for child in element:
        if not isinstance(child.tag, str):
            continue  # comments, processing instructions
        namespace, name = _local(child.tag)
        if namespace == XHTML_NS and name == "div":
            out["div"] = etree.tostring(child, encoding="unicode", with_tail=False)
            continue
        spec = fields.get(name)
        if spec is None:
            out.setdefault("__unknown__", []).append(name)
            continue
        fhir_type, primitive, many = spec
        if primitive:
            value = child.get("value")
            extra = {}
            if child.get("id") is not None:
                extra["id"] = child.get("id")
            extensions = [_complex(e, "Extension") for e in child if isinstance(e.tag, str)]
            if extensions:
                extra["extension"] = extensions
            converted = _primitive(value, fhir_type) if value is not None else None
            if many:
                out.setdefault(name, []).append(converted)
                if extra or f"_{name}" in out:
                    out.setdefault(f"_{name}", [None] * (len(out[name]) - 1)).append(extra or None)
            else:
                if value is not None:
                    out[name] = converted
                if extra:
                    out[f"_{name}"] = extra
            continue
        if fhir_type in ("Resource", "DomainResource"):  # not by name: CapabilityStatement.rest.resource is not one
            inner = [c for c in child if isinstance(c.tag, str)]
            value = _resource(inner[0]) if inner else {}
        else:
            value = _complex(child, fhir_type)
        if many:
            out.setdefault(name, []).append(value)
        else:
            out[name] = value
    unknown = out.pop("__unknown__", None)
    if unknown:
        for name in unknown:
            out[name] = None  # the model reports it as an element it does not know, with its path
    return out


def parse_safely(content: bytes | str, location: str | None = None):
    """The root element of an XML text, parsed without DTDs, entities or the network; a document type
    declaration or an entity is refused whatever the text's encoding (UTF-8, UTF-16, ...), because the
    check looks at what the parser read, not at the bytes."""
    try:
        root = etree.fromstring(content, parser=_parser())
    except (etree.XMLSyntaxError, ValueError) as exc:
        raise XmlError(f"not well-formed XML: {exc}", location) from None
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise XmlUnsafe("XML with a document type declaration is refused", location)
    if any(isinstance(node, etree._Entity) for node in root.iter()):
        raise XmlUnsafe("XML with entities is refused", location)
    return root


def xml_to_dict(content: bytes) -> dict:
    """The FHIR JSON form (a dict) of a FHIR XML resource."""
    return _resource(parse_safely(content))


# --- writing --------------------------------------------------------------------------------------


@lru_cache(maxsize=2048)
def _sequence(type_name: str) -> tuple[str, ...]:
    """The element names of a FHIR type or resource in the order of its definition."""
    order = list(get_fhir_model_class(type_name).elements_sequence())
    return tuple(order + [name for name in _fields(type_name) if name not in order])


@lru_cache(maxsize=512)
def _is_resource_type(type_name: str) -> bool:
    try:
        return issubclass(get_fhir_model_class(type_name), Resource)
    except (KeyError, ValueError, AttributeError):
        return False


def _tag(name: str) -> str:
    return f"{{{FHIR_NS}}}{name}"


def _lexical(value, location: str) -> str:
    """The FHIR lexical form of a JSON primitive: true/false, integers, decimals as written."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise XmlError("a decimal must be a finite number", location)
        return str(value)  # the JSON text, when the JSON was read with parse_float=Decimal
    if isinstance(value, float):
        if not math.isfinite(value):
            raise XmlError("a decimal must be a finite number", location)
        return repr(value)  # the shortest text that reads back as the same number
    if isinstance(value, str):
        return value
    raise XmlError(f"a primitive value cannot be a {type(value).__name__}", location)


def _set(element, attribute: str, value: str, location: str) -> None:
    try:
        element.set(attribute, value)
    except ValueError:
        raise XmlError("the text holds characters XML cannot carry (control characters)", location) from None


def check_xhtml(text, location: str, *, serialize: bool = True) -> bytes:
    """The narrative's `<div>`, parsed without DTDs, entities or the network, serialized on its own
    (`serialize=False`: only checked, b"" returned)."""
    if not isinstance(text, str):
        raise XmlError("the narrative must be XHTML text", location)
    try:
        div = parse_safely(text)
    except XmlError as exc:
        raise XmlError(f"the narrative is not well-formed XHTML: {exc}", location) from None
    if div.tag != f"{{{XHTML_NS}}}div":
        raise XmlError(f'the narrative must be one <div xmlns="{XHTML_NS}"> element', location)
    for element in div.iter(tag=etree.Element):
        if _local(element.tag)[0] != XHTML_NS:
            raise XmlError(f"<{_local(element.tag)[1]}> of the narrative is not in the XHTML namespace", location)
    return etree.tostring(div, encoding="UTF-8", with_tail=False) if serialize else b""


class _Writer:
    """One FHIR XML document. Narratives are written in place of a comment that marks them, after the
    FHIR tree is serialized: appended to the tree, lxml would drop or reorder the namespace
    declarations of a narrative read from XML, and it would no longer read back as the same text."""

    def __init__(self):
        self.token = uuid.uuid4().hex
        self.narratives: list[bytes] = []

    def document(self, resource) -> bytes:
        root = self.resource(None, resource, resource.get("resourceType", "") if isinstance(resource, dict) else "")
        _indent(root)
        out = etree.tostring(root, encoding="UTF-8", xml_declaration=False)
        out = re.sub(rb"<!--" + self.token.encode() + rb"-(\d+)-->", lambda m: self.narratives[int(m[1])], out)
        return b'<?xml version="1.0" encoding="UTF-8"?>\n' + out

    def resource(self, parent, resource, location: str):
        if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
            raise XmlError("a resource must be an object with a resourceType", location)
        type_name = resource["resourceType"]
        if not _is_resource_type(type_name):
            raise XmlError(f"{type_name} is not a FHIR resource type", location)
        if parent is None:
            element = etree.Element(_tag(type_name), nsmap={None: FHIR_NS})
        else:
            element = etree.SubElement(parent, _tag(type_name))
        self.members(element, resource, type_name, location, is_resource=True)
        return element

    def complex(self, parent, name: str, value, type_name: str, location: str) -> None:
        if not isinstance(value, dict):
            raise XmlError(f"{name} must be an object", location)
        self.members(etree.SubElement(parent, _tag(name)), value, type_name, location, is_resource=False)

    def primitive(self, parent, name: str, value, extra, location: str) -> None:
        if extra is not None and not isinstance(extra, dict):
            raise XmlError(f"_{name} must be an object with id and extension", location)
        if value is None and not extra:
            raise XmlError("an element needs a value, an id or an extension", location)
        if isinstance(value, (dict, list)):
            raise XmlError(f"{name} is a primitive, not an object or a list", location)
        extra = extra or {}
        unknown = set(extra) - {"id", "extension"}
        if unknown:
            raise XmlError(f"_{name} holds {', '.join(sorted(unknown))}; only id and extension are allowed", location)
        element = etree.SubElement(parent, _tag(name))
        if extra.get("id") is not None:
            _set(element, "id", _lexical(extra["id"], location), location)
        if value is not None:
            _set(element, "value", _lexical(value, location), location)
        extensions = extra.get("extension") or []
        if not isinstance(extensions, list):
            raise XmlError("extension must be a list", f"{location}.extension")
        for index, extension in enumerate(extensions):
            self.complex(element, "extension", extension, "Extension", f"{location}.extension[{index}]")

    def narrative(self, parent, value, location: str) -> None:
        parent.append(etree.Comment(f"{self.token}-{len(self.narratives)}"))
        self.narratives.append(check_xhtml(value, location))

    def members(self, element, data: dict, type_name: str, location: str, *, is_resource: bool) -> None:
        fields, order = _fields(type_name), _sequence(type_name)
        for key in data:
            if key == "fhir_comments" or (is_resource and key == "resourceType"):
                continue  # fhir_comments: the JSON comments of FHIR DSTU2, not content
            name = key[1:] if key.startswith("_") else key
            spec = fields.get(name)
            if spec is None or (key.startswith("_") and not spec[1]):
                raise XmlError(f"{key} is not an element of {type_name}", f"{location}.{key}")
        attributes = set() if is_resource else {"id"}
        if type_name == "Extension":
            attributes.add("url")
        for name in sorted(attributes):
            if data.get(name) is not None:
                _set(element, name, _lexical(data[name], f"{location}.{name}"), f"{location}.{name}")
        for name in order:
            if name in attributes or (name not in data and f"_{name}" not in data):
                continue
            fhir_type, primitive, many = fields[name]
            value, extra, path = data.get(name), data.get(f"_{name}"), f"{location}.{name}"
            if type_name == "Narrative" and name == "div":
                self.narrative(element, value, path)
            elif primitive and many:
                self.primitives(element, name, value, extra, path)
            elif primitive:
                self.primitive(element, name, value, extra, path)
            else:
                if many != isinstance(value, list):
                    raise XmlError(f"{name} {'repeats: it must be a list' if many else 'does not repeat'}", path)
                for index, item in enumerate(value if many else [value]):
                    item_path = f"{path}[{index}]" if many else path
                    if fhir_type in (
                        "Resource",
                        "DomainResource",
                    ):  # not by name: CapabilityStatement.rest.resource is not one
                        self.resource(etree.SubElement(element, _tag(name)), item, item_path)
                    else:
                        self.complex(element, name, item, fhir_type, item_path)

    def primitives(self, element, name: str, values, extras, path: str) -> None:
        """A repeating primitive: `name` and `_name` lists matched by position (nulls where one has nothing)."""
        values = [] if values is None else values
        extras = [] if extras is None else extras
        if not isinstance(values, list) or not isinstance(extras, list):
            raise XmlError(f"{name} repeats: it must be a list (and _{name} too)", path)
        if values and extras and len(values) != len(extras):
            raise XmlError(f"{name} and _{name} must have the same length", path)
        for index in range(max(len(values), len(extras))):
            value = values[index] if index < len(values) else None
            extra = extras[index] if index < len(extras) else None
            self.primitive(element, name, value, extra, f"{path}[{index}]")


def _indent(element, level: int = 0) -> None:
    """Line breaks and two-space indents between FHIR elements (a narrative is not in the tree yet)."""
    children = list(element)
    if not children:
        return
    inner = "\n" + "  " * (level + 1)
    element.text = inner
    for child in children:
        child.tail = inner
        if isinstance(child.tag, str):
            _indent(child, level + 1)
    children[-1].tail = "\n" + "  " * level


def to_xml(resource: dict) -> bytes:
    """The FHIR XML (UTF-8 bytes, with an XML declaration) of a FHIR JSON resource given as a dict.

    Raises XmlError, naming the element (`location`), for what cannot be written as FHIR XML: an
    element the type does not have, a narrative that is not well-formed XHTML, a value XML cannot carry.
    """
    return _Writer().document(resource)
