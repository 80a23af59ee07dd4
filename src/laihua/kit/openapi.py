"""The error answers every operation may give, written into an OpenAPI document in one place, so that the
document describes what the API does (clients and Schemathesis read it) without each route repeating them."""

import copy

# What the API itself answers besides an operation's own responses (see laihua.api and kit.weberrors).
ERROR_STATUSES = {
    "400": "The request could not be read (not JSON, malformed multipart).",
    "401": "Not signed in, or the API token is missing, expired or revoked.",
    "403": "Signed in, but this role may not do this.",
    "404": "No such object, or one the caller may not see.",
    "406": "The response format asked for (_format, Accept) is not offered.",
    "409": "The request conflicts with the object's current state.",
    "410": "A stored file is missing.",
    "413": "The request body is larger than the server accepts.",
    "415": "The body's media type is not the one this operation reads.",
    "422": "A field's value is refused; `field` names it.",
    "429": "Too many requests; try again later.",
    "503": "The service is briefly unavailable (the database is down); try again.",
}


def add_error_responses(schema: dict, name: str, error_schema: dict, media_type: str) -> dict:
    """The document with `name` among its component schemas and every error status above documented on
    every operation that does not document it itself."""
    schema = copy.deepcopy(schema)
    schema.setdefault("components", {}).setdefault("schemas", {})[name] = error_schema
    reference = {"$ref": f"#/components/schemas/{name}"}
    for operations in schema.get("paths", {}).values():
        for method, operation in operations.items():
            if method not in ("get", "put", "post", "delete", "patch", "head", "options"):
                continue
            responses = operation.setdefault("responses", {})
            for status, description in ERROR_STATUSES.items():
                responses.setdefault(
                    status, {"description": description, "content": {media_type: {"schema": reference}}}
                )
    return schema


API_ERROR = {
    "title": "Error",
    "type": "object",
    "description": "Every error of /api/: a stable code, a message in the user's language, and the field it concerns.",
    "properties": {
        "error": {"type": "string"},
        "detail": {"type": "string"},
        "field": {"anyOf": [{"type": "string"}, {"type": "null"}]},
    },
    "required": ["error", "detail", "field"],
}

OPERATION_OUTCOME = {
    "title": "OperationOutcome",
    "type": "object",
    "description": "A FHIR R4 OperationOutcome: every error of /fhir/, each issue with its location.",
    "properties": {
        "resourceType": {"type": "string", "enum": ["OperationOutcome"]},
        "issue": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "properties": {
                    "severity": {"type": "string", "enum": ["fatal", "error", "warning", "information"]},
                    "code": {"type": "string"},
                    "diagnostics": {"type": "string"},
                    "expression": {"type": "array", "items": {"type": "string"}},
                },
                "required": ["severity", "code"],
            },
        },
    },
    "required": ["resourceType", "issue"],
}
