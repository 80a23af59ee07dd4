"""FHIR routes of the insurance domain (mounted under /fhir/ by laihua.fhir_api)."""

from ninja import Router

router = Router(tags=["insurance"])
