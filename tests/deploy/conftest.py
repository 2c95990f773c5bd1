"""Fixtures shared by the ``mwaa-extras local`` tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def local_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One environment cache (``MWAA_EXTRAS_LOCAL_CACHE``) for the session: built once, reused."""
    return tmp_path_factory.mktemp("local-cache")
