"""FHIR XML export: the writer (kit.fhirxml.to_xml) against the reader and the HL7 examples, the
$summary export as XML imported again, content negotiation on /fhir/ (with the refusals), the XML
download on the records page, and narratives (kept as XHTML; a broken one is refused)."""

import copy
import json

import pytest
from django.urls import reverse
from django.utils import translation
from lxml import etree

from laihua.accounts.services import create_api_token
from laihua.audit.models import AuditEvent
from laihua.kit.fhirxml import FHIR_NS, XHTML_NS, XmlError, to_xml, xml_to_dict
from laihua.records import ips, services
from laihua.records.tests.conftest import EXAMPLES, as_bytes, example_bytes

FHIR_XML = "application/fhir+xml; charset=utf-8"
F = f"{{{FHIR_NS}}}"


def bearer(user):
    return {"Authorization": f"Bearer {create_api_token(user, user, 'test')[1]}"}


def load(name: str) -> dict:
    raw = example_bytes(name)
    return xml_to_dict(raw) if name.endswith(".xml") else json.loads(raw)


def _map_divs(node, change):
    if isinstance(node, dict):
        return {k: change(v) if k == "div" else _map_divs(v, change) for k, v in node.items()}
    if isinstance(node, list):
        return [_map_divs(v, change) for v in node]
    return node


def lxml_spelling(document: dict) -> dict:
    """The document with each narrative as lxml writes the same XHTML (double quotes, <b/>, LF)."""
    return _map_divs(document, lambda div: etree.tostring(etree.fromstring(div), encoding="unicode"))


def without_narratives(document: dict) -> dict:
    return _map_divs(document, lambda div: None)


def composition_tags(root) -> list[str]:
    composition = root.find(f"{F}entry/{F}resource/{F}Composition")
    return [etree.QName(child).localname for child in composition if isinstance(child.tag, str)]


# --- the writer and the HL7 examples ----------------------------------------------------------------


def test_the_four_hl7_examples_are_all_here():
    assert sorted(n.rsplit(".", 1)[1] for n in EXAMPLES) == ["json", "json", "xml", "xml"]


@pytest.mark.parametrize("name", EXAMPLES)
def test_round_trip_of_the_hl7_examples(name):
    original = load(name)
    written = to_xml(original)
    back = xml_to_dict(written)
    if name.endswith(".xml"):
        assert back == original  # exactly, narratives included
    else:
        # Everything but the narratives exactly; a narrative comes back as the same XHTML in lxml's
        # spelling (XML does not keep quote style or <b></b> against <b/>), which is what lxml_spelling gives.
        assert without_narratives(back) == without_narratives(original)
        assert back == lxml_spelling(original)
        assert back != original  # proof that these examples do use other spellings (single quotes, <span></span>)
    assert xml_to_dict(to_xml(back)) == back  # and from then on, exactly
    ips.parse(written)  # what the writer writes passes the import checks


@pytest.mark.parametrize("name", [n for n in EXAMPLES if n.endswith(".xml")])
def test_official_xml_examples_keep_their_dict_and_their_element_order(name):
    first = xml_to_dict(example_bytes(name))
    written = to_xml(first)
    assert xml_to_dict(written) == first
    official = etree.fromstring(example_bytes(name))
    ours = etree.fromstring(written)
    assert composition_tags(ours) == composition_tags(official)
    assert composition_tags(ours)[:3] == ["id", "text", "identifier"]  # not the dict's (alphabetical) order
    assert etree.QName(ours).namespace == FHIR_NS


def test_primitives_ids_extensions_and_contained_resources():
    from decimal import Decimal

    patient = {
        "resourceType": "Patient",
        "id": "p1",
        "contained": [{"resourceType": "Organization", "id": "o1", "name": "Salt & Pepper <Clinic>"}],
        "extension": [
            {"url": "http://example.org/dose", "valueDecimal": Decimal("1.50")},
            {"url": "http://example.org/flag", "valueBoolean": False},
        ],
        "active": True,
        "name": [
            {
                "id": "n1",
                "family": "Doe",
                "given": ["Jane", None, "Q"],
                "_given": [
                    None,
                    {"extension": [{"url": "http://example.org/absent", "valueCode": "unknown"}]},
                    {"id": "g3"},
                ],
            }
        ],
        "birthDate": "1980-05-17",
        "_birthDate": {
            "extension": [
                {
                    "url": "http://hl7.org/fhir/StructureDefinition/patient-birthTime",
                    "valueDateTime": "1980-05-17T10:00:00+01:00",
                }
            ]
        },
        "multipleBirthInteger": 2,
        "communication": [{"language": {"text": "line one\nline two\ttab  "}}],
        "managingOrganization": {"reference": "#o1"},
    }
    written = to_xml(patient)
    text = written.decode()
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<Patient xmlns="http://hl7.org/fhir">')
    assert '<extension url="http://example.org/dose">' in text
    assert '<valueDecimal value="1.50"/>' in text  # the decimal as written, not 1.5
    assert '<valueBoolean value="false"/>' in text and '<active value="true"/>' in text
    assert '<name id="n1">' in text and '<given id="g3" value="Q"/>' in text
    assert '<birthDate value="1980-05-17">' in text
    root = etree.fromstring(written)
    assert [etree.QName(c).localname for c in root] == [
        "id",
        "contained",
        "extension",
        "extension",
        "active",
        "name",
        "birthDate",
        "multipleBirthInteger",
        "communication",
        "managingOrganization",
    ]
    assert root.find(f"{F}contained/{F}Organization/{F}name").get("value") == "Salt & Pepper <Clinic>"
    assert [g.get("value") for g in root.findall(f"{F}name/{F}given")] == ["Jane", None, "Q"]
    expected = copy.deepcopy(patient)
    expected["extension"][0]["valueDecimal"] = 1.5  # the reader gives numbers as float
    assert xml_to_dict(written) == expected


@pytest.mark.parametrize(
    "resource,location,why",
    [
        ({"resourceType": "Patient", "colour": "blue"}, "Patient.colour", "not an element of Patient"),
        ({"resourceType": "Patient", "name": {"family": "Doe"}}, "Patient.name", "repeats"),
        ({"resourceType": "Patient", "name": [{"family": "Doe\x01"}]}, "Patient.name[0].family", "characters"),
        ({"resourceType": "Patient", "name": [{"given": [None]}]}, "Patient.name[0].given[0]", "needs a value"),
        ({"resourceType": "Coding", "code": "x"}, "Coding", "not a FHIR resource type"),
    ],
)
def test_what_is_not_fhir_is_refused_with_its_location(resource, location, why):
    with pytest.raises(XmlError) as refused:
        to_xml(resource)
    assert refused.value.location == location and why in str(refused.value)


# --- narratives ---------------------------------------------------------------------------------------

TABLE = (
    '<div xmlns="http://www.w3.org/1999/xhtml"><table class="grid"><tr><th>Medicine</th><th>Dose</th></tr>'
    "<tr><td>Salt &amp; pepper</td><td>1 &lt; 2</td></tr></table></div>"
)


def test_a_narrative_with_a_table_and_an_ampersand_survives(minimal):
    minimal["entry"][0]["resource"]["text"] = {"status": "generated", "div": TABLE}
    written = to_xml(minimal)
    div = etree.fromstring(written).find(f"{F}entry/{F}resource/{F}Composition/{F}text/{{{XHTML_NS}}}div")
    assert div is not None  # written as XHTML elements, not as escaped text
    cells = div.findall(f".//{{{XHTML_NS}}}td")
    assert [c.text for c in cells] == ["Salt & pepper", "1 < 2"]
    back = xml_to_dict(written)
    assert back["entry"][0]["resource"]["text"]["div"] == TABLE
    assert back == lxml_spelling(minimal)


@pytest.mark.parametrize(
    "div,why",
    [
        ('<div xmlns="http://www.w3.org/1999/xhtml"><p>unclosed</div>', "not well-formed XHTML"),
        ("plain text, no markup", "not well-formed XHTML"),
        ('<div xmlns="http://www.w3.org/1999/xhtml">&nbsp;</div>', "not well-formed XHTML"),
        ("<div>no namespace</div>", "one <div"),
        ('<!DOCTYPE d [<!ENTITY x "y">]><div xmlns="http://www.w3.org/1999/xhtml">&x;</div>', "document type"),
        ('<div xmlns="http://www.w3.org/1999/xhtml"><p xmlns="urn:other">x</p></div>', "not in the XHTML namespace"),
    ],
)
def test_a_narrative_that_is_not_well_formed_xhtml_is_refused(minimal, div, why):
    minimal["entry"][0]["resource"]["text"] = {"status": "generated", "div": div}
    with pytest.raises(XmlError) as refused:
        to_xml(minimal)
    assert refused.value.location == "Bundle.entry[0].resource.text.div"
    assert why in str(refused.value)


# --- the /fhir/ routes ----------------------------------------------------------------------------------


@pytest.fixture
def stored(db, users, case):
    document, _created = services.import_document(users["clinician"], case, example_bytes("hl7-bundle-minimal.json"))
    return document


def _is_xml(response, resource_type: str) -> dict:
    assert response["Content-Type"] == FHIR_XML, response.content[:300]
    assert "accept" in [part.strip().lower() for part in response["Vary"].split(",")]
    body = xml_to_dict(response.content)
    assert body["resourceType"] == resource_type
    return body


@pytest.mark.django_db
def test_bundle_as_xml_by_format_or_accept_and_json_by_default(client, users, stored):
    headers = bearer(users["coordinator"])
    url = f"/fhir/Bundle/{stored.pk}"
    as_json = client.get(url, headers=headers)
    assert as_json.status_code == 200 and as_json["Content-Type"].startswith("application/fhir+json")
    expected = lxml_spelling(as_json.json())
    for response in (
        client.get(url, {"_format": "xml"}, headers=headers),
        client.get(url, {"_format": "application/fhir+xml"}, headers=headers),
        client.get(f"{url}?_format=application/fhir+xml", headers=headers),  # "+" unescaped: a space
        client.get(url, {"_format": "text/xml"}, headers=headers),
        client.get(url, headers={**headers, "Accept": "application/fhir+xml"}),
        client.get(url, headers={**headers, "Accept": "application/fhir+json;q=0.5, application/fhir+xml"}),
    ):
        assert response.status_code == 200
        assert _is_xml(response, "Bundle") == expected
    for response in (
        client.get(url, {"_format": "json"}, headers={**headers, "Accept": "application/fhir+xml"}),
        client.get(
            url, headers={**headers, "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
        ),
        client.get(url, headers={**headers, "Accept": "application/fhir+json, application/fhir+xml"}),
    ):
        assert response.status_code == 200 and response["Content-Type"].startswith("application/fhir+json")
    assert AuditEvent.objects.filter(action="records.document_view").count() == 10  # every read, whatever the format


@pytest.mark.django_db
def test_unknown_format_is_refused_before_anything_is_read(client, users, case, patient, stored):
    headers = bearer(users["coordinator"])
    before = AuditEvent.objects.count()
    for url in (f"/fhir/Bundle/{stored.pk}", f"/fhir/Patient/{patient.pk}/$summary"):
        response = client.get(url, {"_format": "html"}, headers=headers)
        assert response.status_code == 406
        outcome = response.json()
        assert outcome["resourceType"] == "OperationOutcome"
        assert outcome["issue"][0]["code"] == "not-supported"
        assert outcome["issue"][0]["expression"] == ["_format"]
        assert "html" in outcome["issue"][0]["diagnostics"]
    assert AuditEvent.objects.count() == before


@pytest.mark.django_db
def test_summary_as_xml_is_audited_and_imports_into_another_case(client, users, case, patient, hospital, stored):
    from tests.builders import make_case

    services.save_episode_summary(
        users["clinician"],
        case,
        {"diagnoses": [{"code": "S83.2", "text": "Tear of meniscus"}], "plan_of_care": "Rest & physiotherapy"},
        complete=True,
    )
    response = client.get(f"/fhir/Patient/{patient.pk}/$summary?_format=xml", headers=bearer(users["clinician"]))
    assert response.status_code == 200
    bundle = _is_xml(response, "Bundle")
    assert AuditEvent.objects.filter(action="records.export").count() == 1
    assert case.reference in bundle["entry"][0]["resource"]["title"]
    other = make_case(patient, hospital)
    document, created = services.import_document(users["coordinator"], other, response.content, source="fhir")
    assert created and document.source_format == "xml" and document.case == other
    kinds = set(document.items.values_list("kind", flat=True))
    assert {"problem", "medication"} <= kinds
    assert document.items.filter(text="Tear of meniscus").exists()


@pytest.mark.django_db
def test_the_export_dict_survives_xml_exactly(users, case):
    services.save_episode_summary(
        users["clinician"],
        case,
        {"diagnoses": [{"code": "I10", "text": "Hypertension"}], "medications": [{"text": "Amlodipine"}]},
        complete=True,
    )
    bundle = services.build_export(case)
    assert xml_to_dict(to_xml(bundle)) == lxml_spelling(bundle)


@pytest.mark.django_db
def test_consent_as_xml(client, users, case):
    from laihua.records.tests.test_api import consent

    granted = consent(users, case)
    headers = bearer(users["patient"])
    as_json = client.get(f"/fhir/Consent/{granted.pk}", headers=headers).json()
    response = client.get(f"/fhir/Consent/{granted.pk}", headers={**headers, "Accept": "application/fhir+xml"})
    assert response.status_code == 200 and _is_xml(response, "Consent") == as_json
    assert AuditEvent.objects.filter(action="records.consent_view").count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["other_coordinator", "other_patient", "finance", "insurer_agent"])
def test_xml_form_keeps_the_refusals(client, users, case, patient, other_patient, stored, who):
    from laihua.records.tests.test_api import consent

    granted = consent(users, case)
    user = other_patient.user if who == "other_patient" else users[who]
    headers = bearer(user)
    before = AuditEvent.objects.filter(action__in=("records.export", "records.document_view")).count()
    for url in (f"/fhir/Bundle/{stored.pk}", f"/fhir/Patient/{patient.pk}/$summary", f"/fhir/Consent/{granted.pk}"):
        as_json = client.get(url, headers=headers)
        as_xml = client.get(url, {"_format": "xml"}, headers=headers)
        by_accept = client.get(url, headers={**headers, "Accept": "application/fhir+xml"})
        assert as_json.status_code in (403, 404), url
        assert as_xml.status_code == by_accept.status_code == as_json.status_code, url
        assert _is_xml(as_xml, "OperationOutcome") == as_json.json()  # the same error, in the format asked for
        assert b"<Bundle" not in as_xml.content and b"<Consent" not in as_xml.content
    after = AuditEvent.objects.filter(action__in=("records.export", "records.document_view")).count()
    assert after == before


@pytest.mark.django_db
def test_a_stored_document_whose_narrative_is_broken_is_plain_text_in_xml(client, users, case, minimal):
    minimal["entry"][0]["resource"]["text"] = {"status": "generated", "div": "<div><p>broken & <b>bold</div>"}
    document, _created = services.import_document(users["clinician"], case, as_bytes(minimal))
    assert [w["expression"] for w in document.warnings] == ["Bundle.entry[0].resource.text.div"]
    headers = bearer(users["clinician"])
    as_json = client.get(f"/fhir/Bundle/{document.pk}", headers=headers)
    assert as_json.json()["entry"][0]["resource"]["text"]["div"] == "<div><p>broken & <b>bold</div>"  # as received
    response = client.get(f"/fhir/Bundle/{document.pk}", {"_format": "xml"}, headers=headers)
    assert response.status_code == 200
    bundle = _is_xml(response, "Bundle")
    assert bundle["entry"][0]["resource"]["text"]["div"] == f'<div xmlns="{XHTML_NS}"><p>broken &amp; bold</p></div>'
    assert bundle["entry"][4]["resource"] == as_json.json()["entry"][4]["resource"]  # the rest as received


@pytest.mark.django_db
def test_stored_json_decimals_keep_their_text_in_xml(client, users, case):
    raw = example_bytes("hl7-bundle-minimal.json")
    assert raw.count(b'"value": 1,') == 1  # the tablet count of the MedicationStatement
    document, _created = services.import_document(
        users["clinician"], case, raw.replace(b'"value": 1,', b'"value": 1.50,')
    )
    response = client.get(f"/fhir/Bundle/{document.pk}?_format=xml", headers=bearer(users["clinician"]))
    assert response.status_code == 200
    assert b'<value value="1.50"/>' in response.content  # as written, not 1.5
    assert (
        xml_to_dict(response.content)["entry"][5]["resource"]["dosage"][0]["doseAndRate"][0]["doseQuantity"]["value"]
        == 1.5
    )


# --- the records page ----------------------------------------------------------------------------------


def page(name, *args):
    with translation.override("en"):
        return reverse(f"records:{name}", args=args)


@pytest.mark.django_db
def test_page_offers_the_xml_download_beside_the_json_one(client, users, case):
    client.force_login(users["patient"])
    html = client.get(page("case", case.reference)).content.decode()
    assert page("export_json", case.reference) in html and page("export_xml", case.reference) in html
    response = client.get(page("export_xml", case.reference))
    assert response.status_code == 200 and response["Content-Type"] == FHIR_XML
    assert response["Content-Disposition"] == f'attachment; filename="ips-{case.reference}.xml"'
    ips.parse(b"".join(response.streaming_content))
    assert AuditEvent.objects.filter(action="records.export").count() == 1
