"""Running the installed ``mwaa-extras local`` command as a user does, for the ``local`` tests.

A copy of a project for this Airflow version, ``local up`` started on a free loopback port and
waited for until it says Airflow is up, and the process tree it leaves (read from /proc).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from airflow_mwaa_extras.deploy import mwaa_data

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "examples" / "local_project"
VERSION = mwaa_data.default_airflow_version(None)
CLI = str(Path(sys.executable).with_name("mwaa-extras"))


def project_copy(tmp_path: Path, source: Path, requirements_text: str | None = None) -> Path:
    """A copy of ``source`` whose constraint line names this Airflow version (and the sample's
    requirement unless ``requirements_text`` is given)."""
    target = tmp_path / source.name
    shutil.copytree(source, target)
    text = requirements_text if requirements_text is not None else (SAMPLE / "requirements.txt").read_text()
    url = mwaa_data.expected_constraint_url(VERSION)
    lines = [
        f'--constraint "{url}"' if line.startswith("--constraint") else line for line in text.splitlines()
    ]
    (target / "requirements.txt").write_text("\n".join(lines) + "\n")
    return target


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def descendants(pid: int) -> set[int]:
    """Every process below ``pid``."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def alive(pid: int) -> bool:
    """``pid`` runs (a zombie does not count)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@dataclass
class LocalUp:
    proc: subprocess.Popen[str]
    port: int
    #: what it printed up to and including "Airflow is up: URL"
    lines: list[str]
    #: the page it served at its URL
    page: bytes = b""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"


@contextmanager
def local_up(project: Path, cache: Path, *args: str) -> Iterator[LocalUp]:
    """``mwaa-extras local up project ARGS`` on a free port, once it serves the UI there (HTTP 200).

    Killed on the way out if the test did not stop it.
    """
    port = free_port()
    env = {**os.environ, "MWAA_EXTRAS_LOCAL_CACHE": str(cache)}
    cmd = [CLI, "local", "up", str(project), "--airflow-version", VERSION, "--port", str(port), *args]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        assert proc.stdout is not None
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("Airflow is up: "):
                break
        up = LocalUp(proc, port, lines)
        assert lines, "local up printed nothing"
        assert lines[-1].split()[3] == up.url, "".join(lines)
        with urllib.request.urlopen(up.url, timeout=30) as response:
            assert response.status == 200
            up.page = response.read()
        yield up
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def ctrl_c_stops_every_process(proc: subprocess.Popen[str], pids: set[int]) -> None:
    """SIGINT (Ctrl-C) ends ``proc`` with exit code 0, and every one of ``pids`` with it."""
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=90) == 0
    assert not [pid for pid in pids if alive(pid)]
