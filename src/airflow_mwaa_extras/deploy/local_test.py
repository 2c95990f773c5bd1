"""``mwaa-extras local test``: a project run the way MWAA would run it, on this machine.

Steps, each failing with MWAA's reason: requirements.txt checked (a refusal stops here, with
the resolver's error, before anything is installed); MWAA's environment built or reused
(:mod:`local_env`); plugins unpacked, configuration options applied and the startup script
run (:mod:`local_project`); every DAG parsed with that environment's Airflow (import errors,
duplicate ids, plugins that fail to load); each named DAG run with ``airflow dags test``
against a throw-away SQLite metadata DB copied from a migrated template.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from airflow_mwaa_extras.deploy import (
    local_env,
    local_project,
    mwaa_data,
    plugins_zip,
    requirements,
    startup_script,
)
from airflow_mwaa_extras.deploy.doctor import CONFIG_FILE, _load_config, dag_findings, probe_dag_folder
from airflow_mwaa_extras.deploy.report import Finding, Report, Severity
from airflow_mwaa_extras.exceptions import UsageError
from airflow_mwaa_extras.testing.airflow_home import base_env

DAG_TEST_TIMEOUT = 600.0
# Static requirement findings MWAA does not refuse: it adds its own constraints file and goes on.
_NOT_FATAL = {"requirements.constraint-missing"}


@dataclass(frozen=True)
class LocalOptions:
    airflow_version: str
    dag_ids: Sequence[str] = ()
    python: str = sys.executable
    cache: Path | None = None
    startup_timeout: float = local_project.STARTUP_TIMEOUT
    install_timeout: float = local_env.USER_INSTALL_TIMEOUT


@dataclass
class Prepared:
    """A project made ready to run: its environment and the variables Airflow gets."""

    env: local_env.LocalEnv
    airflow_env: dict[str, str]
    plugins: Path | None
    workdir: Path
    extra: dict[str, str] = field(default_factory=dict)  # config options + startup exports


Log = Callable[[str], None]


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def check_requirements_fatal(text: str, version: str, report: Report) -> bool:
    """MWAA's static requirement rules; True when MWAA would refuse the file (resolver error added)."""
    findings = requirements.check_requirements(text, version)
    for finding in findings:
        if finding.check in _NOT_FATAL:
            message = f"{finding.message} (MWAA adds its image's constraints file and goes on)"
            finding = Finding(finding.check, Severity.WARNING, message, finding.path, finding.line)
        report.add([finding])
    if not any(f.severity is Severity.ERROR and f.check not in _NOT_FATAL for f in findings):
        return False
    report.add(requirements.resolve(text, version))  # the resolver's own words, in seconds
    return True


def prepare(
    project: Path, options: LocalOptions, report: Report, workdir: Path, log: Log = _stderr
) -> Prepared | None:
    """Every step up to a runnable Airflow; None (with findings in ``report``) when one fails."""
    if not project.is_dir():
        raise UsageError(f"project folder not found: {project}")
    version = options.airflow_version
    host_python = local_env.interpreter_version(options.python)
    mwaa_python = mwaa_data.python_version_for(version)
    if host_python != mwaa_python:
        report.notes.append(
            f"MWAA itself runs Airflow {version} on Python {mwaa_python}; this environment uses Python "
            f"{host_python} with MWAA's Python {mwaa_python} constraints (give --python for {mwaa_python})"
        )
    req_path = project / "requirements.txt"
    req_text = req_path.read_text(encoding="utf-8") if req_path.is_file() else None
    report.ran("requirements")
    if req_text is not None and check_requirements_fatal(req_text, version, report):
        return None

    report.ran("environment")
    log(f"local: MWAA {version} environment (base install + requirements.txt) ...")
    try:
        env = local_env.ensure_env(
            version,
            req_text,
            python=options.python,
            root=options.cache,
            install_timeout=options.install_timeout,
        )
    except local_env.LocalEnvError as err:
        report.add([Finding("local.install-failed", Severity.ERROR, str(err), "requirements.txt")])
        return None
    log(f"local: environment {'reused' if env.reused else f'built in {env.seconds:.0f} s'}: {env.folder}")
    report.add(Finding("local.no-wheel", Severity.WARNING, w, "requirements.txt") for w in env.warnings)

    plugins = local_project.unpack_plugins(project, workdir / "plugins")
    if plugins is not None:
        report.ran("plugins")
        layout = plugins_zip.check_plugins(plugins, label="plugins.zip", check_modes=False)
        report.add(f for f in layout if f.check == "plugins.wrapping-folder")

    report.ran("configuration")
    extra = local_project.config_env(_load_config(project / CONFIG_FILE, report) or {})
    home = workdir / "airflow-home"
    airflow_env = base_env(
        home, f"sqlite:///{home / 'airflow.db'}", (project / "dags").resolve(), plugins or home / "plugins"
    )
    airflow_env["PATH"] = f"{env.bin}:{_host_path()}"
    airflow_env["PYTHONDONTWRITEBYTECODE"] = "1"  # leave no __pycache__ in the user's dags/
    airflow_env.update(extra)

    startup = project / "startup.sh"
    if startup.is_file():
        report.ran("startup-script")
        lint = startup_script.lint_startup_script(startup.read_text(encoding="utf-8"))
        report.add(f for f in lint if f.check != "startup.reserved-variable")  # the run below reports those
        if not _startup(startup, airflow_env, extra, workdir, options, report):
            return None
    return Prepared(env, airflow_env, plugins, workdir, extra)


def _host_path() -> str:
    return os.environ.get("PATH", os.defpath)


def _startup(
    script: Path,
    airflow_env: dict[str, str],
    extra: dict[str, str],
    workdir: Path,
    options: LocalOptions,
    report: Report,
) -> bool:
    result = local_project.run_startup_script(script, airflow_env, workdir, timeout=options.startup_timeout)
    if result.timed_out:
        message = (
            f"did not finish in {options.startup_timeout:.0f} s: MWAA stops startup scripts after 5 minutes"
        )
        report.add([Finding("startup.timeout", Severity.ERROR, message, "startup.sh")])
        return False
    for name in result.reserved:
        message = f"sets {name}, which MWAA reserves: MWAA resets it, the value never reaches Airflow"
        report.add([Finding("startup.reserved-variable", Severity.ERROR, message, "startup.sh")])
    for command in result.skipped:
        report.notes.append(f"startup.sh: not run on this machine (MWAA's image is Amazon Linux): {command}")
    if result.returncode != 0:
        tail = result.output.splitlines()[-1:] or ["no output"]
        message = f"exited {result.returncode}: {tail[0]}"
        report.add([Finding("startup.failed", Severity.ERROR, message, "startup.sh")])
        return False
    airflow_env.update(result.exported)
    extra.update(result.exported)
    return not result.reserved


def parse_and_test(
    prepared: Prepared, project: Path, options: LocalOptions, report: Report, log: Log = _stderr
) -> None:
    dags = project / "dags"
    if not dags.is_dir():
        report.notes.append("no dags/ folder")
        if options.dag_ids:
            report.add([Finding("local.dag-not-found", Severity.ERROR, "no dags/ folder", "dags")])
        return
    report.ran("dags")
    log("local: parsing dags/ ...")
    result, failed = probe_dag_folder(
        dags, prepared.plugins, python=str(prepared.env.python), extra_env=prepared.extra
    )
    report.add(failed)
    if result is None:
        return
    report.add(dag_findings(result))
    for where, message in sorted(result.get("plugin_import_errors", {}).items()):
        last = [line for line in message.strip().splitlines() if line.strip()][-1:] or ["failed"]
        message = f"plugin failed to load: {last[0].strip()}"
        if "No module named" in message:
            message += " (neither MWAA's image nor requirements.txt installs it)"
        report.add([Finding("plugins.import-error", Severity.ERROR, message, _rel(where, prepared.plugins))])
    found = {dag["dag_id"] for dag in result.get("dags", [])}
    for dag_id in options.dag_ids:
        if dag_id not in found:
            report.add(
                [Finding("local.dag-not-found", Severity.ERROR, f"no DAG {dag_id!r} in dags/", "dags")]
            )
            continue
        report.ran("dags-test")
        log(f"local: airflow dags test {dag_id} ...")
        report.add(run_dag_test(prepared, dag_id))


def _rel(path: str, plugins: Path | None) -> str:
    if plugins is not None and path.startswith(f"{plugins}/"):
        return f"plugins/{path[len(str(plugins)) + 1 :]}"
    return path


def metadata_db(prepared: Prepared) -> Path:
    """The run's SQLite DB: a copy of a template migrated once per cached environment."""
    template = prepared.env.folder / "airflow.db"
    target = Path(prepared.airflow_env["AIRFLOW_HOME"]) / "airflow.db"
    target.parent.mkdir(parents=True, exist_ok=True)
    with local_env._locked(template.with_suffix(".lock")):
        if not template.is_file():
            proc = _airflow(prepared, "db", "migrate")
            if proc.returncode != 0:
                raise local_env.LocalEnvError(f"airflow db migrate failed: {_tail(proc)}")
            shutil.copyfile(target, template.with_suffix(".tmp"))
            template.with_suffix(".tmp").replace(template)
            return target
    shutil.copyfile(template, target)
    return target


def run_dag_test(prepared: Prepared, dag_id: str) -> list[Finding]:
    try:
        metadata_db(prepared)
        proc = _airflow(prepared, "dags", "test", dag_id)
    except local_env.LocalEnvError as err:
        return [Finding("local.metadata-db", Severity.ERROR, str(err))]
    except subprocess.TimeoutExpired:
        return [
            Finding(
                "dags.test-failed",
                Severity.ERROR,
                f"{dag_id}: dags test took more than {DAG_TEST_TIMEOUT:.0f} s",
            )
        ]
    if proc.returncode != 0:
        return [
            Finding("dags.test-failed", Severity.ERROR, f"{dag_id}: airflow dags test failed: {_tail(proc)}")
        ]
    return [Finding("dags.test-passed", Severity.INFO, f"{dag_id}: airflow dags test succeeded")]


def _airflow(prepared: Prepared, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(prepared.env.bin / "airflow"), *args],
        env=prepared.airflow_env,
        cwd=prepared.workdir,
        capture_output=True,
        text=True,
        timeout=DAG_TEST_TIMEOUT,
        check=False,
    )


def _tail(proc: subprocess.CompletedProcess[str]) -> str:
    lines = [line.strip() for line in (proc.stderr + proc.stdout).splitlines() if line.strip()]
    errors = [line for line in lines if "Error" in line or "error" in line]
    return (errors or lines or ["no output"])[-1][:500]


def run_local_test(project: Path, options: LocalOptions, log: Log = _stderr) -> Report:
    """Everything ``mwaa-extras local test`` does; the report fails on any error."""
    report = Report()
    with tempfile.TemporaryDirectory(prefix="mwaa-extras-local-") as tmp:
        prepared = prepare(project, options, report, Path(tmp), log)
        if prepared is not None and not report.has_errors:
            parse_and_test(prepared, project, options, report, log)
    return report
