"""FHIR adapters of the records domain: a Consent as a FHIR R4 Consent resource (checked with the
fhir.resources R4B model before it leaves)."""

from fhir.resources.R4B.consent import Consent as FhirConsent

from laihua.records.models import Consent, DataType

DATA_TYPE_SYSTEM = "https://laihua.org/fhir/CodeSystem/record-data-type"
PIPL = "https://laihua.org/fhir/policy/pipl-art-38-39-separate-consent"


def consent_resource(consent: Consent) -> dict:
    """The FHIR Consent (scope patient-privacy; provision permit to the named recipient for the period)."""
    labels = dict(DataType.choices)
    resource = {
        "resourceType": "Consent",
        "id": str(consent.pk),
        "status": consent.status,
        "scope": {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "patient-privacy"}]
        },
        "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0", "display": "Patient Consent"}]}],
        "patient": {"reference": f"Patient/{consent.patient_id}", "display": consent.patient.full_name},
        "dateTime": consent.granted_at.isoformat(timespec="seconds"),
        "organization": [{"display": consent.case.hospital.name.get("en", "")}],
        "policy": [{"uri": PIPL}],
        "provision": {
            "type": "permit",
            "period": {"start": consent.period_start.isoformat(), "end": consent.period_end.isoformat()},
            "actor": [
                {
                    "role": {
                        "coding": [
                            {
                                "system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
                                "code": "IRCP",
                                "display": "information recipient",
                            }
                        ]
                    },
                    "reference": {
                        "display": consent.recipient_name,
                        "identifier": {"system": "mailto", "value": consent.recipient_email},
                    },
                }
            ],
            "action": [
                {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentaction", "code": "disclose"}]}
            ],
            "purpose": [
                {"system": "https://laihua.org/fhir/purpose", "code": "records-transfer", "display": consent.purpose}
            ],
            "code": [
                {"coding": [{"system": DATA_TYPE_SYSTEM, "code": code, "display": str(labels.get(code, code))}]}
                for code in consent.data_types
            ],
        },
    }
    FhirConsent.model_validate(resource)
    return resource
