"""FHIR adapters of the records domain: a Consent as a FHIR R4 Consent resource (checked with the
fhir.resources R4B model before it leaves). A payment consent names the insurer as an Organization (by its
identifier) and the purpose of use HPAYMT (healthcare payment, v3 ActReason / PurposeOfUse)."""

from fhir.resources.R4B.consent import Consent as FhirConsent

from laihua.records.models import Consent, ConsentUse, DataType, PaymentDataType

DATA_TYPE_SYSTEM = "https://laihua.org/fhir/CodeSystem/record-data-type"
PIPL = "https://laihua.org/fhir/policy/pipl-art-38-39-separate-consent"
ACT_REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason"


def _recipient(consent: Consent) -> dict:
    """The Reference to the recipient: an Organization by identifier (an insurer), else a person by e-mail."""
    if consent.use == ConsentUse.PAYMENT:
        return {
            "type": "Organization",
            "identifier": {"system": consent.recipient_system, "value": consent.recipient_identifier},
            "display": consent.recipient_name,
        }
    return {
        "display": consent.recipient_name,
        "identifier": {"system": "mailto", "value": consent.recipient_email},
    }


def _purpose(consent: Consent) -> dict:
    if consent.use == ConsentUse.PAYMENT:
        return {"system": ACT_REASON, "code": "HPAYMT", "display": "healthcare payment"}
    return {"system": "https://laihua.org/fhir/purpose", "code": "records-transfer", "display": consent.purpose}


def consent_resource(consent: Consent) -> dict:
    """The FHIR Consent (scope patient-privacy; provision permit to the named recipient for the period)."""
    labels = {**dict(DataType.choices), **dict(PaymentDataType.choices)}
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
                    "reference": _recipient(consent),
                }
            ],
            "action": [
                {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentaction", "code": "disclose"}]}
            ],
            "purpose": [_purpose(consent)],
            "code": [
                {"coding": [{"system": DATA_TYPE_SYSTEM, "code": code, "display": str(labels.get(code, code))}]}
                for code in consent.data_types
            ],
        },
    }
    if consent.on_paper:  # the signed paper, recorded by the hospital's staff with its scan
        resource["sourceAttachment"] = {
            "contentType": consent.paper_content_type,
            "url": f"/api/records/consents/{consent.pk}/paper",
            "title": "Signed consent (scan)",
            "creation": consent.granted_at.isoformat(timespec="seconds"),
        }
    FhirConsent.model_validate(resource)
    return resource
