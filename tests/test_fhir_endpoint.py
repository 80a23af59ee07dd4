"""The /fhir/ endpoint as a FHIR client meets it: the CapabilityStatement, 401 without a valid token
(never a CSRF 403), and OperationOutcomes for unknown routes, operations and methods."""

import re

import pytest
from django.test import Client
from fhir.resources.R4B.capabilitystatement import CapabilityStatement

from laihua.accounts.services import create_api_token
from laihua.fhir_api import fhir_api
from laihua.kit.fhirxml import xml_to_dict

pytestmark = pytest.mark.django_db
FHIR = "application/fhir+json"


def outcome(response) -> dict:
    assert response["Content-Type"].startswith(FHIR), response["Content-Type"]
    body = response.json()
    assert body["resourceType"] == "OperationOutcome", body
    return body


def test_metadata_is_an_r4_capability_statement_without_authentication():
    response = Client().get("/fhir/metadata")
    assert response.status_code == 200 and response["Content-Type"].startswith(FHIR)
    statement = CapabilityStatement.model_validate(response.json())
    assert statement.fhirVersion == "4.0.1" and statement.kind == "instance"
    assert set(statement.format) == {"application/fhir+json", "application/fhir+xml"}
    claim = next(r for r in statement.rest[0].resource if r.type == "Claim")
    assert {(op.name, op.definition) for op in claim.operation} == {
        ("submit", "http://hl7.org/fhir/us/davinci-pas/OperationDefinition/Claim-submit"),
        ("inquire", "http://hl7.org/fhir/us/davinci-pas/OperationDefinition/Claim-inquiry"),
    }
    assert [p.name for p in claim.searchParam] == ["status"]
    xml = Client().get("/fhir/metadata?_format=xml")
    assert xml["Content-Type"].startswith("application/fhir+xml")
    assert xml_to_dict(xml.content)["fhirVersion"] == "4.0.1"


def _routes() -> set[tuple[str, str]]:
    """(method, path) of every FHIR route, from the endpoint's own OpenAPI description."""
    schema = fhir_api.get_openapi_schema()
    found = set()
    for path, methods in schema["paths"].items():
        path = re.sub(r"\{[^}]+\}", "{id}", path.removeprefix("/fhir/"))
        found |= {(method.upper(), path) for method in methods}
    return found - {("GET", "metadata")}


def _declared() -> set[tuple[str, str]]:
    """The same, as the CapabilityStatement says it."""
    response = Client().get("/fhir/metadata").json()
    interactions = {"create": ("POST", "{type}"), "read": ("GET", "{type}/{id}"), "search-type": ("GET", "{type}")}
    found = set()
    for resource in response["rest"][0]["resource"]:
        kind = resource["type"]
        for interaction in resource.get("interaction", []):
            method, path = interactions[interaction["code"]]
            found.add((method, path.format(type=kind, id="{id}")))
        for operation in resource.get("operation", []):
            if kind == "Claim":
                found.add(("POST", f"Claim/${operation['name']}"))
            else:  # an instance operation read with GET
                found.add(("GET", f"{kind}/{{id}}/${operation['name']}"))
    return found


def test_the_capability_statement_declares_exactly_the_routes_there_are():
    assert _declared() == _routes()


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/fhir/Claim/$submit"),
        ("post", "/fhir/Claim/$inquire"),
        ("post", "/fhir/Claim"),
        ("post", "/fhir/ClaimResponse"),
        ("post", "/fhir/Bundle?case=LH-1"),
        ("get", "/fhir/Claim"),
        ("get", "/fhir/Claim/GOP-2026-000001"),
        ("get", "/fhir/Consent/1"),
    ],
)
@pytest.mark.parametrize("token", [None, "lh_not-a-real-token"])
def test_no_or_an_invalid_token_is_401_with_an_operation_outcome(method, path, token):
    client = Client(enforce_csrf_checks=True)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    body = {} if method == "get" else {"data": "{}", "content_type": FHIR}
    response = getattr(client, method)(path, headers=headers, **body)
    assert response.status_code == 401
    assert outcome(response)["issue"][0]["code"] == "login"
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_an_invalid_token_beside_a_session_is_still_401(users):
    client = Client(enforce_csrf_checks=True)
    client.force_login(users["coordinator"])
    response = client.post("/fhir/Claim/$submit", "{}", content_type=FHIR, headers={"Authorization": "Bearer lh_x"})
    assert response.status_code == 401 and outcome(response)


def test_a_signed_in_browser_without_the_csrf_token_is_told_so_as_an_operation_outcome(users):
    client = Client(enforce_csrf_checks=True)
    client.force_login(users["coordinator"])
    response = client.post("/fhir/Claim/$submit", "{}", content_type=FHIR)
    assert response.status_code == 403 and outcome(response)["issue"][0]["code"] == "forbidden"


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("get", "/fhir/NoSuchResource/1", 404),
        ("post", "/fhir/Observation", 404),
        ("post", "/fhir/Claim/$validate", 400),
        ("get", "/fhir/Claim/$everything", 400),
        ("get", "/fhir/Patient/1/$everything", 400),
        ("get", "/fhir/Claim/$submit", 405),
        ("delete", "/fhir/Claim/GOP-2026-000001", 405),
        ("put", "/fhir/ClaimResponse", 405),
    ],
)
def test_unknown_routes_operations_and_methods_answer_operation_outcomes(users, method, path, status):
    token = create_api_token(users["coordinator"], users["coordinator"], "t")[1]
    body = {} if method == "get" else {"data": "{}", "content_type": FHIR}
    response = getattr(Client(enforce_csrf_checks=True), method)(
        path, headers={"Authorization": f"Bearer {token}"}, **body
    )
    assert response.status_code == status
    body = outcome(response)
    assert body["issue"][0]["severity"] == "error"
    assert body["issue"][0]["code"] == ("not-found" if status == 404 else "not-supported")
    if status == 405:
        assert response["Allow"]
