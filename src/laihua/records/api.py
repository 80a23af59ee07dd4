"""JSON routes of the records domain (mounted at /api/records by laihua.api)."""

from ninja import Router

from laihua.api import AUTH

router = Router(tags=["records"], auth=AUTH)
