"""A JSON or XML body nested deeper than FHIR needs (over 100 levels) is refused with 422 naming the
limit by every records parser: the JSON API, /fhir/Bundle, the page upload and `laihua records import`,
which goes on with the next file and prints its summary."""

import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import translation

from laihua.accounts.services import create_api_token
from laihua.records import ips
from laihua.records.models import IpsDocument
from laihua.records.tests.conftest import example_bytes

LIMIT_MESSAGE = "nested deeper than 100 levels"


def deep_json(levels: int) -> bytes:
    """The HL7 minimal example with a chain of extensions whose deepest container is at `levels` (the
    Bundle is level 1, its "extension" list level 2, each extension an object and a list more); written
    as text, as a client would send it."""
    chain = (levels - 1) // 2
    innermost = '{"url": "http://example.org/deep", "valueString": "bottom"%s}' % (
        ', "extension": []' if (levels - 1) % 2 else ""
    )
    opening = '{"url": "http://example.org/deep", "extension": [' * (chain - 1)
    document = example_bytes("hl7-bundle-minimal.json").decode().rstrip().removesuffix("}")
    return (document + ', "extension": [' + opening + innermost + "]}" * (chain - 1) + "]}").encode()


def deep_xml(levels: int) -> bytes:
    opening = "<extension url='http://example.org/deep'>" * (levels - 2)
    closing = "</extension>" * (levels - 2)
    return f'<Bundle xmlns="http://hl7.org/fhir">{opening}<valueString value="x"/>{closing}</Bundle>'.encode()


def refused(body: bytes) -> list[dict]:
    with pytest.raises(ips.IpsInvalid) as caught:
        ips.parse(body)
    return caught.value.issues


@pytest.mark.parametrize("body", [deep_json(101), deep_json(5001), b"[" * 200_000 + b"]" * 200_000])
def test_deep_json_is_refused_naming_the_limit(body):
    issues = refused(body)
    assert [i["expression"] for i in issues] == ["Bundle"] and LIMIT_MESSAGE in issues[0]["diagnostics"]


@pytest.mark.parametrize("levels", [101, 300, 5000])
def test_deep_xml_is_refused_naming_the_limit(levels):
    issues = refused(deep_xml(levels))
    assert [i["expression"] for i in issues] == ["Bundle"] and LIMIT_MESSAGE in issues[0]["diagnostics"]


def test_a_hundred_levels_are_read():
    assert not ips._json_too_deep(json.loads(deep_json(100)))
    assert not ips._json_too_deep(json.loads(deep_json(99)))
    assert ips._json_too_deep(json.loads(deep_json(101)))
    assert not ips._xml_too_deep(deep_xml(100)) and ips._xml_too_deep(deep_xml(101))
    for name in ("hl7-IPS-bundle-01.xml", "hl7-bundle-minimal.json"):
        ips.parse(example_bytes(name))


def bearer(user):
    return {"Authorization": f"Bearer {create_api_token(user, user, 'test')[1]}"}


BODIES = [("json", deep_json(5001)), ("xml", deep_xml(5000)), ("json-101", deep_json(101))]


@pytest.mark.django_db
@pytest.mark.parametrize("kind,body", BODIES)
def test_every_route_answers_422(client, case, users, kind, body):
    headers = bearer(users["coordinator"])
    api = client.post(
        f"/api/records/cases/{case.reference}/documents", body, content_type="application/json", headers=headers
    )
    assert api.status_code == 422 and LIMIT_MESSAGE in api.json()["issues"][0]["diagnostics"]
    fhir = client.post(
        f"/fhir/Bundle?case={case.reference}", body, content_type="application/fhir+json", headers=headers
    )
    assert fhir.status_code == 422
    assert fhir.json()["resourceType"] == "OperationOutcome" and LIMIT_MESSAGE in fhir.json()["issue"][0]["diagnostics"]
    client.force_login(users["coordinator"])
    with translation.override("en"):
        url = reverse("records:import", args=[case.reference])
    page = client.post(url, {"file": SimpleUploadedFile(f"deep.{kind[:4]}", body)})
    assert page.status_code == 422 and LIMIT_MESSAGE in page.content.decode()
    assert not IpsDocument.objects.exists()


@pytest.mark.django_db
def test_the_command_goes_on_with_the_next_file(case, tmp_path):
    (tmp_path / "a-deep.json").write_bytes(deep_json(5001))
    (tmp_path / "b-deep.xml").write_bytes(deep_xml(5000))
    (tmp_path / "c-good.json").write_bytes(example_bytes("hl7-bundle-minimal.json"))
    out = io.StringIO()
    with pytest.raises(CommandError) as caught:
        call_command(
            "records",
            "import",
            str(tmp_path),
            "--case",
            case.reference,
            "--no-progress",
            stdout=out,
            stderr=io.StringIO(),
        )
    assert "1 accepted, 0 already stored, 2 rejected." in str(caught.value)
    text = out.getvalue()
    assert text.count(LIMIT_MESSAGE) == 2 and "accepted  " + str(tmp_path / "c-good.json") in text
    assert IpsDocument.objects.count() == 1


def _entry_references(data: dict) -> dict:
    return {
        index: sorted(ips._with_text(entry["resource"], "reference", skip=("contained",)))
        for index, entry in enumerate(data["entry"])
    }


@pytest.mark.parametrize("name", ["hl7-bundle-minimal.json", "hl7-IPS-bundle-01.xml"])
def test_the_one_pass_over_a_document_finds_the_texts_each_rule_reads(name):
    """The pass that checks the depth also collects the narratives and each entry's references: the same
    texts the located walks find, a contained resource's narrative included and its references not,
    `_name` companions never read."""
    data = ips.decode(example_bytes(name))[0]
    medication = next(e["resource"] for e in data["entry"] if e["resource"]["resourceType"] == "MedicationStatement")
    medication["contained"] = [
        {
            "resourceType": "Medication",
            "id": "med1",
            "text": {"status": "generated", "div": '<div xmlns="http://www.w3.org/1999/xhtml">contained</div>'},
            "ingredient": [{"itemReference": {"reference": "Substance/left-out"}}],
        }
    ]
    medication["_status"] = {"extension": [{"url": "http://example.org/x", "valueReference": {"reference": "X/1"}}]}
    texts = ips._scan(data)
    assert sorted(texts.divs) == sorted(ips._with_text(data, "div"))
    assert '<div xmlns="http://www.w3.org/1999/xhtml">contained</div>' in texts.divs
    assert {i: sorted(refs) for i, refs in texts.references.items()} == _entry_references(data)
    assert "Substance/left-out" not in {ref for refs in texts.references.values() for ref in refs}
    assert "X/1" not in {ref for refs in texts.references.values() for ref in refs}
    assert ips.reference_issues(data["entry"], texts) == ips.reference_issues(data["entry"])
