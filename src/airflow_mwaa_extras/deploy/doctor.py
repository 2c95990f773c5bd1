"""``mwaa-extras doctor``: every deployment check over a local MWAA project folder.

The folder mirrors the environment's S3 bucket plus its configuration::

    dags/                                  the DAG folder (parsed with the project's Airflow)
    plugins/ or plugins.zip                plugins (a folder is checked as the zip the builder makes)
    requirements.txt                       checked against MWAA's constraints
    startup.sh                             checked for reserved variables and risky commands
    airflow_configuration_options.json     {"core.lazy_load_plugins": "False", ...} as given to MWAA

Missing parts are skipped (and named in the report); a finding of severity error fails the run.
This module runs the checks and holds the configuration-options check; the DAG parse is in
:mod:`~airflow_mwaa_extras.deploy.dag_folder` and the plugins' Python in
:mod:`~airflow_mwaa_extras.deploy.plugin_sources`.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from airflow_mwaa_extras.deploy import (
    mwaa_data,
    offline,
    plugins_zip,
    requirements,
    requirements_file,
    startup_script,
)
from airflow_mwaa_extras.deploy.dag_folder import PARSE_TIMEOUT, check_dag_folder
from airflow_mwaa_extras.deploy.plugin_sources import check_plugin_environ, has_python, plugins_folder
from airflow_mwaa_extras.deploy.report import CheckTable, Finding, Report, Severity
from airflow_mwaa_extras.exceptions import UsageError
from airflow_mwaa_extras.reserved_env_vars import RESERVED_ENV_VARS

__all__ = ["CHECKS", "CONFIG_FILE", "DoctorOptions", "run_doctor"]

CONFIG_FILE = "airflow_configuration_options.json"
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

CHECKS = CheckTable(
    "config",
    {
        "invalid-json": (Severity.ERROR, "{problem}"),
        "lazy-load-plugins": (
            Severity.ERROR,
            "core.lazy_load_plugins {where}: plugins that act on import (environment variables, "
            'timezone, patches) do not run; set "core.lazy_load_plugins": "False"',
        ),
        "invalid-key": (Severity.ERROR, "{key!r} is not section.option"),
        "reserved-option": (
            Severity.ERROR,
            "{key} ({env}) is reserved by MWAA and cannot be set",
        ),
    },
)
_PLUGINS = CheckTable(
    "plugins",
    {
        "ambiguous": (
            Severity.WARNING,
            "both plugins/ and plugins.zip exist; checking plugins.zip (build it from plugins/ first)",
        ),
        "unreadable": (Severity.ERROR, "{error}"),
    },
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
        report.add([_PLUGINS.finding("ambiguous")])
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
            report.add([_PLUGINS.finding("unreadable", plugin_target.name, error=err)])
        report.add(check_plugin_environ(plugin_target))

    startup = project / "startup.sh"
    if startup.is_file():
        report.ran("startup-script")
        report.add(startup_script.lint_startup_script(_read_text(startup)))

    report.ran("configuration")
    config = load_configuration_options(project / CONFIG_FILE, report)
    report.add(_check_config(config, has_plugins=has_python(plugin_target)))

    dags = project / "dags"
    if dags.is_dir() and options.parse_dags:
        report.ran("dags")
        with plugins_folder(plugin_target) as folder:
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
        report.add([CHECKS.finding("invalid-json", CONFIG_FILE, problem=f"not valid JSON: {err.msg}")])
        return None
    if not isinstance(data, dict):
        report.add([CHECKS.finding("invalid-json", CONFIG_FILE, problem="must be a JSON object")])
        return None
    return {str(k): str(v) for k, v in data.items()}


def _check_config(config: Mapping[str, str] | None, *, has_plugins: bool) -> list[Finding]:
    findings: list[Finding] = []
    options = {k.lower(): v for k, v in (config or {}).items()}
    lazy = options.get("core.lazy_load_plugins")
    if has_plugins and (lazy is None or lazy.strip().lower() not in _FALSE):
        where = "is not set (default True)" if lazy is None else f"is {lazy!r}"
        findings.append(CHECKS.finding("lazy-load-plugins", CONFIG_FILE, where=where))
    for key in sorted(options):
        if key.count(".") != 1:
            findings.append(CHECKS.finding("invalid-key", CONFIG_FILE, key=key))
            continue
        section, option = key.split(".")
        env = f"AIRFLOW__{section.upper()}__{option.upper()}"
        if env in RESERVED_ENV_VARS and env not in _SETTABLE_AS_OPTION:
            findings.append(CHECKS.finding("reserved-option", CONFIG_FILE, key=key, env=env))
    return findings
