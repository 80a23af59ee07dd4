"""FHIR XML to FHIR JSON (as a dict), guided by the fhir.resources R4B models.

fhir.resources can read XML itself, but trips over some XHTML narratives (tables) in real documents;
this converter follows the FHIR XML rules instead: an element's `value` attribute is the primitive,
`id` and `extension` children of a primitive go to `_name`, repeating elements become lists (the
model says which), a resource sits inside an element named after its type, and a narrative's
`<div>` is kept as XHTML text. DOCTYPEs and entities are refused (no XXE).
"""

from functools import lru_cache

from fhir.resources.R4B import get_fhir_model_class
from fhir_core.utils import determine_version_prefix, get_fhir_type_name, is_list_type, is_primitive_type
from lxml import etree

FHIR_NS = "http://hl7.org/fhir"
XHTML_NS = "http://www.w3.org/1999/xhtml"
PREFIX = determine_version_prefix("fhir.resources.R4B.bundle")
_NUMBERS = {"integer": int, "positiveInt": int, "unsignedInt": int, "integer64": int}


class XmlError(ValueError):
    """The XML is not well-formed or not FHIR."""


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
        if fhir_type in ("Resource", "DomainResource") or name in ("resource", "contained"):
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


def xml_to_dict(content: bytes) -> dict:
    """The FHIR JSON form (a dict) of a FHIR XML resource."""
    if b"<!DOCTYPE" in content[:4096].upper() or b"<!ENTITY" in content.upper():
        raise XmlError("XML with a document type declaration is refused")
    try:
        root = etree.fromstring(content, parser=_parser())
    except etree.XMLSyntaxError as exc:
        raise XmlError(f"not well-formed XML: {exc}") from None
    return _resource(root)
