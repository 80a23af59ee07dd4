"""Every operation of both APIs, driven by Schemathesis from their own OpenAPI documents, signed in as a
coordinator and as a patient: no server errors, and every answer conforms to the documented status codes and
schemas. Bounded (a few examples per operation) so that the suite stays quick."""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from laihua.accounts.services import create_api_token

pytestmark = pytest.mark.django_db

# What the documents promise: no server error, only documented status codes, content types and bodies.
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
CHECKS_SETTINGS = settings(
    max_examples=6,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
    database=None,
)


APPLICATION = get_wsgi_application()
api = schemathesis.openapi.from_wsgi("/api/openapi.json", APPLICATION)
fhir = schemathesis.openapi.from_wsgi("/fhir/openapi.json", APPLICATION)


@pytest.fixture(autouse=True)
def keep_the_test_connection():
    """Requests go through the WSGI application, which closes the database connection after each request; as
    Django's own test client does, keep the test's connection (and its transaction) open meanwhile."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def bearers(users, case):
    """The headers of a coordinator and of a patient (one with a case at the coordinator's hospital)."""
    headers = []
    for user in (users["coordinator"], case.patient.user):
        _token, secret = create_api_token(None, user, "fuzz", by_system=True)
        headers.append({"Authorization": f"Bearer {secret}"})
    return headers


@api.parametrize()
@CHECKS_SETTINGS
def test_the_json_api_keeps_its_document(case, bearers):
    for headers in bearers:
        case.call_and_validate(headers=headers, checks=CHECKS)


@fhir.parametrize()
@CHECKS_SETTINGS
def test_the_fhir_endpoint_keeps_its_document(case, bearers):
    for headers in bearers:
        case.call_and_validate(headers=headers, checks=CHECKS)
