"""The importer's rules one by one: each broken document is refused with the exact location."""

import json

import pytest

from laihua.records import ips
from laihua.records.tests.conftest import EXAMPLES, as_bytes, example_bytes


def refused(document) -> list[dict]:
    with pytest.raises(ips.IpsInvalid) as caught:
        ips.parse(as_bytes(document) if isinstance(document, dict) else document)
    return caught.value.issues


def expressions(issues) -> list[str]:
    return [i["expression"] for i in issues]


@pytest.mark.parametrize("name", EXAMPLES)
def test_hl7_examples_pass_every_rule(name):
    parsed = ips.parse(example_bytes(name))
    assert parsed.source_format == name.rsplit(".", 1)[1]
    assert parsed.identifier[1]
    assert ips.items(parsed)


def test_structure_error_names_the_element(minimal):
    del minimal["entry"][4]["resource"]["subject"]
    issues = refused(minimal)
    assert "Bundle.entry[4].resource.subject" in expressions(issues)


def test_unknown_element_is_refused_with_its_path(minimal):
    minimal["entry"][2]["resource"]["colour"] = "blue"
    assert "Bundle.entry[2].resource.colour" in expressions(refused(minimal))


def test_bundle_must_be_a_document(minimal):
    minimal["type"] = "collection"
    assert expressions(refused(minimal)) == ["Bundle.type"]


def test_identifier_is_required(minimal):
    del minimal["identifier"]
    assert expressions(refused(minimal)) == ["Bundle.identifier"]


def test_timestamp_is_required(minimal):
    del minimal["timestamp"]
    assert expressions(refused(minimal)) == ["Bundle.timestamp"]


def test_composition_comes_first(minimal):
    minimal["entry"][0], minimal["entry"][1] = minimal["entry"][1], minimal["entry"][0]
    assert "Bundle.entry[0].resource" in expressions(refused(minimal))


def test_exactly_one_patient_not_two(minimal):
    second = json.loads(json.dumps(minimal["entry"][1]))
    second["fullUrl"] = "urn:uuid:00000000-0000-0000-0000-000000000002"
    second["resource"]["id"] = "00000000-0000-0000-0000-000000000002"
    minimal["entry"].append(second)
    assert expressions(refused(minimal)) == [f"Bundle.entry[{len(minimal['entry']) - 1}].resource"]


def test_exactly_one_patient_not_none(minimal):
    minimal["entry"] = [e for e in minimal["entry"] if e["resource"]["resourceType"] != "Patient"]
    issues = refused(minimal)
    assert "Bundle.entry" in expressions(issues)
    # the references to the missing patient are reported too, each where it is
    assert "Bundle.entry[0].resource.subject" in expressions(issues)


@pytest.mark.parametrize("code", ["11450-4", "48765-2", "10160-0"])
def test_each_required_section_must_be_present(minimal, code):
    composition = minimal["entry"][0]["resource"]
    composition["section"] = [s for s in composition["section"] if s["code"]["coding"][0]["code"] != code]
    issues = refused(minimal)
    assert expressions(issues) == ["Bundle.entry[0].resource.section"]
    assert code in issues[0]["diagnostics"]


def test_empty_section_needs_an_empty_reason(minimal):
    composition = minimal["entry"][0]["resource"]
    index = next(i for i, s in enumerate(composition["section"]) if s["code"]["coding"][0]["code"] == "48765-2")
    del composition["section"][index]["entry"]
    assert expressions(refused(minimal)) == [f"Bundle.entry[0].resource.section[{index}]"]
    composition["section"][index]["emptyReason"] = {
        "coding": [{"system": "http://terminology.hl7.org/CodeSystem/list-empty-reason", "code": "unavailable"}]
    }
    composition["section"][index]["entry"] = []
    del composition["section"][index]["entry"]
    ips.parse(as_bytes(minimal))


def test_every_reference_must_resolve_inside_the_bundle(minimal):
    minimal["entry"][4]["resource"]["subject"] = {"reference": "Patient/somewhere-else"}
    issues = refused(minimal)
    assert expressions(issues) == ["Bundle.entry[4].resource.subject"]
    assert "Patient/somewhere-else" in issues[0]["diagnostics"]


def test_all_errors_are_reported_together(minimal):
    del minimal["timestamp"]
    minimal["type"] = "collection"
    minimal["entry"][4]["resource"]["subject"] = {"reference": "urn:uuid:nowhere"}
    assert set(expressions(refused(minimal))) == {
        "Bundle.timestamp",
        "Bundle.type",
        "Bundle.entry[4].resource.subject",
    }


def test_not_json_nor_xml_is_refused():
    assert expressions(refused(b"{not json")) == ["Bundle"]
    assert expressions(refused(b"<Bundle><unclosed></Bundle>")) == ["Bundle"]


def test_xml_with_doctype_is_refused():
    content = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><Bundle xmlns="http://hl7.org/fhir"/>'
    assert expressions(refused(content)) == ["Bundle"]


def test_xml_and_json_of_the_same_document_hash_alike():
    from laihua.kit.fhirxml import xml_to_dict

    data = xml_to_dict(example_bytes("hl7-IPS-bundle-01.xml"))
    from_xml = ips.parse(example_bytes("hl7-IPS-bundle-01.xml"))
    from_json = ips.parse(json.dumps(data, indent=2).encode())
    assert from_xml.content_hash == from_json.content_hash


def test_items_carry_text_codes_and_values():
    parsed = ips.parse(example_bytes("hl7-IPS-bundle-01.xml"))
    rows = ips.items(parsed)
    kinds = {row["kind"] for row in rows}
    assert {"problem", "medication", "allergy", "result"} <= kinds
    problem = next(r for r in rows if r["kind"] == "problem")
    assert problem["text"] == "Menopausal flushing (finding)"
    assert {"system": "http://snomed.info/sct", "code": "198436008"}.items() <= problem["codes"][0].items()
    medication = next(r for r in rows if r["kind"] == "medication")
    assert medication["text"] and medication["codes"]  # resolved through medicationReference
    hba1c = next(r for r in rows if r["text"].startswith("Hemoglobin A1c"))
    assert hba1c["value"] == "7.5 %"


@pytest.mark.parametrize("name", [n for n in EXAMPLES if n.endswith(".json")])
def test_xml_written_by_fhir_resources_reads_back_to_the_same_items(name):
    from fhir.resources.R4B.bundle import Bundle

    from_json = ips.parse(example_bytes(name))
    xml = Bundle.model_validate(from_json.data).model_dump_xml()
    from_xml = ips.parse(xml if isinstance(xml, bytes) else xml.encode())
    assert from_xml.source_format == "xml"
    assert from_xml.identifier == from_json.identifier
    assert ips.items(from_xml) == ips.items(from_json)


def test_a_narrative_that_is_not_well_formed_xhtml_is_a_warning_with_its_place(minimal):
    section = minimal["entry"][0]["resource"]["section"][0]
    section["text"] = {"status": "generated", "div": '<div xmlns="http://www.w3.org/1999/xhtml"><p>open'}
    parsed = ips.parse(as_bytes(minimal))
    assert [(w["severity"], w["expression"]) for w in parsed.warnings] == [
        ("warning", "Bundle.entry[0].resource.section[0].text.div")
    ]
    assert "shown as plain text" in parsed.warnings[0]["diagnostics"]
    assert len(ips.items(parsed)) == 3  # the structured data is kept
    section["text"]["div"] = "<div><p>no namespace</p></div>"
    assert [w["expression"] for w in ips.parse(as_bytes(minimal)).warnings] == [
        "Bundle.entry[0].resource.section[0].text.div"
    ]
    assert ips.strict_issues(minimal)  # never in an export of Laihua's own


def test_a_document_identifier_needs_a_system_bdl_9(minimal):
    del minimal["identifier"]["system"]
    assert expressions(refused(minimal)) == ["Bundle.identifier.system"]
