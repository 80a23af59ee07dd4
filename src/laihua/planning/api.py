"""JSON routes of the planning domain (mounted at /api/planning by laihua.api)."""

from ninja import Router

from laihua.api import AUTH

router = Router(tags=["planning"], auth=AUTH)
