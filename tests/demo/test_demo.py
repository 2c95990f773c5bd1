"""The demo runs end to end as a user runs it: the console script, a fresh local stack."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from airflow_mwaa_extras.demo.runner import discover_steps


@pytest.mark.slow
@pytest.mark.timeout(1800)  # the whole demo: every feature's step, several Airflow processes each
def test_demo_runs_every_step_and_cleans_up(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "AWS_"))}
    env["TMPDIR"] = str(tmp_path)
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "mwaa-extras"), "demo"],
        capture_output=True,
        text=True,
        env=env,
        timeout=1500,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    steps = [step for step in discover_steps() if not getattr(step, "OPT_IN", False)]
    for step in steps:
        assert step.TITLE in proc.stdout
    assert f"{len(steps)} of {len(steps)} steps succeeded" in proc.stdout
    # No HTTP request log of the stand-ins between the demo's lines (--verbose shows it).
    assert '"POST / HTTP' not in proc.stdout + proc.stderr
    # (A step's own output may say FAILED, e.g. the doctor reporting a seeded defect: what
    # counts is the runner's per-step verdict, summed up in the line above.)
    # It cleaned up after itself: nothing left in its temporary folder.
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("mwaa-extras-demo-")] == []
