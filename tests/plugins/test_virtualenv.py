"""The PythonVirtualenvOperator fix: what it patches, and real virtualenvs built offline from a local wheel."""

from __future__ import annotations

import logging
import sys
import types
from collections.abc import Callable
from pathlib import Path

import pytest

from airflow_mwaa_extras.plugins import virtualenv as plugin
from airflow_mwaa_extras.testing.airflow_home import AirflowHome
from airflow_mwaa_extras.version_compat import AIRFLOW_V_3_0_PLUS
from tests.plugins._helpers import EXAMPLE_DAGS, PROBE_DIST, build_wheel, controlled_path

airflow_2_only = pytest.mark.skipif(
    AIRFLOW_V_3_0_PLUS, reason="Airflow 3 creates virtualenvs with venv/uv; the plugin does nothing there"
)

# Airflow 2.0-2.x's own function, verbatim (airflow/utils/python_virtualenv.py): the console script.
LEGACY_SOURCE = """
def _generate_virtualenv_cmd(tmp_dir: str, python_bin: str, system_site_packages: bool) -> list[str]:
    cmd = ["virtualenv", tmp_dir]
    if system_site_packages:
        cmd.append("--system-site-packages")
    if python_bin is not None:
        cmd.append(f"--python={python_bin}")
    return cmd
"""


def _module_with(source: str) -> types.ModuleType:
    module = types.ModuleType("legacy_python_virtualenv")
    exec(compile(source, "<legacy>", "exec"), module.__dict__)
    return module


@airflow_2_only
def test_legacy_console_script_command_is_run_through_this_interpreter() -> None:
    module = _module_with(LEGACY_SOURCE)
    original = module._generate_virtualenv_cmd
    assert plugin.patch_module(module) == plugin.PATCHED
    assert module._generate_virtualenv_cmd("/tmp/venv", "python3.11", True) == [
        sys.executable,
        "-m",
        "virtualenv",
        "/tmp/venv",
        "--system-site-packages",
        "--python=python3.11",
    ]
    assert plugin.patch_module(module) == plugin.ALREADY_PATCHED
    assert module._generate_virtualenv_cmd.__mwaa_extras_original__ is original


@airflow_2_only
def test_installed_airflow_2_already_uses_the_interpreter() -> None:
    import airflow.utils.python_virtualenv as installed

    before = installed._generate_virtualenv_cmd
    assert plugin.patch_module(installed) in (plugin.NOT_NEEDED, plugin.ALREADY_PATCHED)
    assert installed._generate_virtualenv_cmd("/tmp/v", None, False)[:3] == [
        sys.executable,
        "-m",
        "virtualenv",
    ]
    assert installed._generate_virtualenv_cmd is before


@pytest.mark.parametrize(
    "source",
    [
        "def _generate_virtualenv_cmd(tmp_dir, python_bin): return ['virtualenv', tmp_dir]",
        "def _generate_virtualenv_cmd(tmp_dir, python_bin, system_site_packages): return ['uv', 'venv', tmp_dir]",
        "def _generate_virtualenv_cmd(tmp_dir, python_bin, system_site_packages): raise RuntimeError('no')",
        "def _other(): pass",
    ],
    ids=["other-signature", "other-command", "raises", "missing"],
)
def test_an_unrecognised_airflow_is_left_alone(source: str, caplog: pytest.LogCaptureFixture) -> None:
    module = _module_with(source)
    before = dict(module.__dict__)
    with caplog.at_level(logging.WARNING, logger=plugin.__name__):
        assert plugin.patch_module(module) == plugin.UNRECOGNISED
    assert module.__dict__ == before


def test_module_command_only_rewrites_the_console_script() -> None:
    assert plugin.module_command(["/home/u/.local/bin/virtualenv", "/t"]) == [
        sys.executable,
        "-m",
        "virtualenv",
        "/t",
    ]
    assert plugin.module_command(["python", "-m", "venv", "/t"]) == ["python", "-m", "venv", "/t"]


# --- real PythonVirtualenvOperator runs, offline, with virtualenv and uv off PATH ---------------

# A plugins-folder file that turns this Airflow back into one whose function calls the console
# script (what MWAA users of Airflow 2.0.x had). Plugins-folder files load before entry points.
LEGACY_PLUGIN_FILE = (
    "import airflow.utils.python_virtualenv as _pv\n"
    + LEGACY_SOURCE
    + ("\n_pv._generate_virtualenv_cmd = _generate_virtualenv_cmd\n")
)
# Registering a plugin of the same name first makes Airflow skip ours: "without the plugin".
SHADOW_PLUGIN_FILE = (
    "from airflow.plugins_manager import AirflowPlugin\n\n\n"
    "class NoVirtualenvFix(AirflowPlugin):\n    name = 'mwaa_extras_virtualenv'\n"
)


def _run_example(home: AirflowHome, tmp_path: Path, **extra: str) -> tuple[int, str]:
    wheel = build_wheel(tmp_path / "wheels")
    proc = home.airflow(
        "dags",
        "test",
        "example_mwaa_extras_virtualenv",
        check=False,
        timeout=900,
        extra_env={
            "PATH": controlled_path(tmp_path),
            "MWAA_EXTRAS_EXAMPLE_VENV_REQUIREMENT": PROBE_DIST,
            "MWAA_EXTRAS_EXAMPLE_VENV_MODULE": PROBE_DIST,
            "MWAA_EXTRAS_EXAMPLE_VENV_FIND_LINKS": str(wheel.parent),
            "PIP_CONFIG_FILE": "/dev/null",
            **extra,
        },
    )
    return proc.returncode, proc.stdout + proc.stderr


def _installed_from_the_wheel(out: str) -> bool:
    return f"MWAA_EXTRAS_VENV module={PROBE_DIST} answer=42" in out and "Successfully installed" in out


@airflow_2_only
@pytest.mark.slow
def test_without_the_plugin_a_console_script_airflow_fails_off_path(
    make_airflow_home: Callable[..., AirflowHome], tmp_path: Path
) -> None:
    home = make_airflow_home("venv-without", dags_folder=EXAMPLE_DAGS)
    (home.plugins_folder / "legacy_airflow.py").write_text(LEGACY_PLUGIN_FILE)
    (home.plugins_folder / "no_fix.py").write_text(SHADOW_PLUGIN_FILE)
    returncode, out = _run_example(home, tmp_path)
    assert returncode != 0
    assert "No such file or directory: 'virtualenv'" in out, out[-3000:]
    assert "mwaa_extras virtualenv plugin" not in out


@airflow_2_only
@pytest.mark.slow
def test_with_the_plugin_the_same_airflow_builds_the_virtualenv(
    make_airflow_home: Callable[..., AirflowHome], tmp_path: Path
) -> None:
    home = make_airflow_home("venv-with", dags_folder=EXAMPLE_DAGS)
    (home.plugins_folder / "legacy_airflow.py").write_text(LEGACY_PLUGIN_FILE)
    returncode, out = _run_example(home, tmp_path)
    assert returncode == 0, out[-4000:]
    assert "-m virtualenv instead of the virtualenv console script on PATH" in out
    assert _installed_from_the_wheel(out), out[-4000:]


@pytest.mark.skipif(not AIRFLOW_V_3_0_PLUS, reason="the Airflow 2 runs are above")
@pytest.mark.slow
def test_airflow_3_builds_the_virtualenv_and_the_plugin_says_so_once(
    make_airflow_home: Callable[..., AirflowHome], tmp_path: Path
) -> None:
    home = make_airflow_home("venv-af3", dags_folder=EXAMPLE_DAGS)
    # The plugin says it at DEBUG (an INFO line in every process would pollute `-o json` output).
    returncode, out = _run_example(home, tmp_path, AIRFLOW__LOGGING__LOGGING_LEVEL="DEBUG")
    assert returncode == 0, out[-4000:]
    assert _installed_from_the_wheel(out), out[-4000:]
    assert out.count("Airflow 3 creates virtualenvs with venv or uv") == 1  # once for the process tree
