"""Parse a DAG folder with the project's own Airflow, in a subprocess, and report what MWAA would.

The subprocess runs :mod:`~airflow_mwaa_extras.deploy._dag_probe` under a throw-away
``AIRFLOW_HOME`` so the caller's Airflow configuration does not leak in. Used by ``doctor``
and ``local test``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from airflow_mwaa_extras.deploy.report import CheckTable, Finding, Severity
from airflow_mwaa_extras.exceptions import UsageError
from airflow_mwaa_extras.processes import run_captured

__all__ = ["CHECKS", "PARSE_TIMEOUT", "check_dag_folder", "dag_findings", "probe_dag_folder"]

PARSE_TIMEOUT = 300.0

CHECKS = CheckTable(
    "dags",
    {
        "parse-timeout": (Severity.ERROR, "parsing took more than {timeout:.0f} s"),
        "parser-failed": (
            Severity.ERROR,
            "could not parse the DAGs with {python} (exit {code}): {tail}",
        ),
        "duplicate-dag-id": (Severity.ERROR, "duplicate DAG id: {dag_id}"),
        "import-error": (Severity.ERROR, "{error}"),
        "queue-default-arg": (
            Severity.ERROR,
            "DAG {dag_id!r} sets queue={queue!r} in default_args: MWAA's workers never pick "
            "its tasks up (they fail without logs)",
        ),
        "task-queue": (
            Severity.ERROR,
            "DAG {dag_id!r}: task(s) {tasks} set queue=; MWAA's workers never pick them up",
        ),
    },
)


def check_dag_folder(
    dags: Path, plugins: Path | None, *, python: str = sys.executable, timeout: float = PARSE_TIMEOUT
) -> list[Finding]:
    """Parse ``dags`` in a subprocess of ``python`` (the project's Airflow) and report what MWAA would.

    Reports import errors, DAG ids defined in more than one file, and ``queue`` set in
    ``default_args`` or on tasks (MWAA's Celery workers listen to one queue only).
    """
    result, failed = probe_dag_folder(dags, plugins, python=python, timeout=timeout)
    return failed if result is None else dag_findings(result)


def probe_dag_folder(
    dags: Path,
    plugins: Path | None,
    *,
    python: str = sys.executable,
    timeout: float = PARSE_TIMEOUT,
    extra_env: Mapping[str, str] | None = None,
) -> tuple[dict[str, Any] | None, list[Finding]]:
    """Run the probe; return its JSON, or None and the finding that says why there is none.

    :param extra_env: the project's configuration on top of the probe's (``local test``)
    """
    probe = Path(__file__).with_name("_dag_probe.py")
    with tempfile.TemporaryDirectory(prefix="mwaa-extras-doctor-") as home:
        # The project's settings only: drop the caller's Airflow configuration.
        env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
        env.update(
            {
                "AIRFLOW_HOME": home,
                "AIRFLOW__CORE__DAGS_FOLDER": str(dags.resolve()),
                "AIRFLOW__CORE__PLUGINS_FOLDER": str(plugins.resolve())
                if plugins
                else str(Path(home, "plugins")),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__LAZY_LOAD_PLUGINS": "False",
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
                "AIRFLOW__CORE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
                "AIRFLOW__LOGGING__LOGGING_LEVEL": "ERROR",
                "PYTHONDONTWRITEBYTECODE": "1",
            }
        )
        env.update(extra_env or {})
        try:
            proc = run_captured([python, str(probe), str(dags.resolve())], timeout=timeout, env=env, cwd=home)
        except subprocess.TimeoutExpired:
            return None, [CHECKS.finding("parse-timeout", "dags", timeout=timeout)]
        except OSError as err:
            raise UsageError(f"cannot run {python}: {err.strerror}") from err
    result = _probe_output(proc)
    if result is None:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        finding = CHECKS.finding("parser-failed", "dags", python=python, code=proc.returncode, tail=tail[0])
        return None, [finding]
    return result, []


def _probe_output(proc: subprocess.CompletedProcess[str]) -> dict[str, Any] | None:
    if proc.returncode != 0:
        return None
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith("{"):
            try:
                data = json.loads(line)
            except json.JSONDecodeError:
                return None
            return data if isinstance(data, dict) else None
    return None


def dag_findings(result: Mapping[str, Any]) -> list[Finding]:
    """The findings in the probe's JSON: import errors, duplicate DAG ids, queues MWAA ignores."""
    findings: list[Finding] = []
    for file, message in sorted(result.get("import_errors", {}).items()):
        lines = [line for line in str(message).strip().splitlines() if line.strip()]
        last = lines[-1].strip() if lines else "import failed"
        if "DuplicatedIdException" in str(message):
            dag_id = last.split(":", 1)[-1].strip()
            findings.append(CHECKS.finding("duplicate-dag-id", f"dags/{file}", dag_id=dag_id))
        else:
            findings.append(CHECKS.finding("import-error", f"dags/{file}", error=last))
    default_queue = result.get("default_queue") or "default"
    for dag in result.get("dags", []):
        where = f"dags/{dag['file']}"
        queue = dag.get("default_args_queue")
        if queue:
            findings.append(CHECKS.finding("queue-default-arg", where, dag_id=dag["dag_id"], queue=queue))
        odd = sorted(
            task for task, q in dag.get("task_queues", {}).items() if q not in (default_queue, queue, None)
        )
        if odd:
            tasks = ", ".join(odd[:5])
            findings.append(CHECKS.finding("task-queue", where, dag_id=dag["dag_id"], tasks=tasks))
    return findings
