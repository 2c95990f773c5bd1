"""Fixtures of the plugin tests."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest

from airflow_mwaa_extras.testing.airflow_home import AirflowHome
from tests.plugins._helpers import EXAMPLE_DAGS


@pytest.fixture
def plugin_home(make_airflow_home: Callable[..., AirflowHome]) -> Callable[..., AirflowHome]:
    """Factory of fresh homes whose dags folder is example_dags/ and whose plugins folder is their own."""

    def factory(name: str = "home", **kwargs: object) -> AirflowHome:
        kwargs.setdefault("dags_folder", EXAMPLE_DAGS)
        return make_airflow_home(name, **kwargs)

    return factory


@pytest.fixture(autouse=True)
def _fresh_say_once_markers(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The plugins load in the pytest process too (``import airflow``), and their say-once markers
    would be inherited by the Airflow processes a test starts, silencing what the test checks."""
    for name in [key for key in os.environ if key.startswith("_MWAA_EXTRAS_SAID_")]:
        monkeypatch.delenv(name)
    yield
    for name in [key for key in os.environ if key.startswith("_MWAA_EXTRAS_SAID_")]:
        del os.environ[name]  # said during the test: not to be inherited by the next test's processes
