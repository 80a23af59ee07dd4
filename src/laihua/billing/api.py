"""JSON routes of the billing domain (mounted at /api/billing by laihua.api)."""

from ninja import Router

from laihua.api import AUTH

router = Router(tags=["billing"], auth=AUTH)
