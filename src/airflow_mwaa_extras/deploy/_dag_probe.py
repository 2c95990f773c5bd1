"""Parse a DAG folder with the Airflow of *this* interpreter and print JSON (run as a script).

``mwaa-extras doctor`` runs this file with the project's Python (``--python``), which may not
have airflow-mwaa-extras installed: so it imports nothing from the package. The caller sets
AIRFLOW_HOME, the dags and plugins folders and the project's configuration options.
Prints ``{"airflow_version", "import_errors": {file: message}, "dags": [...]}``.
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path
from typing import Any


def _dagbag_class() -> type:
    # A standalone script cannot use version_compat: the DagBag moved in Airflow 3.
    try:
        from airflow.dag_processing.dagbag import DagBag
    except ImportError:
        from airflow.models.dagbag import DagBag
    return DagBag  # type: ignore[no-any-return]


def _plugin_import_errors() -> dict[str, str]:
    """Plugins that failed to load (Airflow logs them and carries on; MWAA lists them)."""
    try:
        from airflow import plugins_manager

        plugins_manager.ensure_plugins_loaded()  # type: ignore[no-untyped-call,unused-ignore]
        # Airflow 3.2+ keeps them behind get_import_errors(); older versions in a module global.
        getter = getattr(plugins_manager, "get_import_errors", None)
        errors = getter() if getter else getattr(plugins_manager, "import_errors", {})
    except Exception as err:
        return {"plugins": f"{type(err).__name__}: {err}"}
    return {str(k): str(v) for k, v in errors.items()}


def probe(dags_folder: str) -> tuple[dict[str, object], Any]:
    """The report for ``dags_folder`` and the DagBag it came from (``_local_run`` tests its DAGs)."""
    import airflow

    # Safe mode and examples follow the configuration, as on MWAA (the caller turns examples off).
    bag = _dagbag_class()(dag_folder=dags_folder)
    root = Path(dags_folder).resolve()

    def rel(path: str) -> str:
        p = Path(path)
        if not p.is_absolute():
            return p.as_posix()
        try:
            return p.resolve().relative_to(root).as_posix()
        except ValueError:
            return str(p)

    dags = []
    for dag_id, dag in sorted(bag.dags.items()):
        default_args = getattr(dag, "default_args", None) or {}
        dags.append(
            {
                "dag_id": dag_id,
                "file": rel(dag.fileloc),
                "default_args_queue": default_args.get("queue"),
                "task_queues": {t.task_id: t.queue for t in dag.tasks},
            }
        )
    # Messages name files by absolute path; the report shows them relative to dags/.
    errors = {
        rel(str(path)): str(message).replace(f"{root}/", "") for path, message in bag.import_errors.items()
    }
    from airflow.configuration import conf

    payload_plugins = _plugin_import_errors()

    default_queue = conf.get("operators", "default_queue", fallback="default")
    payload: dict[str, object] = {"airflow_version": airflow.__version__, "default_queue": default_queue}
    payload["plugin_import_errors"] = payload_plugins
    return {**payload, "import_errors": errors, "dags": dags}, bag


def main(dags_folder: str) -> int:
    warnings.simplefilter("ignore")
    print(json.dumps(probe(dags_folder)[0]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
