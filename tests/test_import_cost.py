"""The light modules must stay light: checked in a fresh interpreter through ``sys.modules``."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys

import pytest

import airflow_mwaa_extras.cli
import airflow_mwaa_extras.mwaa
import airflow_mwaa_extras.plugins

HEAVY = ("boto3", "botocore", "requests", "psutil")

PROBE = r"""
import importlib, json, sys
baseline_imports, targets = json.loads(sys.argv[1])
for name in baseline_imports:
    importlib.import_module(name)
before = set(sys.modules)
for name in targets:
    importlib.import_module(name)
if "airflow_mwaa_extras.cli" in targets:
    importlib.import_module("airflow_mwaa_extras.cli").build_parser()  # loads every subcommand module
added = sorted({m.split(".")[0] for m in set(sys.modules) - before})
print(json.dumps(added))
"""


def _added_top_level_modules(targets: list[str], baseline: list[str] | None = None) -> list[str]:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps([baseline or [], targets])],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _plugin_modules() -> list[str]:
    return [
        f"{airflow_mwaa_extras.plugins.__name__}.{info.name}"
        for info in pkgutil.iter_modules(airflow_mwaa_extras.plugins.__path__)
    ]


def _mwaa_modules() -> list[str]:
    return [
        f"{airflow_mwaa_extras.mwaa.__name__}.{info.name}"
        for info in pkgutil.iter_modules(airflow_mwaa_extras.mwaa.__path__)
    ]


def _cli_modules() -> list[str]:
    return [
        f"{airflow_mwaa_extras.cli.__name__}.{info.name}"
        for info in pkgutil.iter_modules(airflow_mwaa_extras.cli.__path__)
    ]


@pytest.mark.parametrize(
    "module",
    ["airflow_mwaa_extras", "airflow_mwaa_extras.get_provider_info", "airflow_mwaa_extras.cli"],
)
def test_light_module_imports_neither_airflow_nor_heavy_packages(module: str) -> None:
    added = _added_top_level_modules([module])
    assert "airflow_mwaa_extras" in added  # the probe really imported something
    forbidden = sorted(set(added) & {*HEAVY, "airflow"})
    assert forbidden == [], f"importing {module} pulled in {forbidden}"


def test_cli_subcommand_modules_are_light() -> None:
    modules = _cli_modules()
    assert "airflow_mwaa_extras.cli.demo" in modules
    added = _added_top_level_modules(["airflow_mwaa_extras.cli", *modules])
    forbidden = sorted(set(added) & {*HEAVY, "airflow"})
    assert forbidden == [], f"CLI modules pulled in {forbidden}"


def test_plugin_modules_add_no_heavy_packages_to_an_airflow_process() -> None:
    # Plugins load in every scheduler, worker and webserver process, where Airflow is already
    # imported: what matters is what *our* modules add on top of it.
    modules = _plugin_modules()
    if not modules:
        pytest.fail("no plugin modules found under airflow_mwaa_extras.plugins")
    added = _added_top_level_modules(modules, baseline=["airflow", "airflow.plugins_manager"])
    forbidden = sorted(set(added) & set(HEAVY))
    assert forbidden == [], f"plugin modules pulled in {forbidden}"


def test_l0_modules_and_the_lambda_handler_import_neither_airflow_nor_boto3() -> None:
    # L0 serves AWS Lambda, the CLI and hooks alike: no Airflow ever, boto3 only inside functions.
    modules = _mwaa_modules()
    assert {"airflow_mwaa_extras.mwaa.client", "airflow_mwaa_extras.mwaa.commands"} <= set(modules)
    added = _added_top_level_modules([*modules, "airflow_mwaa_extras.lambda_handler"])
    assert "airflow_mwaa_extras" in added
    forbidden = sorted(set(added) & {*HEAVY, "airflow"})
    assert forbidden == [], f"mwaa/ or the Lambda handler pulled in {forbidden}"
