"""What one ``airflow`` CLI command costs the MWAA stand-in: a fresh process vs the warm server.

The stand-in runs each ``/aws_mwaa/cli`` command in a process forked from one that has imported
Airflow's CLI already (``testing/airflow_cli_server.py``); before that it started
``python -m airflow`` for every command. Both run the same command in the same home.

    ./dev shell python benchmarks/bench_standin_cli.py [--cold 3] [--warm 5]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from airflow_mwaa_extras.testing.airflow_cli_server import AirflowCliServer
from airflow_mwaa_extras.testing.airflow_home import create_airflow_home

ARGV = ["variables", "list", "--output", "json"]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cold", type=int, default=3, help="commands run as `python -m airflow`")
    parser.add_argument("--warm", type=int, default=5, help="commands run through the warm server")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-standin-cli-"))
    home = create_airflow_home(work / "home")
    try:
        cold = []
        for _ in range(args.cold):
            started = time.monotonic()
            home.airflow(*ARGV)
            cold.append(time.monotonic() - started)
        started = time.monotonic()
        server = AirflowCliServer(home.full_env())
        start_s = time.monotonic() - started
        warm = []
        try:
            for _ in range(args.warm):
                started = time.monotonic()
                result = server.run(ARGV, timeout=300)
                if result.returncode != 0:
                    print(result.stderr.decode(errors="replace"), file=sys.stderr)
                    return 1
                warm.append(time.monotonic() - started)
        finally:
            server.stop()
        cold_s, warm_s = statistics.median(cold), statistics.median(warm)
        print(f"airflow {' '.join(ARGV)}:")
        print(f"| {'way':<28} | {'median (s)':>10} |")
        print(f"|{'-' * 30}|{'-' * 12}|")
        print(f"| {'python -m airflow':<28} | {cold_s:>10.2f} |")
        print(f"| {'warm server (forked child)':<28} | {warm_s:>10.2f} |")
        print(f"warm/cold: {warm_s / cold_s:.3f}; the server's one-time start: {start_s:.1f} s")
        return 0
    finally:
        home.cleanup()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
