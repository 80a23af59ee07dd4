"""The CapabilityStatement `GET /fhir/metadata` answers: exactly what the /fhir/ endpoint does.

Kept as one table beside the routes; tests/test_fhir_endpoint.py checks that every route is in it and
that it names no route that does not exist, and validates it with the fhir.resources R4B model."""

from django.conf import settings

from laihua.kit import clock

PAS_SD = "http://hl7.org/fhir/us/davinci-pas/StructureDefinition/"
PAS_OD = "http://hl7.org/fhir/us/davinci-pas/OperationDefinition/"
IPS = "http://hl7.org/fhir/uv/ips/"
JSON_ONLY = "FHIR JSON only."
JSON_AND_XML = "FHIR JSON, or FHIR XML with _format=xml or Accept: application/fhir+xml."

# (resource type, interactions, search params, operations, profiles, documentation)
RESOURCES = [
    {
        "type": "Claim",
        "interaction": ["create", "read", "search-type"],
        "searchParam": [
            {
                "name": "status",
                "type": "token",
                "documentation": "active (the default: open and answered requests), pending (waiting for the "
                "insurer), cancelled or all. Scoped to the caller: an insurer agent sees its members' only.",
            }
        ],
        "operation": [
            {"name": "submit", "definition": PAS_OD + "Claim-submit"},
            {"name": "inquire", "definition": PAS_OD + "Claim-inquiry"},
        ],
        "supportedProfile": [PAS_SD + "profile-claim"],
        "documentation": "Guarantee of payment requests (use = preauthorization). $submit and create take a PAS "
        "request Bundle for a case (Claim.identifier with system urn:laihua:case, or ?case=REF); $submit and "
        "$inquire answer a Bundle whose first entry is the ClaimResponse. Read and search give the Claim Bundle "
        "sent to the insurer. " + JSON_ONLY,
    },
    {
        "type": "ClaimResponse",
        "interaction": ["create", "read"],
        "supportedProfile": [PAS_SD + "profile-claimresponse"],
        "documentation": "The insurer's answer, bare or as the first entry of a PAS response Bundle; "
        "ClaimResponse.request.identifier names the GOP number (use = preauthorization) or the invoice claim "
        "(use = claim). " + JSON_ONLY,
    },
    {
        "type": "Bundle",
        "interaction": ["create", "read"],
        "supportedProfile": [IPS + "StructureDefinition/Bundle-uv-ips"],
        "documentation": "International Patient Summary documents of a case (create with ?case=REF, JSON or XML "
        "body). " + JSON_AND_XML,
    },
    {
        "type": "Patient",
        "interaction": [],
        "operation": [{"name": "summary", "definition": IPS + "OperationDefinition/summary"}],
        "documentation": "GET Patient/{id}/$summary[?case=REF]: the patient's IPS document. " + JSON_AND_XML,
    },
    {
        "type": "Consent",
        "interaction": ["read"],
        "documentation": "A patient's consent to send records outside the hospital. " + JSON_AND_XML,
    },
]


def capability_statement() -> dict:
    """The CapabilityStatement (FHIR R4, 4.0.1) of this server."""
    base = settings.SITE_URL.rstrip("/") + "/fhir"
    resources = []
    for row in RESOURCES:
        resource = {"type": row["type"]}
        if row.get("supportedProfile"):
            resource["supportedProfile"] = row["supportedProfile"]
        resource["documentation"] = row["documentation"]
        if row["interaction"]:
            resource["interaction"] = [{"code": code} for code in row["interaction"]]
        if row.get("searchParam"):
            resource["searchParam"] = row["searchParam"]
        if row.get("operation"):
            resource["operation"] = row["operation"]
        resources.append(resource)
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": clock.today().isoformat(),
        "publisher": "Laihua",
        "kind": "instance",
        "software": {"name": "Laihua"},
        "implementation": {"description": "Laihua FHIR endpoint", "url": base},
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "application/fhir+xml"],
        "rest": [
            {
                "mode": "server",
                "documentation": "Errors are OperationOutcome resources, each issue naming its element "
                "(expression). GET metadata needs no authentication; everything else does.",
                "security": {
                    "cors": False,
                    "description": "A personal API token (Authorization: Bearer lh_...) or a signed-in "
                    "session; without one the answer is 401 with an OperationOutcome.",
                },
                "resource": resources,
            }
        ],
    }
