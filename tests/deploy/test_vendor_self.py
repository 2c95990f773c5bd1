"""A plugins.zip built with --vendor-self works in an Airflow that does not have this package.

The dev environments have the package installed (editable), so the test creates a bare Airflow
environment of the same version with uv (seconds with uv's cache), unpacks the zip into a real
plugins folder and asks that Airflow which plugins it loaded, and from where.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from airflow_mwaa_extras.deploy.mwaa_data import constraints_file
from airflow_mwaa_extras.deploy.plugins_zip import PACKAGE, build_plugins_zip
from airflow_mwaa_extras.deploy.uv import find_uv
from airflow_mwaa_extras.plugins.folder import PLUGINS
from airflow_mwaa_extras.version_compat import AIRFLOW_VERSION

pytestmark = pytest.mark.slow

PROBE = r"""
import json, sys
from airflow import plugins_manager as pm

pm.ensure_plugins_loaded()
# Airflow 3 returns the import errors from a function; Airflow 2 keeps a module global.
errors = pm.get_import_errors() if hasattr(pm, "get_import_errors") else pm.import_errors
names = sorted(str(p["name"]) for p in pm.get_plugin_info())
import airflow_mwaa_extras
import airflow_mwaa_extras.operators.worker_metrics as op
from importlib import metadata
try:
    metadata.distribution("airflow-mwaa-extras")
    installed = True
except metadata.PackageNotFoundError:
    installed = False
import os
vendored = os.path.join(os.environ["AIRFLOW__CORE__PLUGINS_FOLDER"], "airflow_mwaa_extras") + os.sep
# Modules of the vendored package loaded under another name: the plugin loader ran them as files.
stray = sorted(
    name for name, mod in list(sys.modules.items())
    if (getattr(mod, "__file__", None) or "").startswith(vendored) and not name.startswith("airflow_mwaa_extras")
)
print(json.dumps({
    "names": names,
    "stray": stray,
    "errors": {str(k): str(v) for k, v in errors.items()},
    "package": airflow_mwaa_extras.__file__,
    "operator": op.__file__,
    "installed": installed,
}))
"""


@pytest.fixture(scope="module")
def bare_airflow(tmp_path_factory: pytest.TempPathFactory) -> Path:
    uv = find_uv()
    if uv is None:
        pytest.skip("uv is not installed")
    venv = tmp_path_factory.mktemp("bare-airflow") / "venv"
    version = str(AIRFLOW_VERSION)
    subprocess.run([uv, "venv", "--quiet", "--python", sys.executable, str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    subprocess.run(
        [uv, "pip", "install", "--quiet", "--python", str(python), "-c", str(constraints_file(version))]
        + [f"apache-airflow[amazon]=={version}"],
        check=True,
        timeout=600,
    )
    return python


def test_vendored_zip_loads_our_plugins_and_operators(bare_airflow: Path, tmp_path: Path) -> None:
    src = tmp_path / "plugins-src"
    src.mkdir()
    (src / "my_plugin.py").write_text(
        "from airflow.plugins_manager import AirflowPlugin\n\n\nclass MyPlugin(AirflowPlugin):\n    name = 'my_plugin'\n"
    )
    built = build_plugins_zip(src, tmp_path / "plugins.zip", vendor_self=True)
    plugins = tmp_path / "airflow" / "plugins"
    with zipfile.ZipFile(built.path) as zf:
        zf.extractall(plugins)
    home = tmp_path / "airflow"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(plugins),
            "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__LAZY_LOAD_PLUGINS": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    proc = subprocess.run(
        [str(bare_airflow), "-c", PROBE], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["installed"] is False
    assert result["package"].startswith(str(plugins / PACKAGE))
    assert result["operator"].startswith(str(plugins / PACKAGE / "operators"))
    # Nothing of the vendored package was imported as a plugin file (.airflowignore works).
    assert result["errors"] == {}
    assert result["stray"] == []
    plugin_names = {importlib_name(target) for target in PLUGINS.values()}
    assert plugin_names <= set(result["names"])
    assert "my_plugin" in result["names"]


def importlib_name(target: str) -> str:
    """The ``name`` attribute of a plugin class, read from the source tree (no import needed)."""
    import importlib

    module_name, class_name = target.split(":")
    return str(getattr(importlib.import_module(module_name), class_name).name)
