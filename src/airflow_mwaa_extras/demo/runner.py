"""Discover and run the demo steps against a local Airflow and a local AWS."""

from __future__ import annotations

import contextlib
import importlib
import json
import pkgutil
import re
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from airflow_mwaa_extras.exceptions import MwaaExtrasError
from airflow_mwaa_extras.testing.airflow_home import AirflowHome, create_airflow_home
from airflow_mwaa_extras.testing.local_aws import LocalAws, patched_environ, start_local_aws


class DemoStepError(MwaaExtrasError):
    """A demo step did not get the result it expected."""


def example_dags_folder() -> Path:
    """The example DAGs: packaged in the wheel, or beside ``src/`` in a source checkout."""
    packaged = Path(__file__).resolve().parent.parent / "example_dags"
    if packaged.is_dir():
        return packaged
    checkout = Path(__file__).resolve().parents[3] / "example_dags"
    if checkout.is_dir():
        return checkout
    raise MwaaExtrasError("cannot find the example DAGs folder (neither packaged nor in a checkout)")


@dataclass
class DemoContext:
    """What a step gets: a work folder, the local AWS, the local Airflow, and a printer."""

    workdir: Path
    aws: LocalAws
    home: AirflowHome
    say: Callable[[str], None]
    resources: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)

    def dag_env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        return {**self.aws.env, **(extra or {})}

    def run_dag(
        self,
        dag_id: str,
        conf: dict[str, Any] | None = None,
        extra_env: dict[str, str] | None = None,
        timeout: float = 600,
    ) -> str:
        """Run one example DAG with ``airflow dags test``; return its final state."""
        args = ["dags", "test", dag_id]
        if conf is not None:
            args += ["--conf", json.dumps(conf)]
        proc = self.home.airflow(*args, check=False, timeout=timeout, extra_env=self.dag_env(extra_env))
        # `dags test` logs "DagRun Finished: dag_id=..., ..., state=..." on Airflow 2 and 3. On 2.x it
        # never writes the DAG to the `dag` table, so `dags list-runs` cannot be asked instead.
        finished = re.findall(
            rf"DagRun Finished: dag_id={re.escape(dag_id)},.*?state=(\w+)", proc.stdout + proc.stderr
        )
        if finished:
            return str(finished[-1])
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-15:]
        raise DemoStepError(
            f"airflow dags test {dag_id} exited {proc.returncode} without finishing a run:\n  "
            + "\n  ".join(tail)
        )


def discover_steps() -> list[ModuleType]:
    from airflow_mwaa_extras.demo import steps

    modules = [
        importlib.import_module(f"{steps.__name__}.{info.name}")
        for info in pkgutil.iter_modules(steps.__path__)
        if not info.name.startswith("_")
    ]
    return sorted(modules, key=lambda module: (module.ORDER, module.__name__))


def run_demo(
    only: Sequence[str] = (), keep: bool = False, out: Callable[[str], None] = print, *, verbose: bool = False
) -> int:
    """Run the demo; return 0 when every step succeeded (``verbose``: the stand-ins' request logs too)."""
    steps = discover_steps()
    if only:
        wanted = set(only)
        steps = [step for step in steps if step.__name__.rsplit(".", 1)[-1] in wanted]
        if not steps:
            raise MwaaExtrasError(f"no demo step named {', '.join(sorted(wanted))}")
    else:
        # A step that starts whole extra environments (scheduler, REST API) takes many minutes on
        # a small machine: it says so with OPT_IN = True and runs only when asked for by name.
        steps = [step for step in steps if not getattr(step, "OPT_IN", False)]
    workdir = Path(tempfile.mkdtemp(prefix="mwaa-extras-demo-"))
    out(f"mwaa-extras demo: working in {workdir}")
    failures = 0
    aws = start_local_aws(verbose=verbose)
    home: AirflowHome | None = None
    try:
        with patched_environ(aws.env):
            out(f"  local AWS (moto) on {aws.endpoint_url}")
            home = create_airflow_home(workdir / "airflow", dags_folder=example_dags_folder())
            out(f"  Airflow metadata DB: {home.sql_alchemy_conn}")
            with contextlib.ExitStack() as resources:
                ctx = DemoContext(
                    workdir=workdir,
                    aws=aws,
                    home=home,
                    say=lambda text: out(f"    {text}"),
                    resources=resources,
                )
                for number, step in enumerate(steps, start=1):
                    name = step.__name__.rsplit(".", 1)[-1]
                    out(f"[{number}/{len(steps)}] {step.TITLE} ({name})")
                    started = time.monotonic()
                    try:
                        step.run(ctx)
                    except Exception as err:  # a failed step is reported, the others still run
                        failures += 1
                        out(f"    FAILED: {err}")
                        if not isinstance(err, MwaaExtrasError):
                            traceback.print_exc(file=sys.stderr)
                    else:
                        out(f"    ok ({time.monotonic() - started:.1f} s)")
    finally:
        aws.stop()
        if home is not None and not keep:
            home.cleanup()
        if keep:
            out(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    out(f"mwaa-extras demo: {len(steps) - failures} of {len(steps)} steps succeeded")
    return 0 if failures == 0 else 1
