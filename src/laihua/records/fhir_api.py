"""FHIR routes of the records domain (mounted under /fhir/ by laihua.fhir_api)."""

from ninja import Router

router = Router(tags=["records"])
