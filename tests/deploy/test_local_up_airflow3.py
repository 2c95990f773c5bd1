"""``mwaa-extras local up`` on Airflow 3, run as a user runs it: the API server, scheduler and DAG
processor serve on 127.0.0.1 only, the project's DAG runs through them (scheduler, LocalExecutor,
Task Execution API), and Ctrl-C (SIGINT) stops every process.

Skipped on Airflow 2 (``test_local.py`` starts ``local up`` there); slow, so it runs in the full
3.3.1 leg (``MWAA_VERSION=3.3.1 ./dev test``) and wherever slow tests run on 3.x.
"""

from __future__ import annotations

import ipaddress
import json
import os
import socket
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.deploy import local_cli

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        int(local_cli.VERSION.split(".")[0]) < 3, reason="Airflow 3's local up (api-server, dag-processor)"
    ),
]
DAG_RUN_TIMEOUT = 300.0


def _call(url: str, method: str = "GET", body: dict[str, Any] | None = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def _until(what: str, check: Any, timeout: float = DAG_RUN_TIMEOUT) -> Any:
    """Poll ``check`` (the API has no event to wait on) until it returns something true."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:.0f} s")
        time.sleep(1)


def _listening(pids: set[int]) -> list[tuple[str, int]]:
    """(address, port) of every TCP socket in LISTEN state that one of ``pids`` holds."""
    inodes: set[str] = set()
    for pid in pids:
        try:
            links = [os.readlink(fd) for fd in Path(f"/proc/{pid}/fd").iterdir()]
        except OSError:
            continue
        inodes |= {link[8:-1] for link in links if link.startswith("socket:[")}
    found = []
    for table in ("tcp", "tcp6"):
        for row in Path(f"/proc/net/{table}").read_text().splitlines()[1:]:
            fields = row.split()
            if fields[3] != "0A" or fields[9] not in inodes:  # 0A: LISTEN
                continue
            hex_address, hex_port = fields[1].split(":")
            raw = bytes.fromhex(hex_address)
            # /proc/net lists addresses as native-endian 32-bit words
            packed = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
            found.append((str(ipaddress.ip_address(packed)), int(hex_port, 16)))
    return found


def test_local_up_serves_on_127_0_0_1_runs_the_projects_dag_and_ctrl_c_stops_every_process(
    tmp_path: Path, local_cache: Path
) -> None:
    with local_cli.local_up(local_cli.project_copy(tmp_path, local_cli.SAMPLE), local_cache) as up:
        port = up.port
        assert b"<html" in up.page.lower()  # the UI
        api = f"{up.url}api/v2"

        # The DAG processor parsed the project; the scheduler runs the DAG through the Task
        # Execution API on the same port. The task asserts that startup.sh's export and the
        # configuration option reached it, so "success" means they reach scheduled tasks too.
        _until(
            "local_sample parsed",
            lambda: "local_sample" in {d["dag_id"] for d in _call(f"{api}/dags")["dags"]},
        )
        _call(f"{api}/dags/local_sample", "PATCH", {"is_paused": False})
        run_id = _call(f"{api}/dags/local_sample/dagRuns", "POST", {"logical_date": None})["dag_run_id"]
        state = _until(
            "the DAG run finished",
            lambda: (
                _call(f"{api}/dags/local_sample/dagRuns/{run_id}")["state"] in ("success", "failed")
                and _call(f"{api}/dags/local_sample/dagRuns/{run_id}")["state"]
            ),
        )
        assert state == "success"
        health = _call(f"{api}/monitor/health")
        assert health["metadatabase"]["status"] == "healthy"
        assert health["scheduler"]["status"] == "healthy"
        assert health["dag_processor"]["status"] == "healthy"

        tree = {up.proc.pid} | local_cli.descendants(up.proc.pid)
        listening = _listening(tree)
        assert ("127.0.0.1", port) in listening
        assert all(ipaddress.ip_address(address).is_loopback for address, _ in listening), listening

        local_cli.ctrl_c_stops_every_process(up.proc, tree)
        with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port), timeout=5):
            pass
