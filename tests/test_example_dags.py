"""Every file in example_dags/ parses into a DagBag with zero import errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_mwaa_extras.version_compat import load_dagbag

EXAMPLE_DAGS = Path(__file__).resolve().parent.parent / "example_dags"
EXAMPLE_FILES = sorted(p for p in EXAMPLE_DAGS.glob("*.py") if not p.name.startswith("_"))


def test_there_are_example_dags() -> None:
    assert EXAMPLE_FILES, "example_dags/ holds no DAG files"


@pytest.fixture(scope="module")
def dagbag():  # type: ignore[no-untyped-def]
    return load_dagbag(EXAMPLE_DAGS)


def test_example_dags_have_no_import_errors(dagbag) -> None:  # type: ignore[no-untyped-def]
    assert dagbag.import_errors == {}


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=[p.name for p in EXAMPLE_FILES])
def test_each_example_file_defines_a_dag(dagbag, path: Path) -> None:  # type: ignore[no-untyped-def]
    dags_in_file = [dag for dag in dagbag.dags.values() if Path(dag.fileloc).resolve() == path.resolve()]
    assert dags_in_file, f"{path.name} defines no DAG"
    for dag in dags_in_file:
        assert dag.dag_id.startswith("example_mwaa_extras_"), (
            f"{dag.dag_id}: example DAG ids share one prefix"
        )
        assert "example" in dag.tags
