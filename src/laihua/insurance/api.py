"""JSON routes of the insurance domain (mounted at /api/insurance by laihua.api)."""

from ninja import Router

from laihua.api import AUTH

router = Router(tags=["insurance"], auth=AUTH)
