"""The one place that knows which Airflow is installed and where it keeps moved names.

The flags are read from the installed distribution's metadata, not from ``import airflow``, so
the plugins can check them without paying for Airflow's import. They compare release tuples,
so a pre-release such as ``3.0.0rc1`` counts as 3.0.

Moved names (``BaseOperator``, ``BaseHook``, ``Context``...) are resolved lazily on first
attribute access: ``from airflow_mwaa_extras.version_compat import BaseOperator``.
"""

from __future__ import annotations

import importlib
import sys
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from packaging.version import InvalidVersion, Version

MIN_AIRFLOW_VERSION = (2, 10, 0)


class AirflowNotInstalledError(ImportError):
    """Raised when an Airflow-facing module is used where Airflow is not installed."""


def _installed_airflow_version() -> Version | None:
    # In an Airflow process (where plugins load) Airflow is already imported: its __version__ is
    # free, while reading distribution metadata costs milliseconds in every process.
    loaded = sys.modules.get("airflow")
    if loaded is not None and isinstance(getattr(loaded, "__version__", None), str):
        return Version(loaded.__version__)
    # apache-airflow is the distribution on 2.x; on 3.x it is a meta package beside
    # apache-airflow-core, and both carry the same version.
    for dist in ("apache-airflow", "apache-airflow-core"):
        try:
            return Version(metadata.version(dist))
        except (metadata.PackageNotFoundError, InvalidVersion):
            continue
    return None


def release_tuple(version: Version) -> tuple[int, int, int]:
    """``Version("3.0.0rc1")`` -> ``(3, 0, 0)``; missing parts count as 0."""
    parts = (*version.release, 0, 0, 0)
    return (parts[0], parts[1], parts[2])


AIRFLOW_VERSION: Version | None = _installed_airflow_version()
AIRFLOW_VERSION_TUPLE: tuple[int, int, int] = (
    release_tuple(AIRFLOW_VERSION) if AIRFLOW_VERSION is not None else (0, 0, 0)
)
AIRFLOW_INSTALLED = AIRFLOW_VERSION is not None
AIRFLOW_V_2_10_PLUS = AIRFLOW_VERSION_TUPLE >= (2, 10, 0)
AIRFLOW_V_2_11_PLUS = AIRFLOW_VERSION_TUPLE >= (2, 11, 0)
AIRFLOW_V_3_0_PLUS = AIRFLOW_VERSION_TUPLE >= (3, 0, 0)
AIRFLOW_V_3_1_PLUS = AIRFLOW_VERSION_TUPLE >= (3, 1, 0)

# name -> (module on Airflow 3, module on Airflow 2). The attribute has the same name in both.
_MOVED: dict[str, tuple[str, str]] = {
    "BaseOperator": ("airflow.sdk", "airflow.models.baseoperator"),
    "BaseHook": ("airflow.sdk", "airflow.hooks.base"),
    "BaseSensorOperator": ("airflow.sdk", "airflow.sensors.base"),
    "Context": ("airflow.sdk", "airflow.utils.context"),
    "DAG": ("airflow.sdk", "airflow.models.dag"),
    "get_current_context": ("airflow.sdk", "airflow.operators.python"),
    "PythonOperator": ("airflow.providers.standard.operators.python", "airflow.operators.python"),
    "PythonVirtualenvOperator": (
        "airflow.providers.standard.operators.python",
        "airflow.operators.python",
    ),
    "BaseTrigger": ("airflow.triggers.base", "airflow.triggers.base"),
    "TriggerEvent": ("airflow.triggers.base", "airflow.triggers.base"),
    "AirflowPlugin": ("airflow.plugins_manager", "airflow.plugins_manager"),
    # 3.1+ keeps it in airflow.sdk.log (which also tells the supervisor); 3.0 had it elsewhere.
    "mask_secret": ("airflow.sdk.log", "airflow.utils.log.secrets_masker"),
    "CronTriggerTimetable": ("airflow.sdk", "airflow.timetables.trigger"),
}


def require_airflow() -> Version:
    """Return the installed Airflow version, or explain clearly why it cannot be used."""
    if AIRFLOW_VERSION is None:
        raise AirflowNotInstalledError(
            "This part of airflow-mwaa-extras needs Apache Airflow. Install it under MWAA's "
            "constraints, e.g. pip install 'airflow-mwaa-extras[airflow]' -c constraints.txt"
        )
    if AIRFLOW_VERSION_TUPLE < MIN_AIRFLOW_VERSION:
        raise AirflowNotInstalledError(
            f"airflow-mwaa-extras supports Apache Airflow 2.10 and newer; found {AIRFLOW_VERSION}"
        )
    return AIRFLOW_VERSION


def parse_dag_folder(folder: str | Path) -> Any:
    """A DagBag of ``folder`` without Airflow's bundled examples, on any supported version.

    DagBag moved to ``airflow.dag_processing.dagbag`` in 3.1 (the old path warns), and 3.x
    dropped ``include_examples`` (examples are a separate bundle there).
    """
    require_airflow()
    if AIRFLOW_V_3_1_PLUS:
        return importlib.import_module("airflow.dag_processing.dagbag").DagBag(dag_folder=str(folder))
    dagbag = importlib.import_module("airflow.models.dagbag").DagBag
    if AIRFLOW_V_3_0_PLUS:
        return dagbag(dag_folder=str(folder))
    return dagbag(dag_folder=str(folder), include_examples=False)


def __getattr__(name: str) -> Any:
    try:
        v3_module, v2_module = _MOVED[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    require_airflow()
    value = getattr(importlib.import_module(v3_module if AIRFLOW_V_3_0_PLUS else v2_module), name)
    globals()[name] = value  # cache: the next access is a plain attribute lookup
    return value


if TYPE_CHECKING:  # what type checkers see; the real names come from __getattr__ above
    from airflow.hooks.base import BaseHook as BaseHook
    from airflow.models.baseoperator import BaseOperator as BaseOperator
    from airflow.models.dag import DAG as DAG
    from airflow.operators.python import PythonOperator as PythonOperator
    from airflow.operators.python import PythonVirtualenvOperator as PythonVirtualenvOperator
    from airflow.operators.python import get_current_context as get_current_context
    from airflow.plugins_manager import AirflowPlugin as AirflowPlugin
    from airflow.sensors.base import BaseSensorOperator as BaseSensorOperator
    from airflow.timetables.trigger import CronTriggerTimetable as CronTriggerTimetable
    from airflow.triggers.base import BaseTrigger as BaseTrigger
    from airflow.triggers.base import TriggerEvent as TriggerEvent
    from airflow.utils.context import Context as Context
