"""``airflow plugins`` lists each of our plugins exactly once, however it is installed.

Three ways users load them: the installed package (entry points); the installed package plus a
plugins-folder file (a plugins.zip made for an environment that also lists the package in
requirements.txt); and the package copied into the plugins folder with no pip install at all
(plugins.zip only, what ``mwaa-extras plugins build --vendor-self`` produces).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import airflow_mwaa_extras
from airflow_mwaa_extras.plugins.folder import PLUGINS, installed_entry_points, plugins_for_folder
from airflow_mwaa_extras.testing.airflow_home import AirflowHome
from airflow_mwaa_extras.version_compat import AIRFLOW_V_3_1_PLUS
from tests.plugins._helpers import plugins_json

OURS = {"mwaa_extras_timezone", "mwaa_extras_virtualenv", "mwaa_extras_env_vars"}
FOLDER_FILE = (
    "from airflow_mwaa_extras.plugins.folder import plugins_for_folder\n\n"
    "globals().update(plugins_for_folder())\n"
)
NAIVE_FOLDER_FILE = (
    "from airflow_mwaa_extras.plugins.env_vars import EnvVarsPlugin\n"
    "from airflow_mwaa_extras.plugins.timezone import TimezonePlugin\n"
    "from airflow_mwaa_extras.plugins.virtualenv import VirtualenvPlugin\n"
)
TZ = {"AIRFLOW__MWAA_EXTRAS__TIMEZONE": "Asia/Kathmandu"}


def _listed(stdout: str) -> list[dict[str, Any]]:
    return plugins_json(stdout)


def _names(plugins: list[dict[str, Any]]) -> list[str]:
    return sorted(p["name"] for p in plugins if p["name"].startswith("mwaa_extras_"))


def test_folder_helper_matches_the_entry_points() -> None:
    registered = installed_entry_points()
    # This checkout is installed (editable), so every plugin comes from an entry point already.
    assert set(PLUGINS.values()) == registered
    assert plugins_for_folder() == {}
    with pytest.raises(ValueError, match="unknown plugin name"):
        plugins_for_folder("timezones")


@pytest.mark.slow
def test_entry_points_list_each_plugin_once(make_airflow_home: Callable[..., AirflowHome]) -> None:
    home = make_airflow_home("ep")
    proc = home.airflow("plugins", "-o", "json", extra_env=TZ)
    out = proc.stdout + proc.stderr
    plugins = _listed(proc.stdout)
    names = _names(plugins)
    assert OURS <= set(names)
    assert len(names) == len(set(names)), names
    assert all("EntryPoint" in str(p["source"]) for p in plugins if p["name"] in OURS)
    assert "already registered" not in out
    assert out.count("mwaa_extras timezone plugin: TZ=Asia/Kathmandu") == 1


@pytest.mark.slow
def test_folder_file_beside_the_installed_package_registers_nothing_twice(
    make_airflow_home: Callable[..., AirflowHome],
) -> None:
    home = make_airflow_home("folder")
    (home.plugins_folder / "mwaa_extras_plugins.py").write_text(FOLDER_FILE)
    proc = home.airflow("plugins", "-o", "json", extra_env=TZ)
    out = proc.stdout + proc.stderr
    names = _names(_listed(proc.stdout))
    assert OURS <= set(names)
    assert len(names) == len(set(names)), names
    assert "already registered" not in out
    assert "Failed to import plugin" not in out
    assert out.count("mwaa_extras timezone plugin: TZ=Asia/Kathmandu") == 1


@pytest.mark.slow
def test_naive_folder_file_is_why_the_helper_exists(make_airflow_home: Callable[..., AirflowHome]) -> None:
    home = make_airflow_home("naive")
    (home.plugins_folder / "mwaa_extras_plugins.py").write_text(NAIVE_FOLDER_FILE)
    proc = home.airflow("plugins", "-o", "json", extra_env=TZ)
    out = proc.stdout + proc.stderr
    names = _names(_listed(proc.stdout))
    assert len(names) == len(set(names)), names  # Airflow dedupes by name on both versions...
    assert out.count("mwaa_extras timezone plugin: TZ=Asia/Kathmandu") == 1  # ...and on_load runs once
    # ...but Airflow 3.1+ logs the second registration and records it as a plugin import error
    # (3.0, MWAA 3.0.6, still skips it silently as Airflow 2 does).
    assert ("already registered" in out) is AIRFLOW_V_3_1_PLUS


def _site_packages_without_us(target: Path) -> Path:
    """This environment's site-packages as symlinks, minus our distribution: Airflow installed,
    airflow-mwaa-extras not (as on MWAA with plugins.zip and no requirements.txt line)."""
    site_packages = next(
        Path(p) for p in sys.path if p.endswith("site-packages") and (Path(p) / "airflow").is_dir()
    )
    target.mkdir(parents=True)
    for entry in site_packages.iterdir():
        lowered = entry.name.lower()
        if "airflow_mwaa_extras" in lowered or "airflow-mwaa-extras" in lowered:
            continue
        (target / entry.name).symlink_to(entry)
    return target


def _run_vendored(
    home: AirflowHome, setting: dict[str, str], tmp_path: Path
) -> subprocess.CompletedProcess[str]:
    """`airflow plugins` for a plugins-folder-only install: our package not on sys.path."""
    site_packages = _site_packages_without_us(tmp_path / "site-packages")
    env = home.full_env(setting)
    env.pop("PYTHONPATH", None)
    return subprocess.run(
        [sys.executable, "-S", "-c", VENDORED_RUNNER, str(site_packages)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


VENDORED_RUNNER = r"""
import site, sys
site.addsitedir(sys.argv[1])
sys.argv = ["airflow", "plugins", "-o", "json"]
from airflow.__main__ import main
main()
"""


@pytest.mark.slow
def test_vendored_copy_in_the_plugins_folder_without_pip(
    make_airflow_home: Callable[..., AirflowHome], tmp_path: Path
) -> None:
    home = make_airflow_home("vendored")
    package = Path(airflow_mwaa_extras.__file__).resolve().parent
    shutil.copytree(
        package,
        home.plugins_folder / "airflow_mwaa_extras",
        ignore=shutil.ignore_patterns("__pycache__", "example_dags", "testing", "demo", "cli"),
    )
    (home.plugins_folder / ".airflowignore").write_text("airflow_mwaa_extras\n")
    (home.plugins_folder / "mwaa_extras_plugins.py").write_text(FOLDER_FILE)
    proc = _run_vendored(home, TZ, tmp_path)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    plugins = [p for p in _listed(proc.stdout) if p["name"] in OURS]
    assert sorted(p["name"] for p in plugins) == sorted(OURS)
    folder_file = str(home.plugins_folder / "mwaa_extras_plugins.py")
    for plugin in plugins:  # from our folder file, not from an entry point or a vendored module
        assert "EntryPoint" not in str(plugin["source"])
        assert "mwaa_extras_plugins.py" in str(plugin["source"]) or folder_file in str(plugin["source"])
    assert "already registered" not in out
    assert "Failed to import plugin" not in out
    assert out.count("mwaa_extras timezone plugin: TZ=Asia/Kathmandu") == 1
    assert os.path.isdir(home.plugins_folder / "airflow_mwaa_extras")


FIRST_IMPORT_PROBE = r"""
import importlib, json, sys
importlib.import_module(sys.argv[1])  # before airflow: airflow then loads the entry points
from airflow import plugins_manager as pm
pm.ensure_plugins_loaded()
errors = pm.get_import_errors() if hasattr(pm, "get_import_errors") else pm.import_errors
print(json.dumps({"names": sorted(p["name"] for p in pm.get_plugin_info()), "errors": list(errors.values())}))
"""


@pytest.mark.parametrize("module", sorted(target.split(":")[0] for target in PLUGINS.values()))
def test_plugin_module_imported_before_airflow(module: str, tmp_path: Path) -> None:
    # MWAA requires core.lazy_load_plugins = False: `import airflow` then loads every entry-point
    # plugin, including the module being imported (a circular import unless Airflow comes first).
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "_MWAA_EXTRAS_SAID_"))}
    env.update(
        {
            "AIRFLOW_HOME": str(tmp_path),
            "AIRFLOW__CORE__LAZY_LOAD_PLUGINS": "False",
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(tmp_path / "plugins"),
        }
    )
    proc = subprocess.run(
        [sys.executable, "-c", FIRST_IMPORT_PROBE, module],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "circular import" not in proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["errors"] == []
    assert {"mwaa_extras_timezone", "mwaa_extras_env_vars", "mwaa_extras_task_metrics"} <= set(
        result["names"]
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    ("bad_setting", "dropped"),
    [
        pytest.param(
            {"AIRFLOW__MWAA_EXTRAS__TIMEZONE": "Mars/Olympus"}, "mwaa_extras_timezone", id="timezone"
        ),
        pytest.param(
            {"AIRFLOW__MWAA_EXTRAS__ENV_VARS": '{"bogus": 1}'}, "mwaa_extras_env_vars", id="env-vars"
        ),
    ],
)
def test_vendored_zip_one_bad_setting_drops_only_its_plugin(
    make_airflow_home: Callable[..., AirflowHome], tmp_path: Path, bad_setting: dict[str, str], dropped: str
) -> None:
    # As entry points do for a pip install: each plugin registers (or fails) on its own.
    import zipfile

    from airflow_mwaa_extras.deploy.plugins_zip import build_plugins_zip

    home = make_airflow_home("vendored-bad")
    src = tmp_path / "plugins-src"
    src.mkdir()
    (src / "my_plugin.py").write_text(
        "from airflow.plugins_manager import AirflowPlugin\n\n\nclass MyPlugin(AirflowPlugin):\n    name = 'my_plugin'\n"
    )
    with zipfile.ZipFile(build_plugins_zip(src, tmp_path / "plugins.zip", vendor_self=True).path) as zf:
        zf.extractall(home.plugins_folder)
    proc = _run_vendored(home, bad_setting, tmp_path)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    expected = {p["name"] for p in _listed(proc.stdout)}
    ours = {
        "mwaa_extras_timezone",
        "mwaa_extras_env_vars",
        "mwaa_extras_virtualenv",
        "mwaa_extras_task_metrics",
    }
    assert ours - expected == {dropped}
    assert "my_plugin" in expected
