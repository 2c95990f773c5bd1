"""Helpers of the plugin tests: an offline wheel, a controlled PATH, loading an example DAG module."""

from __future__ import annotations

import base64
import hashlib
import os
import sys
import zipfile
from pathlib import Path
from types import ModuleType

from airflow_mwaa_extras.testing.airflow_home import AirflowHome

REPO_ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_DAGS = REPO_ROOT / "example_dags"
PROBE_DIST = "mwaa_extras_probe"


def build_wheel(folder: Path, name: str = PROBE_DIST, version: str = "1.0", answer: int = 42) -> Path:
    """Write a pure-Python wheel by hand (a wheel is a zip with a dist-info), no build backend and
    no network needed: module ``name`` with ``ANSWER = answer``."""
    files = {
        f"{name}.py": f"ANSWER = {answer}\n".encode(),
        f"{name}-{version}.dist-info/METADATA": (
            f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nSummary: test probe\n"
        ).encode(),
        f"{name}-{version}.dist-info/WHEEL": (
            b"Wheel-Version: 1.0\nGenerator: airflow-mwaa-extras-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }
    record = []
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(data)}")
    record.append(f"{name}-{version}.dist-info/RECORD,,")
    files[f"{name}-{version}.dist-info/RECORD"] = ("\n".join(record) + "\n").encode()
    folder.mkdir(parents=True, exist_ok=True)
    wheel = folder / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        for path, data in files.items():
            zf.writestr(path, data)
    return wheel


def controlled_path(folder: Path) -> str:
    """A PATH with this interpreter as ``python``/``python3`` and system tools, but neither the
    ``virtualenv`` nor the ``uv`` console script (the venv's bin and pyenv shims are left out)."""
    bin_dir = folder / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    for name in ("python", "python3"):
        link = bin_dir / name
        if not link.exists():
            link.symlink_to(sys.executable)
    path = os.pathsep.join([str(bin_dir), "/usr/local/sbin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"])
    for tool in ("virtualenv", "uv"):
        for entry in path.split(os.pathsep):
            assert not (Path(entry) / tool).exists(), f"{tool} found in {entry}; the PATH is not controlled"
    return path


def task_logs(home: AirflowHome) -> str:
    """Every task log file written under the home's log folder, concatenated."""
    root = Path(home.env["AIRFLOW__LOGGING__BASE_LOG_FOLDER"])
    parts = [p.read_text(errors="replace") for p in sorted(root.rglob("*.log")) if "scheduler" not in p.parts]
    return "\n".join(parts)


def load_example(name: str) -> ModuleType:
    """Import ``example_dags/<name>.py`` as a module (the example DAG folder is not a package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"_example_{name}", EXAMPLE_DAGS / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def plugins_json(stdout: str) -> list[dict[str, object]]:
    """The JSON list ``airflow plugins -o json`` prints after any log lines."""
    import json
    import re

    match = re.search(r"^\[(?:\{|\])", stdout, re.MULTILINE)
    assert match is not None, f"no JSON list in: {stdout[-2000:]}"
    return list(json.loads(stdout[match.start() :]))
