"""``mwaa-extras doctor``: every deployment check over a local MWAA project folder.

The folder mirrors the environment's S3 bucket plus its configuration::

    dags/                                  the DAG folder (parsed with the project's Airflow)
    plugins/ or plugins.zip                plugins (a folder is checked as the zip the builder makes)
    requirements.txt                       checked against MWAA's constraints
    startup.sh                             checked for reserved variables and risky commands
    airflow_configuration_options.json     {"core.lazy_load_plugins": "False", ...} as given to MWAA

Missing parts are skipped (and named in the report); a finding of severity error fails the run.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from airflow_mwaa_extras.deploy import (
    mwaa_data,
    offline,
    plugins_zip,
    requirements,
    requirements_file,
    startup_script,
)
from airflow_mwaa_extras.deploy.report import Finding, Report, Severity
from airflow_mwaa_extras.exceptions import UsageError
from airflow_mwaa_extras.reserved_env_vars import RESERVED_ENV_VARS

__all__ = [
    "CONFIG_FILE",
    "PARSE_TIMEOUT",
    "DoctorOptions",
    "check_dag_folder",
    "dag_findings",
    "probe_dag_folder",
    "run_doctor",
]

CONFIG_FILE = "airflow_configuration_options.json"
PARSE_TIMEOUT = 300.0
_FALSE = frozenset({"false", "0", "no", "off"})
# Reserved for startup scripts, but MWAA accepts them as configuration options (notes §1.E.23/25).
_SETTABLE_AS_OPTION = frozenset(
    {
        "AIRFLOW__CELERY__WORKER_AUTOSCALE",
        "AIRFLOW__CORE__PARALLELISM",
        "AIRFLOW__CORE__DAG_CONCURRENCY",
        "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG",
        "AIRFLOW__SCHEDULER__PARSING_PROCESSES",
    }
)


@dataclass(frozen=True)
class DoctorOptions:
    """How to run the doctor.

    :param airflow_version: the environment's Airflow version (one of the shipped lists)
    :param python: interpreter with the project's Airflow, used to parse the DAGs
    :param resolve: also run the resolver dry run on requirements.txt
    :param parse_dags: parse the DAG folder (needs Airflow in ``python``)
    :param timeout: seconds for the DAG parse and the resolver each
    """

    airflow_version: str
    python: str = sys.executable
    resolve: bool = False
    parse_dags: bool = True
    timeout: float = PARSE_TIMEOUT


def run_doctor(project: Path, options: DoctorOptions) -> Report:
    """Run every check that applies to ``project`` and return the report."""
    if not project.is_dir():
        raise UsageError(f"project folder not found: {project}")
    report = Report()
    version = options.airflow_version
    req_path = project / "requirements.txt"
    req_text = _read_text(req_path) if req_path.is_file() else None
    plugins_dir, plugins_file = project / "plugins", project / "plugins.zip"

    if req_text is not None:
        report.ran("requirements")
        report.add(requirements.check_requirements(req_text, version))
        if options.resolve:
            report.ran("requirements-resolve")
            report.add(requirements.resolve(req_text, version, timeout=options.timeout))
    else:
        report.notes.append("no requirements.txt: MWAA installs only its own packages")

    plugin_target = plugins_file if plugins_file.is_file() else plugins_dir if plugins_dir.is_dir() else None
    if plugins_file.is_file() and plugins_dir.is_dir():
        report.add(
            [
                Finding(
                    "plugins.ambiguous",
                    Severity.WARNING,
                    "both plugins/ and plugins.zip exist; checking plugins.zip (build it from plugins/ first)",
                )
            ]
        )
    if req_text is not None and offline.has_no_index(req_text):
        report.ran("requirements-offline")
        # The plugins check below already reports a zip above the size advice.
        report.add(offline.check_offline(req_text, version, plugin_target, check_size=False))
    if plugin_target is not None:
        report.ran("plugins")
        provided = set(mwaa_data.airflow_constraints(version)) | set(mwaa_data.essential_pins(version))
        provided |= requirements_file.requirement_names(req_text or "")
        try:
            report.add(
                plugins_zip.check_plugins(
                    plugin_target,
                    provided=provided,
                    label=plugin_target.name,
                    check_modes=plugin_target.is_file(),
                )
            )
        except UsageError as err:  # e.g. not a zip: one finding, the other checks still run
            report.add([Finding("plugins.unreadable", Severity.ERROR, str(err), plugin_target.name)])
        report.add(_check_plugin_environ(plugin_target))

    startup = project / "startup.sh"
    if startup.is_file():
        report.ran("startup-script")
        report.add(startup_script.lint_startup_script(_read_text(startup)))

    report.ran("configuration")
    config = load_configuration_options(project / CONFIG_FILE, report)
    report.add(_check_config(config, has_plugins=_has_python(plugin_target)))

    dags = project / "dags"
    if dags.is_dir() and options.parse_dags:
        report.ran("dags")
        with _plugins_folder(plugin_target) as folder:
            report.add(check_dag_folder(dags, folder, python=options.python, timeout=options.timeout))
    elif not dags.is_dir():
        report.notes.append("no dags/ folder")
    return report


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError) as err:
        raise UsageError(f"cannot read {path.name} as UTF-8 text: {err}") from err


# -- configuration options ---------------------------------------------------------------------


def load_configuration_options(path: Path, report: Report) -> dict[str, str] | None:
    """The project's airflow_configuration_options.json as strings; None (a note or a finding in
    ``report``) when it is missing or not a JSON object."""
    if not path.is_file():
        report.notes.append(f"no {CONFIG_FILE}: MWAA's defaults apply")
        return None
    try:
        data = json.loads(_read_text(path))
    except json.JSONDecodeError as err:
        report.add(
            [Finding("config.invalid-json", Severity.ERROR, f"not valid JSON: {err.msg}", CONFIG_FILE)]
        )
        return None
    if not isinstance(data, dict):
        report.add([Finding("config.invalid-json", Severity.ERROR, "must be a JSON object", CONFIG_FILE)])
        return None
    return {str(k): str(v) for k, v in data.items()}


def _check_config(config: Mapping[str, str] | None, *, has_plugins: bool) -> list[Finding]:
    findings: list[Finding] = []
    options = {k.lower(): v for k, v in (config or {}).items()}
    lazy = options.get("core.lazy_load_plugins")
    if has_plugins and (lazy is None or lazy.strip().lower() not in _FALSE):
        where = "is not set (default True)" if lazy is None else f"is {lazy!r}"
        findings.append(
            Finding(
                "config.lazy-load-plugins",
                Severity.ERROR,
                f"core.lazy_load_plugins {where}: plugins that act on import (environment variables, "
                'timezone, patches) do not run; set "core.lazy_load_plugins": "False"',
                CONFIG_FILE,
            )
        )
    for key in sorted(options):
        if key.count(".") != 1:
            findings.append(
                Finding("config.invalid-key", Severity.ERROR, f"{key!r} is not section.option", CONFIG_FILE)
            )
            continue
        section, option = key.split(".")
        env = f"AIRFLOW__{section.upper()}__{option.upper()}"
        if env in RESERVED_ENV_VARS and env not in _SETTABLE_AS_OPTION:
            findings.append(
                Finding(
                    "config.reserved-option",
                    Severity.ERROR,
                    f"{key} ({env}) is reserved by MWAA and cannot be set",
                    CONFIG_FILE,
                )
            )
    return findings


# -- plugins -----------------------------------------------------------------------------------


def _has_python(target: Path | None) -> bool:
    if target is None:
        return False
    if target.is_dir():
        return any(target.rglob("*.py"))
    try:
        with zipfile.ZipFile(target) as zf:
            return any(n.endswith(".py") for n in zf.namelist())
    except (zipfile.BadZipFile, OSError):
        return False


def _python_sources(target: Path) -> Iterator[tuple[str, bytes]]:
    if target.is_dir():
        for path in sorted(target.rglob("*.py")):
            if "__pycache__" not in path.parts:
                yield path.relative_to(target).as_posix(), path.read_bytes()
        return
    try:
        with zipfile.ZipFile(target) as zf:
            for name in sorted(zf.namelist()):
                if name.endswith(".py"):
                    yield name, zf.read(name)
    except (zipfile.BadZipFile, OSError):
        return  # reported by check_plugins


def _environ_keys(tree: ast.AST) -> Iterator[tuple[str, int]]:
    """String keys written through os.environ[...] = , .setdefault/.update, or os.putenv."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Subscript) and _is_environ(target.value):
                    key = target.slice
                    if isinstance(key, ast.Constant) and isinstance(key.value, str):
                        yield key.value, node.lineno
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            func = node.func
            if func.attr in ("setdefault", "putenv") and node.args:
                if (func.attr == "setdefault" and _is_environ(func.value)) or (
                    func.attr == "putenv" and isinstance(func.value, ast.Name) and func.value.id == "os"
                ):
                    first = node.args[0]
                    if isinstance(first, ast.Constant) and isinstance(first.value, str):
                        yield first.value, node.lineno
            elif func.attr == "update" and _is_environ(func.value):
                for arg in node.args:
                    if isinstance(arg, ast.Dict):
                        for dict_key in arg.keys:
                            if isinstance(dict_key, ast.Constant) and isinstance(dict_key.value, str):
                                yield dict_key.value, node.lineno
                for kw in node.keywords:
                    if kw.arg:
                        yield kw.arg, node.lineno


def _is_environ(node: ast.expr) -> bool:
    return (isinstance(node, ast.Attribute) and node.attr == "environ") or (
        isinstance(node, ast.Name) and node.id == "environ"
    )


def _check_plugin_environ(target: Path) -> list[Finding]:
    findings: list[Finding] = []
    for name, source in _python_sources(target):
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue  # reported by check_plugins
        for key, lineno in _environ_keys(tree):
            if key in RESERVED_ENV_VARS:
                findings.append(
                    Finding(
                        "plugins.reserved-variable",
                        Severity.ERROR,
                        f"sets {key}, which MWAA reserves: components end up with different values",
                        f"{target.name}:{name}",
                        lineno,
                    )
                )
    return findings


@contextmanager
def _plugins_folder(target: Path | None) -> Iterator[Path | None]:
    """The plugins as a folder (a zip is unpacked into a temporary one) for the DAG parse."""
    if target is None or target.is_dir():
        yield target
        return
    with tempfile.TemporaryDirectory(prefix="mwaa-extras-plugins-") as tmp:
        try:
            with zipfile.ZipFile(target) as zf:
                for name in zf.namelist():
                    parts = PurePosixPath(name).parts
                    if name.startswith("/") or ".." in parts:
                        raise UsageError(f"{target.name} has an unsafe entry name: {name!r}")
                zf.extractall(tmp)
        except (zipfile.BadZipFile, OSError):
            yield None
            return
        yield Path(tmp)


# -- DAGs --------------------------------------------------------------------------------------


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
            proc = subprocess.run(
                [python, str(probe), str(dags.resolve())],
                capture_output=True,
                text=True,
                timeout=timeout,
                env=env,
                cwd=home,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return None, [
                Finding(
                    "dags.parse-timeout", Severity.ERROR, f"parsing took more than {timeout:.0f} s", "dags"
                )
            ]
        except OSError as err:
            raise UsageError(f"cannot run {python}: {err.strerror}") from err
    result = _probe_output(proc)
    if result is None:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        return None, [
            Finding(
                "dags.parser-failed",
                Severity.ERROR,
                f"could not parse the DAGs with {python} (exit {proc.returncode}): {tail[0]}",
                "dags",
            )
        ]
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
    findings: list[Finding] = []
    for file, message in sorted(result.get("import_errors", {}).items()):
        lines = [line for line in str(message).strip().splitlines() if line.strip()]
        last = lines[-1].strip() if lines else "import failed"
        if "DuplicatedIdException" in str(message):
            findings.append(
                Finding(
                    "dags.duplicate-dag-id",
                    Severity.ERROR,
                    f"duplicate DAG id: {last.split(':', 1)[-1].strip()}",
                    f"dags/{file}",
                )
            )
        else:
            findings.append(Finding("dags.import-error", Severity.ERROR, last, f"dags/{file}"))
    default_queue = result.get("default_queue") or "default"
    for dag in result.get("dags", []):
        where = f"dags/{dag['file']}"
        queue = dag.get("default_args_queue")
        if queue:
            findings.append(
                Finding(
                    "dags.queue-default-arg",
                    Severity.ERROR,
                    f"DAG {dag['dag_id']!r} sets queue={queue!r} in default_args: MWAA's workers never pick "
                    "its tasks up (they fail without logs)",
                    where,
                )
            )
        odd = sorted(
            task for task, q in dag.get("task_queues", {}).items() if q not in (default_queue, queue, None)
        )
        if odd:
            findings.append(
                Finding(
                    "dags.task-queue",
                    Severity.ERROR,
                    f"DAG {dag['dag_id']!r}: task(s) {', '.join(odd[:5])} set queue=; MWAA's workers never "
                    "pick them up",
                    where,
                )
            )
    return findings
