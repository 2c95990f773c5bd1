"""Every plugin loads on the installed Airflow; below the oldest supported Airflow, none registers.

Below the floor (Airflow older than 2.9) a plugin that raised at import would show up as a
plugin import error with a traceback in the scheduler log and the UI. Instead each plugin logs
one warning line and registers nothing. No Airflow that old is installed here: the second test
runs the real ``airflow plugins`` command of this environment after our ``version_compat`` has
read the version as 2.8.4 (it reads ``airflow.__version__`` once, at import; the real version is
put back at once, so Airflow and its providers see their own).
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable

from airflow_mwaa_extras.plugins.folder import PLUGINS
from airflow_mwaa_extras.testing.airflow_home import AirflowHome
from tests.plugins._helpers import plugins_json

OURS = {"mwaa_extras_" + name for name in PLUGINS}
# The home loads plugins when Airflow starts (core.lazy_load_plugins = False, as on MWAA), so
# their log lines come before `airflow plugins -o json` silences logging. The runner loads them
# itself, after `import airflow` (which it needs first to set the version).
LAZY = {"AIRFLOW__CORE__LAZY_LOAD_PLUGINS": "True"}
OLD_AIRFLOW_RUNNER = r"""
import sys
import airflow
real, airflow.__version__ = airflow.__version__, sys.argv[1]
import airflow_mwaa_extras.version_compat
airflow.__version__ = real
from airflow import plugins_manager
plugins_manager.ensure_plugins_loaded()
sys.argv = ["airflow", "plugins", "-o", "json"]
from airflow.__main__ import main
main()
"""


def _our_names(stdout: str) -> list[str]:
    if "No plugins loaded" in stdout:
        return []
    return sorted(str(p["name"]) for p in plugins_json(stdout) if str(p["name"]).startswith("mwaa_extras_"))


def test_every_plugin_loads_on_this_airflow(make_airflow_home: Callable[..., AirflowHome]) -> None:
    home = make_airflow_home("loads")
    proc = home.airflow("plugins", "-o", "json")
    out = proc.stdout + proc.stderr
    assert _our_names(proc.stdout) == sorted(OURS), out[-3000:]
    assert "Failed to import plugin" not in out
    assert "plugin not registered" not in out
    assert "Traceback" not in out


def test_below_the_floor_plugins_register_nothing_with_one_warning_each(
    make_airflow_home: Callable[..., AirflowHome],
) -> None:
    home = make_airflow_home("old")
    proc = subprocess.run(
        [sys.executable, "-c", OLD_AIRFLOW_RUNNER, "2.8.4"],
        env=home.full_env(LAZY),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert _our_names(proc.stdout) == [], out[-3000:]
    for name in OURS:
        line = (
            f"{name}: airflow-mwaa-extras supports Apache Airflow 2.9 and newer; found 2.8.4; "
            "plugin not registered"
        )
        assert out.count(line) == 1, (name, out[-3000:])
    assert len(re.findall(r"plugin not registered", out)) == len(OURS)
    assert "Failed to import plugin" not in out
    assert "Traceback" not in out
