"""The demo runs end to end as a user runs it: the console script, a fresh local stack."""

from __future__ import annotations

import os
import signal
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
    # Its own session, so that on a timeout the whole tree goes (the demo's schedulers and
    # servers too, which would otherwise run on as orphans), with the output so far in the error.
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "mwaa-extras"), "demo"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,
    )
    try:
        stdout, stderr = proc.communicate(timeout=1500)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        stdout, stderr = proc.communicate()
        pytest.fail(f"the demo did not finish within 1500 s:\n{stdout}{stderr}")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 0, stdout + stderr
    steps = [step for step in discover_steps() if not getattr(step, "OPT_IN", False)]
    for step in steps:
        assert step.TITLE in stdout
    assert f"{len(steps)} of {len(steps)} steps succeeded" in stdout
    # No HTTP request log of the stand-ins between the demo's lines (--verbose shows it).
    assert '"POST / HTTP' not in stdout + stderr
    # (A step's own output may say FAILED, e.g. the doctor reporting a seeded defect: what
    # counts is the runner's per-step verdict, summed up in the line above.)
    # It cleaned up after itself: nothing left in its temporary folder.
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("mwaa-extras-demo-")] == []
