"""Make the metadata DB, parse the DAG folder and run the named DAGs, in ONE process of the
environment's Python (run as a script by ``mwaa-extras local test`` and ``local up``).

One Airflow start for every step: ``airflow db migrate``, ``airflow dags test`` and the parse
would each start Airflow again (several seconds each on Airflow 3). The environment has no
airflow-mwaa-extras installed, so this imports nothing from the package (``_dag_probe`` is
loaded by path). The caller sets AIRFLOW_HOME, the dags and plugins folders, the SQLite
metadata DB URL and the project's configuration and startup-script variables.

``_local_run.py JOB.json``; JOB has ``db`` (the run's SQLite file), ``template`` (the migrated
copy kept per environment), ``results`` (a file that gets one JSON line per step: ``{"parse":
...}`` as ``_dag_probe`` reports it, then ``{"dag_id", "state", "error"}`` per DAG), ``logs`` (a
folder; each DAG's output goes to ``<dag_id>.log``), ``dags`` (None: the DB only), ``dag_ids``.
"""

from __future__ import annotations

import copy
import fcntl
import importlib.util
import inspect
import json
import os
import shutil
import sqlite3
import sys
import traceback
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

HERE = Path(__file__).resolve().parent
if sys.path and Path(sys.path[0] or ".").resolve() == HERE:
    del sys.path[0]  # a DAG's `import report` must not find this package's deploy/report.py


def _probe_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("_mwaa_extras_dag_probe", HERE / "_dag_probe.py")
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {HERE / '_dag_probe.py'}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@contextmanager
def exclusive_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` (one builder or migration; the others wait).

    ``local_env`` imports it from here: this script must run where the package is not installed.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def metadata_db(db: Path, template: Path) -> None:
    """Copy the environment's migrated template to ``db``; migrate (and keep the template) once.

    The copy happens before Airflow is imported: its engine must never see the file change."""
    db.parent.mkdir(parents=True, exist_ok=True)
    with exclusive_lock(template.with_suffix(".lock")):  # one migration; the others copy
        if template.is_file():
            shutil.copyfile(template, db)
            return
        db.unlink(missing_ok=True)
        _providers_configuration()
        from airflow.utils import db as airflow_db

        kwargs: dict[str, Any] = {}
        if "reserialize_dags" in inspect.signature(airflow_db.upgradedb).parameters:
            kwargs["reserialize_dags"] = False  # Airflow 2: the template holds no project's DAGs
        airflow_db.upgradedb(**kwargs)  # what `airflow db migrate` runs
        tmp = template.with_suffix(".tmp")
        tmp.unlink(missing_ok=True)
        # SQLite's backup, not a file copy: Airflow 3 keeps the DB in WAL mode (the tables may
        # still be in airflow.db-wal).
        with closing(sqlite3.connect(db)) as source, closing(sqlite3.connect(tmp)) as copy:
            source.backup(copy)
        tmp.replace(template)


def _providers_configuration() -> None:
    # What the CLI does before each command: providers' configuration defaults become readable.
    from airflow.providers_manager import ProvidersManager

    ProvidersManager().initialize_providers_configuration()  # type: ignore[no-untyped-call,unused-ignore]


@contextmanager
def _output_to(path: Path) -> Iterator[None]:
    """fds 1 and 2 (Airflow's log handlers, threads, subprocesses) into ``path``."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(path, "ab") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
    try:
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        for fd, copy in zip((1, 2), saved, strict=True):
            os.dup2(copy, fd)
            os.close(copy)


def newest_execution_api_only() -> None:
    """Airflow 3: build the in-process Task Execution API of ``dag.test()`` for the newest API
    version only.

    ``dag.test()`` talks to an in-process copy of the Execution API through this Airflow's own
    client, which speaks the newest version; cadwyn builds the routes of every older version
    too, which is most of a DAG test's time (about 5 of 7 CPU seconds on Airflow 3.3.1). Routes
    that exist only in older versions are left out, as cadwyn leaves them out of the newest.
    Anything unexpected (another cadwyn or Airflow layout) keeps Airflow's own behaviour.
    """
    try:
        import cadwyn.applications as cadwyn_app
        from airflow.sdk.api.datamodels._generated import API_VERSION
        from cadwyn import HeadVersion, Version, VersionBundle
        from cadwyn.route_generation import _DELETED_ROUTE_TAG
    except ImportError:
        return  # Airflow 2: no Execution API
    every_version = cadwyn_app.generate_versioned_routers

    def newest_only(router: Any, versions: Any, **kwargs: Any) -> Any:
        try:
            newest = versions.versions[0]
            if newest.value != API_VERSION or list(versions.head_version.changes):
                raise LookupError("not the client's version")
            slim = copy.copy(router)
            slim.routes = [r for r in router.routes if _DELETED_ROUTE_TAG not in getattr(r, "tags", ())]
            bundle = VersionBundle(
                HeadVersion(), Version(newest.value), api_version_var=versions.api_version_var
            )
            return every_version(slim, bundle, **kwargs)
        except Exception:
            return every_version(router, versions, **kwargs)

    cadwyn_app.generate_versioned_routers = newest_only


def dag_test(dag: Any, log: Path) -> dict[str, str]:
    """What ``airflow dags test DAG_ID`` does once the CLI has started: ``dag.test()``."""
    with _output_to(log):
        try:
            run = dag.test()
        except BaseException as err:  # a task's SystemExit too: report it, go on with the next DAG
            traceback.print_exc()
            return {"state": "error", "error": f"{type(err).__name__}: {err}"}
    state = getattr(run, "state", None)
    return {"state": str(getattr(state, "value", state))}


def _synchronize_log_template() -> None:
    # `airflow dags test` runs this before the DAG (cli_utils.action_cli); the run's rows need it.
    from airflow.utils.db import synchronize_log_template

    synchronize_log_template()


def main(job_file: str) -> int:
    job = json.loads(Path(job_file).read_text(encoding="utf-8"))
    metadata_db(Path(job["db"]), Path(job["template"]))
    results = Path(job["results"])
    with results.open("a", encoding="utf-8") as out:
        out.write(json.dumps({"db": "ready"}) + "\n")
    if job.get("dags") is None:
        return 0
    with _output_to(Path(job["logs"], "parse.log")):
        _providers_configuration()
        payload, bag = _probe_module().probe(job["dags"])
    with results.open("a", encoding="utf-8") as out:
        out.write(json.dumps({"parse": payload}) + "\n")
    if not job["dag_ids"]:
        return 0
    _synchronize_log_template()
    newest_execution_api_only()
    for dag_id in job["dag_ids"]:
        if dag_id not in bag.dags:
            continue  # the caller reports it from the parse
        outcome = dag_test(bag.dags[dag_id], Path(job["logs"], f"{dag_id}.log"))
        with results.open("a", encoding="utf-8") as out:
            out.write(json.dumps({"dag_id": dag_id, **outcome}) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
