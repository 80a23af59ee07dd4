"""Shared by the cases tests: uploaded files go to a temporary folder."""

import pytest


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    """Keep uploaded files out of var/media."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT
