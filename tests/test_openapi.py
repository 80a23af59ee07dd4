"""The OpenAPI documents describe what the APIs do: every response schema under its own name, and the error
answers of every operation documented."""

import collections
import importlib
import inspect
import pkgutil

import pytest
from ninja import Schema

import laihua
from laihua.api import api
from laihua.fhir_api import fhir_api
from laihua.kit.openapi import ERROR_STATUSES


def schema_classes() -> dict[str, set[str]]:
    """Every ninja Schema defined in Laihua, by class name: {name: {modules defining one}}."""
    found = collections.defaultdict(set)
    for info in pkgutil.walk_packages(laihua.__path__, "laihua."):
        if ".tests" in info.name or ".migrations" in info.name or info.name.endswith(".manage"):
            continue
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if inspect.isclass(value) and issubclass(value, Schema) and value.__module__ == module.__name__:
                found[value.__name__].add(module.__name__)
    return found


def test_no_two_schemas_share_a_name():
    """django-ninja names a component after its class: two classes of one name would overwrite each other in
    the document, and operations would document the wrong shape."""
    clashes = {name: sorted(modules) for name, modules in schema_classes().items() if len(modules) > 1}
    assert not clashes


@pytest.mark.parametrize(("document", "error"), [(api, "Error"), (fhir_api, "OperationOutcome")])
def test_every_operation_documents_its_error_answers(document, error):
    schema = document.get_openapi_schema()
    assert error in schema["components"]["schemas"]
    operations = [op for ops in schema["paths"].values() for op in ops.values()]
    assert len(operations) > 10
    for operation in operations:
        assert set(ERROR_STATUSES) <= set(operation["responses"]), operation.get("operationId")
