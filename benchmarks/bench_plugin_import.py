"""What our plugins add to an Airflow process, next to what ``import airflow`` costs.

Each repetition starts a fresh interpreter with ``python -X importtime``: it imports Airflow and
``airflow.plugins_manager`` (already there in every scheduler, worker and webserver), then our
plugin modules; the figures are the cumulative import times Python reports. A second probe times
the plugins' ``on_load`` (what runs when Airflow registers them) with every option set.

Run: ``./dev shell python benchmarks/bench_plugin_import.py [--repeat 7]``
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile

PLUGIN_MODULES = (
    "airflow_mwaa_extras.plugins.timezone",
    "airflow_mwaa_extras.plugins.virtualenv",
    "airflow_mwaa_extras.plugins.env_vars",
    "airflow_mwaa_extras.plugins.folder",
)

IMPORT_PROBE = f"""
import sys
import airflow, airflow.plugins_manager
print("=== MARK ===", file=sys.stderr, flush=True)
for name in {PLUGIN_MODULES!r}:
    __import__(name)
"""

ON_LOAD_PROBE = """
import time, airflow, airflow.plugins_manager
from airflow_mwaa_extras.plugins.env_vars import EnvVarsPlugin
from airflow_mwaa_extras.plugins.timezone import TimezonePlugin
from airflow_mwaa_extras.plugins.virtualenv import VirtualenvPlugin
start = time.perf_counter()
for plugin in (TimezonePlugin, EnvVarsPlugin, VirtualenvPlugin):
    plugin.on_load()
print((time.perf_counter() - start) * 1e6)
"""

LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")


def _env(home: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.update(
        {
            "AIRFLOW_HOME": home,
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            # Plugins are imported below by hand; do not let `import airflow` load them first.
            "AIRFLOW__CORE__LAZY_LOAD_PLUGINS": "True",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
        }
    )
    return env


def measure_imports(env: dict[str, str]) -> tuple[int, int]:
    """(cumulative µs of ``import airflow``, cumulative µs of our plugin modules after it)."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", IMPORT_PROBE],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    before, _, after = proc.stderr.partition("=== MARK ===")
    airflow_us = 0
    for line in before.splitlines():
        match = LINE.match(line)
        if match and match[3] == " " and match[4] == "airflow":
            airflow_us = int(match[2])
    plugins_us = sum(
        int(match[2]) for match in map(LINE.match, after.splitlines()) if match and match[3] == " "
    )
    return airflow_us, plugins_us


def measure_on_load(env: dict[str, str]) -> float:
    configured = {
        **env,
        "AIRFLOW__MWAA_EXTRAS__TIMEZONE": "America/Los_Angeles",
        "AIRFLOW__MWAA_EXTRAS__ENV_VARS": '{"set": {"JAVA_HOME": "/usr/lib/jvm/jre"}, "prepend": {"PATH": ["/opt/bin"]}}',
    }
    proc = subprocess.run(
        [sys.executable, "-c", ON_LOAD_PROBE],
        env=configured,
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    return float(proc.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="fresh interpreters per figure (default 7)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-plugins-") as home:
        env = _env(home)
        measure_imports(env)  # warm the file cache and write airflow.cfg once
        imports = [measure_imports(env) for _ in range(args.repeat)]
        on_load = [measure_on_load(env) for _ in range(args.repeat)]
    airflow_ms = [a / 1000 for a, _ in imports]
    plugins_ms = [p / 1000 for _, p in imports]
    on_load_ms = [o / 1000 for o in on_load]
    ratios = [p / a for a, p in imports]
    from airflow_mwaa_extras.version_compat import AIRFLOW_VERSION

    print(
        f"Airflow {AIRFLOW_VERSION}, Python {sys.version.split()[0]}, {args.repeat} fresh interpreters each"
    )
    print(f"{'figure':<52} {'median':>10} {'min':>10} {'max':>10}")
    rows = [
        ("import airflow (cumulative, ms)", airflow_ms),
        ("our plugin modules on top of it (ms)", plugins_ms),
        ("on_load of the three plugins, all options set (ms)", on_load_ms),
    ]
    for label, values in rows:
        print(f"{label:<52} {statistics.median(values):>10.2f} {min(values):>10.2f} {max(values):>10.2f}")
    print(
        f"{'ratio plugins / import airflow':<52} {statistics.median(ratios):>10.2%} {min(ratios):>10.2%} {max(ratios):>10.2%}"
    )
    budget_ok = statistics.median(plugins_ms) + statistics.median(on_load_ms) < 20
    print(f"budget (imports + on_load under 20 ms): {'met' if budget_ok else 'NOT met'}")
    return 0 if budget_ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
