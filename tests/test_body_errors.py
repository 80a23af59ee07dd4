"""Bodies the API cannot read, and a database that is down, answer in the API's own shapes (JSON under
/api/, an OperationOutcome under /fhir/), never as an HTML page or a 500."""

import re

import pytest
from django.db import OperationalError
from django.db.backends.base.base import BaseDatabaseWrapper
from django.test import Client, override_settings

from laihua.api import api
from laihua.fhir_api import fhir_api

pytestmark = pytest.mark.django_db


def json_post_routes():
    """Every POST operation of both APIs whose body is JSON, with its path parameters filled in."""
    routes = []
    for prefix, schema in (("/api", api.get_openapi_schema()), ("/fhir", fhir_api.get_openapi_schema())):
        for path, operations in schema["paths"].items():
            post = operations.get("post")
            if not post:
                continue
            content = post.get("requestBody", {}).get("content", {})
            if "multipart/form-data" in content:
                continue  # an upload route reads multipart on purpose
            assert path.startswith(prefix + "/"), path
            routes.append(re.sub(r"\{[^}]+\}", "1", path))
    return sorted(routes)


def shaped(response) -> dict:
    assert response["Content-Type"].startswith(("application/json", "application/fhir+json")), response.content[:200]
    body = response.json()
    if body.get("resourceType") == "OperationOutcome":
        assert body["issue"][0]["severity"] == "error"
    else:
        assert set(body) == {"error", "detail", "field"}
    return body


def test_there_are_many_json_routes_to_try():
    assert len(json_post_routes()) > 30


@pytest.mark.parametrize("signed_in", [False, True])
def test_a_multipart_body_on_a_json_route_is_refused_in_the_apis_shape(users, signed_in):
    client = Client(raise_request_exception=False)
    if signed_in:
        client.force_login(users["coordinator"])
    failures = []
    for path in json_post_routes():
        response = client.post(path, {"name": "x", "note": "y"})  # the test client sends multipart/form-data
        if response.status_code >= 500:
            failures.append(f"{path}: {response.status_code}")
            continue
        shaped(response)
    assert not failures, failures


def test_the_registration_route_refuses_multipart_without_a_500():
    response = Client(raise_request_exception=False).post("/api/patients/register", {"email": "a@example.org"})
    assert response.status_code == 400 and shaped(response)["error"] == "bad_request"


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1024)
@pytest.mark.parametrize(("path", "resource"), [("/api/patients/register", None), ("/fhir/Bundle", "OperationOutcome")])
def test_a_body_over_the_limit_is_413_in_the_apis_shape(path, resource):
    response = Client(raise_request_exception=False).post(
        path, "{" + '"a": "' + "x" * 4000 + '"}', content_type="application/json"
    )
    assert response.status_code == 413
    body = shaped(response)
    assert body.get("resourceType") == resource if resource else body["error"] == "too_large"


def test_a_malformed_multipart_body_is_400_in_the_apis_shape():
    response = Client(raise_request_exception=False).post(
        "/api/patients/register", b"--oops\r\nnot a part", content_type="multipart/form-data; boundary=nomatch"
    )
    assert response.status_code == 400 and shaped(response)["error"] == "bad_request"


@pytest.fixture
def database_down(monkeypatch):
    def refuse(self):
        raise OperationalError("could not connect to server: Connection refused")

    monkeypatch.setattr(BaseDatabaseWrapper, "ensure_connection", refuse)


def test_while_the_database_is_down_the_api_answers_503_json(users, database_down):
    response = Client(raise_request_exception=False).get("/api/me", headers={"Authorization": "Bearer lh_x"})
    assert response.status_code == 503 and response["Retry-After"] == "30"
    assert shaped(response)["error"] == "unavailable"


def test_while_the_database_is_down_fhir_answers_503_operation_outcome(database_down):
    response = Client(raise_request_exception=False).get("/fhir/Claim", headers={"Authorization": "Bearer lh_x"})
    assert response.status_code == 503
    assert shaped(response)["issue"][0]["code"] == "transient"


def test_while_the_database_is_down_healthz_is_503(database_down):
    response = Client(raise_request_exception=False).get("/healthz")
    body = response.json()
    assert response.status_code == 503 and body["status"] == "down" and body["checks"]["database"]["status"] == "error"
