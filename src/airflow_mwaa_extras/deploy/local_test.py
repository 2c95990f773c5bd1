"""``mwaa-extras local test``: a project run the way MWAA would run it, on this machine.

Steps, each failing with MWAA's reason: requirements.txt checked (a refusal stops here, with
the resolver's error, before anything is installed); MWAA's environment built or reused
(:mod:`local_env`); plugins unpacked, configuration options applied and the startup script
run (:mod:`local_project`); every DAG parsed with that environment's Airflow (import errors,
duplicate ids, plugins that fail to load); each named DAG run as ``airflow dags test`` runs it
(``dag.test()``) against a throw-away SQLite metadata DB copied from a migrated template. The
DB, the parse and the DAG runs share one process of the environment's Python
(:mod:`_local_run`): starting Airflow costs seconds, on Airflow 3 more than the run itself.

About 360 lines: the steps above in their order, each with MWAA's reason for failing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from airflow_mwaa_extras.deploy import (
    local_env,
    local_project,
    mwaa_data,
    plugins_zip,
    requirements,
    startup_script,
)
from airflow_mwaa_extras.deploy.airflow_home_config import airflow_home_env
from airflow_mwaa_extras.deploy.dag_folder import PARSE_TIMEOUT, dag_findings
from airflow_mwaa_extras.deploy.doctor import CONFIG_FILE, load_configuration_options
from airflow_mwaa_extras.deploy.report import Finding, Report, Severity
from airflow_mwaa_extras.exceptions import UsageError
from airflow_mwaa_extras.processes import run_captured

DAG_TEST_TIMEOUT = 600.0
MIGRATE_TIMEOUT = 900.0
BYTECODE = "pycache"  # PYTHONPYCACHEPREFIX, under the environment's cache folder
_RUNNER = Path(__file__).with_name("_local_run.py")
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
    extra = local_project.config_env(load_configuration_options(project / CONFIG_FILE, report) or {})
    home = workdir / "airflow-home"
    airflow_env = airflow_home_env(
        home, f"sqlite:///{home / 'airflow.db'}", (project / "dags").resolve(), plugins or home / "plugins"
    )
    airflow_env["PATH"] = f"{env.bin}:{_host_path()}"
    # Bytecode kept with the environment, not in the user's dags/: Airflow is compiled once, not
    # on every run (the environment is installed without .pyc files).
    airflow_env["PYTHONPYCACHEPREFIX"] = str(env.folder / BYTECODE)
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
    log("local: metadata DB, parsing dags/" + (", dag.test() per DAG_ID" if options.dag_ids else "") + " ...")
    outcome = run_in_environment(prepared, dags.resolve(), options.dag_ids)
    report.add(outcome.failed)
    result = outcome.parse
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
            message = f"no DAG {dag_id!r} in dags/"
            report.add([Finding("local.dag-not-found", Severity.ERROR, message, "dags")])
            continue
        report.ran("dags-test")
        report.add([_dag_test_finding(dag_id, outcome, prepared.workdir)])


def _rel(path: str, plugins: Path | None) -> str:
    if plugins is not None and path.startswith(f"{plugins}/"):
        return f"plugins/{path[len(str(plugins)) + 1 :]}"
    return path


@dataclass
class Outcome:
    """What ``_local_run.py`` reported: the parse (None when it never got that far), each tested
    DAG's final state, and findings for a run that failed or timed out."""

    parse: dict[str, Any] | None = None
    states: dict[str, dict[str, str]] = field(default_factory=dict)
    failed: list[Finding] = field(default_factory=list)
    db_ready: bool = False
    timed_out: bool = False


def run_in_environment(prepared: Prepared, dags: Path | None, dag_ids: Sequence[str] = ()) -> Outcome:
    """Metadata DB, parse and ``dag.test()`` of each DAG in one process of the environment's
    Python (one Airflow start instead of one CLI start per step); ``dags`` None: the DB only."""
    run = prepared.workdir / "run"
    shutil.rmtree(run, ignore_errors=True)
    (run / "logs").mkdir(parents=True)
    home = Path(prepared.airflow_env["AIRFLOW_HOME"])
    job: dict[str, Any] = {
        "db": str(home / "airflow.db"),
        "template": str(prepared.env.folder / "airflow.db"),
        "results": str(run / "results.jsonl"),
        "logs": str(run / "logs"),
        "dags": str(dags) if dags else None,
        "dag_ids": list(dag_ids),
    }
    (run / "job.json").write_text(json.dumps(job), encoding="utf-8")
    timeout = MIGRATE_TIMEOUT + PARSE_TIMEOUT + DAG_TEST_TIMEOUT * len(dag_ids)
    outcome = Outcome()
    try:
        proc = run_captured(
            [str(prepared.env.python), str(_RUNNER), str(run / "job.json")],
            timeout=timeout,
            env=prepared.airflow_env,
            cwd=prepared.workdir,
        )
        output = proc.stderr + proc.stdout
    except subprocess.TimeoutExpired:
        outcome.timed_out, output = True, ""
    _read_results(Path(job["results"]), outcome)
    if not outcome.db_ready:
        message = "timed out" if outcome.timed_out else _tail(output)
        outcome.failed.append(
            Finding("local.metadata-db", Severity.ERROR, f"airflow db migrate failed: {message}")
        )
    elif dags is not None and outcome.parse is None:
        if outcome.timed_out:
            message = f"parsing took more than {PARSE_TIMEOUT:.0f} s"
            outcome.failed.append(Finding("dags.parse-timeout", Severity.ERROR, message, "dags"))
        else:
            tail = _tail(output + _read(run / "logs" / "parse.log"))
            message = f"could not parse the DAGs with {prepared.env.python}: {tail}"
            outcome.failed.append(Finding("dags.parser-failed", Severity.ERROR, message, "dags"))
    return outcome


def _read_results(path: Path, outcome: Outcome) -> None:
    for line in _read(path).splitlines():
        try:
            item = json.loads(line)
        except json.JSONDecodeError:
            continue
        if "db" in item:
            outcome.db_ready = True
        elif "parse" in item:
            outcome.parse = item["parse"]
        elif "dag_id" in item:
            outcome.states[item["dag_id"]] = item


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _dag_test_finding(dag_id: str, outcome: Outcome, workdir: Path) -> Finding:
    state = outcome.states.get(dag_id)
    log = _read(workdir / "run" / "logs" / f"{dag_id}.log")
    if state is None:  # the process ended (or was stopped) during or before this DAG's run
        reason = (
            f"took more than {DAG_TEST_TIMEOUT:.0f} s"
            if outcome.timed_out
            else f"did not finish: {_tail(log)}"
        )
        return Finding("dags.test-failed", Severity.ERROR, f"{dag_id}: dags test {reason}")
    if state["state"] == "success":
        return Finding("dags.test-passed", Severity.INFO, f"{dag_id}: airflow dags test succeeded")
    error = state.get("error", "").strip().splitlines()[:1]  # an exception's first line, not its SQL
    detail = error[0][:500] if error else _tail(log)
    message = f"{dag_id}: airflow dags test failed (DAG run {state['state']}): {detail}"
    return Finding("dags.test-failed", Severity.ERROR, message)


def metadata_db(prepared: Prepared) -> Path:
    """The run's SQLite DB: a copy of a template migrated once per cached environment."""
    target = Path(prepared.airflow_env["AIRFLOW_HOME"]) / "airflow.db"
    if not target.is_file():
        outcome = run_in_environment(prepared, None)
        if outcome.failed:
            raise local_env.LocalEnvError(outcome.failed[0].message)
    return target


def _tail(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    errors = [line for line in lines if "Error" in line or "error" in line]
    return (errors or lines or ["no output"])[-1][:500]


def run_local_test(project: Path, options: LocalOptions, log: Log = _stderr) -> Report:
    """Everything ``mwaa-extras local test`` does; the report fails on any error."""
    report = Report()
    with tempfile.TemporaryDirectory(prefix="mwaa-extras-local-") as tmp:
        prepared = prepare(project, options, report, Path(tmp), log)
        if prepared is not None:
            try:
                if not report.has_errors:
                    parse_and_test(prepared, project, options, report, log)
            finally:
                forget_run_bytecode(prepared)
    return report


def forget_run_bytecode(prepared: Prepared) -> None:
    """Drop the bytecode of this run's own files (plugins unpacked into its temporary folder);
    the environment's stays for the next run."""
    for folder in {prepared.workdir, prepared.workdir.resolve()}:
        shutil.rmtree(prepared.env.folder / BYTECODE / str(folder).lstrip("/"), ignore_errors=True)
