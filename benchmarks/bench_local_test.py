"""Wall time of ``mwaa-extras local test`` on the sample project (examples/local_project), cold and warm.

Cold is "the first run on this machine": an empty environment cache (a fresh
``MWAA_EXTRAS_LOCAL_CACHE``), with uv's package cache as it is (emptying it needs PyPI for every
wheel again, which a benchmark should not measure). Warm is the next run with the same inputs
(cache hit). Both run the sample DAG as ``airflow dags test`` does. Goals from the issue: under
60 s cold, under 10 s warm. Wall time is the goal; the CPU seconds of the command and its
children are printed beside it because on a shared machine they say more than wall time does.

Run: ``./dev shell python benchmarks/bench_local_test.py [--versions 2.10.3 3.3.1] [--warm-repeat 3]``
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from airflow_mwaa_extras.deploy.mwaa_data import expected_constraint_url

SAMPLE = Path(__file__).resolve().parents[1] / "examples" / "local_project"
GOALS = {"cold": 60.0, "warm": 10.0}


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run(project: Path, version: str, cache: Path) -> tuple[float, float]:
    cmd = [sys.executable, "-m", "airflow_mwaa_extras", "local", "test", str(project)]
    cmd += ["--airflow-version", version, "local_sample"]
    started, cpu = time.perf_counter(), _cpu()
    proc = subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        env={**os.environ, "MWAA_EXTRAS_LOCAL_CACHE": str(cache)},
        check=False,
    )
    seconds, cpu = time.perf_counter() - started, _cpu() - cpu
    if proc.returncode != 0:
        raise SystemExit(f"local test failed on {version}:\n{proc.stdout}\n{proc.stderr[-2000:]}")
    return seconds, cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--versions", nargs="+", default=["2.10.3", "3.3.1"])
    parser.add_argument("--warm-repeat", type=int, default=3)
    args = parser.parse_args()
    print(
        f"{'version':8} {'cold s':>7} {'cpu s':>6} {'goal':>5} {'ratio':>6} "
        f"{'warm s (median)':>16} {'cpu s':>6} {'goal':>5} {'ratio':>6}  load"
    )
    with tempfile.TemporaryDirectory(prefix="bench-local-") as tmp:
        for version in args.versions:
            project = Path(tmp, f"project-{version}")
            shutil.copytree(SAMPLE, project)
            req = project / "requirements.txt"
            req.write_text(
                re.sub(r'"https://[^"]+"', f'"{expected_constraint_url(version)}"', req.read_text())
            )
            cache = Path(tmp, f"cache-{version}")
            cold, cold_cpu = _run(project, version, cache)
            warm_runs = [_run(project, version, cache) for _ in range(args.warm_repeat)]
            warm, warm_cpu = (statistics.median(run[i] for run in warm_runs) for i in (0, 1))
            print(
                f"{version:8} {cold:7.1f} {cold_cpu:6.1f} {GOALS['cold']:5.0f} {cold / GOALS['cold']:6.2f} "
                f"{warm:16.1f} {warm_cpu:6.1f} {GOALS['warm']:5.0f} {warm / GOALS['warm']:6.2f}  "
                f"{os.getloadavg()[0]:.1f}",
                flush=True,
            )
    print(
        "ratio = wall / goal (below 1 meets the goal); cold = empty environment cache, warm uv cache; "
        "cpu s = CPU seconds of the command and its children; load = 1-minute load average after the row"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
