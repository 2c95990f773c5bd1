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

# The oldest Airflow MWAA runs (2.9.2). Below it the plugins register nothing (one warning each)
# and everything else refuses with one line (require_airflow).
MIN_AIRFLOW_VERSION = (2, 9, 0)
MIN_AIRFLOW_TEXT = "2.9"


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
AIRFLOW_SUPPORTED = AIRFLOW_INSTALLED and AIRFLOW_VERSION_TUPLE >= MIN_AIRFLOW_VERSION
AIRFLOW_V_2_10_PLUS = AIRFLOW_VERSION_TUPLE >= (2, 10, 0)
AIRFLOW_V_2_11_PLUS = AIRFLOW_VERSION_TUPLE >= (2, 11, 0)
AIRFLOW_V_3_0_PLUS = AIRFLOW_VERSION_TUPLE >= (3, 0, 0)
AIRFLOW_V_3_1_PLUS = AIRFLOW_VERSION_TUPLE >= (3, 1, 0)

# name -> ((oldest Airflow, module), ...), newest first: the first entry whose version the
# installed Airflow reaches is the name's home. The attribute has the same name in each.
_V3: tuple[int, int, int] = (3, 0, 0)
_V3_1: tuple[int, int, int] = (3, 1, 0)
_ANY: tuple[int, int, int] = (0, 0, 0)
_MOVED: dict[str, tuple[tuple[tuple[int, int, int], str], ...]] = {
    "BaseOperator": ((_V3, "airflow.sdk"), (_ANY, "airflow.models.baseoperator")),
    # airflow.sdk exports BaseHook from 3.1 on; 3.0 (MWAA 3.0.6) kept it in airflow.hooks.base.
    "BaseHook": ((_V3_1, "airflow.sdk"), (_ANY, "airflow.hooks.base")),
    "BaseSensorOperator": ((_V3, "airflow.sdk"), (_ANY, "airflow.sensors.base")),
    "Context": ((_V3, "airflow.sdk"), (_ANY, "airflow.utils.context")),
    "DAG": ((_V3, "airflow.sdk"), (_ANY, "airflow.models.dag")),
    "get_current_context": ((_V3, "airflow.sdk"), (_ANY, "airflow.operators.python")),
    "PythonOperator": (
        (_V3, "airflow.providers.standard.operators.python"),
        (_ANY, "airflow.operators.python"),
    ),
    "PythonVirtualenvOperator": (
        (_V3, "airflow.providers.standard.operators.python"),
        (_ANY, "airflow.operators.python"),
    ),
    # what BaseOperator.defer() raises; 3.0 (MWAA 3.0.6) still raises airflow.exceptions' one
    "TaskDeferred": ((_V3_1, "airflow.sdk.exceptions"), (_ANY, "airflow.exceptions")),
    "BaseTrigger": ((_ANY, "airflow.triggers.base"),),
    "TriggerEvent": ((_ANY, "airflow.triggers.base"),),
    "AirflowPlugin": ((_ANY, "airflow.plugins_manager"),),
    # 3.1+ keeps it in airflow.sdk.log (which also tells the supervisor); 3.0 had it elsewhere.
    "mask_secret": ((_V3, "airflow.sdk.log"), (_ANY, "airflow.utils.log.secrets_masker")),
    # airflow.sdk exports timetables from 3.1 on; 3.0 (MWAA 3.0.6) and 2.x keep it here.
    "CronTriggerTimetable": ((_V3_1, "airflow.sdk"), (_ANY, "airflow.timetables.trigger")),
}


def home_of(name: str, version: tuple[int, int, int]) -> str:
    """The module that holds the moved ``name`` on Airflow ``version``.

    :param name: a key of the moved-names table, e.g. ``CronTriggerTimetable``
    :param version: a release tuple, e.g. ``(3, 0, 6)``
    """
    return next(module for since, module in _MOVED[name] if version >= since)


def unsupported_reason(version: Version | str) -> str | None:
    """One line saying why Airflow ``version`` is too old for this package, or ``None``.

    :param version: an Airflow version, e.g. ``2.8.4``
    """
    parsed = Version(version) if isinstance(version, str) else version
    if release_tuple(parsed) >= MIN_AIRFLOW_VERSION:
        return None
    return f"airflow-mwaa-extras supports Apache Airflow {MIN_AIRFLOW_TEXT} and newer; found {parsed}"


def require_airflow() -> Version:
    """Return the installed Airflow version, or explain clearly why it cannot be used."""
    if AIRFLOW_VERSION is None:
        raise AirflowNotInstalledError(
            "This part of airflow-mwaa-extras needs Apache Airflow. Install it under MWAA's "
            "constraints, e.g. pip install 'airflow-mwaa-extras[airflow]' -c constraints.txt"
        )
    reason = unsupported_reason(AIRFLOW_VERSION)
    if reason is not None:
        raise AirflowNotInstalledError(reason)
    return AIRFLOW_VERSION


def load_dagbag(folder: str | Path) -> Any:
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
    if name not in _MOVED:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    require_airflow()
    value = getattr(importlib.import_module(home_of(name, AIRFLOW_VERSION_TUPLE)), name)
    globals()[name] = value  # cache: the next access is a plain attribute lookup
    return value


if TYPE_CHECKING:  # what type checkers see; the real names come from __getattr__ above
    from airflow.exceptions import TaskDeferred as TaskDeferred
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
