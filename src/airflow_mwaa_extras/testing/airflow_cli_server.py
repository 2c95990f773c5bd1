"""Run the real ``airflow`` CLI of one Airflow home in processes forked from a warm one.

Starting ``python -m airflow`` costs 3 s of CPU on Airflow 2.10 and 7 to 11 s on 3.3 before the
command does anything, most of it importing the CLI parser and its providers. The MWAA stand-in
runs every ``/aws_mwaa/cli`` command that way, so its tests and the demo spent most of their time
importing. This server imports Airflow's CLI once, in the home's environment, then forks one
child per command (as Airflow's own LocalExecutor forks its workers): the child runs
``airflow.__main__.main()`` with the command's arguments, stdout and stderr on their own files,
and reports the exit code and both outputs. The command, Airflow's parser and the metadata DB are
the real ones; only the start-up is shared.

Protocol, over a Unix socket, one connection per command: the client sends one JSON line
``{"argv": [...]}``; the child answers ``{"pid": N}`` at once (so the client can kill a command
that runs too long), then ``{"returncode": N, "stdout": b64, "stderr": b64}``.

    python -m airflow_mwaa_extras.testing.airflow_cli_server SOCKET_PATH
"""

from __future__ import annotations

import base64
import contextlib
import importlib
import json
import os
import socket
import socketserver
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from airflow_mwaa_extras.exceptions import MwaaExtrasError

# Modules whose import is the cost of a command; imported once in the server, before forking.
_PRELOAD = (
    "airflow.cli.cli_parser",
    "airflow.cli.commands.dag_command",
    "airflow.cli.commands.variable_command",
    "airflow.cli.commands.connection_command",
    "airflow.cli.commands.task_command",
    "airflow.cli.commands.db_command",
)


class AirflowCliServerError(MwaaExtrasError):
    """The warm Airflow CLI server did not start or broke a command's protocol."""


# --- the server (a process of its own) ------------------------------------------------------


class _CommandHandler(socketserver.StreamRequestHandler):
    # ForkingMixIn runs this in a child forked for the connection, and exits the child after it.
    def handle(self) -> None:
        request = json.loads(self.rfile.readline())
        argv = [str(arg) for arg in request["argv"]]
        self.wfile.write(json.dumps({"pid": os.getpid()}).encode() + b"\n")
        self.wfile.flush()
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            code = _run_airflow_main(argv, out, err)
            out.seek(0)
            err.seek(0)
            answer = {
                "returncode": code,
                "stdout": base64.b64encode(out.read()).decode("ascii"),
                "stderr": base64.b64encode(err.read()).decode("ascii"),
            }
        self.wfile.write(json.dumps(answer).encode() + b"\n")
        self.wfile.flush()


def _run_airflow_main(argv: list[str], out: IO[bytes], err: IO[bytes]) -> int:
    """``python -m airflow ARGV`` in this (forked) process, its output on ``out`` and ``err``."""
    sys.stdout.flush()
    sys.stderr.flush()
    os.dup2(out.fileno(), 1)
    os.dup2(err.fileno(), 2)
    with open(os.devnull, "rb") as devnull:
        os.dup2(devnull.fileno(), 0)
    _forget_inherited_connections()
    sys.argv = ["airflow", *argv]
    code = 0
    try:
        from airflow.__main__ import main

        main()  # type: ignore[no-untyped-call]
    except SystemExit as exit_:
        if isinstance(exit_.code, int):
            code = exit_.code
        elif exit_.code is not None:  # sys.exit("message"): Python prints it and exits 1
            print(exit_.code, file=sys.stderr)
            code = 1
    except BaseException:
        traceback.print_exc()
        code = 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
    return code


def _forget_inherited_connections() -> None:
    # A pooled DB connection opened in the server must not be shared with the child.
    try:
        from airflow import settings
    except ImportError:  # pragma: no cover - Airflow is what this server runs
        return
    engine = getattr(settings, "engine", None)
    if engine is not None:
        engine.dispose(close=False)


class _Server(socketserver.ForkingMixIn, socketserver.UnixStreamServer):
    max_children = 64  # the stand-in allows 4 at a time; more only while children exit


def serve(socket_path: str) -> None:
    """Import Airflow's CLI, then serve commands on ``socket_path`` until terminated."""
    for name in _PRELOAD:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    from airflow.cli import cli_parser

    cli_parser.get_parser()
    with _Server(socket_path, _CommandHandler) as server:
        server.serve_forever()


# --- the client (in the stand-in's process) -------------------------------------------------


@dataclass
class AirflowCliResult:
    returncode: int
    stdout: bytes
    stderr: bytes


class AirflowCliServer:
    """A running warm CLI server for one Airflow home (see the module docstring)."""

    def __init__(self, env: Mapping[str, str], *, start_timeout: float = 300.0) -> None:
        self._dir = tempfile.mkdtemp(prefix="mwaa-cli-")
        self.socket_path = str(Path(self._dir) / "cli.sock")
        self._log = open(Path(self._dir) / "server.log", "wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "airflow_mwaa_extras.testing.airflow_cli_server", self.socket_path],
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + start_timeout
        while not self._answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                tail = self.log_tail()
                self.stop()
                raise AirflowCliServerError(f"the warm Airflow CLI server did not start: {tail}")
            time.sleep(0.1)

    def _answers(self) -> bool:
        if not os.path.exists(self.socket_path):
            return False
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
            try:
                probe.connect(self.socket_path)
            except OSError:
                return False
        return True

    def run(self, argv: list[str], *, timeout: float) -> AirflowCliResult:
        """Run ``airflow ARGV``; on timeout the command is killed and stderr says so."""
        deadline = time.monotonic() + timeout
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.connect(self.socket_path)
            conn.sendall(json.dumps({"argv": list(argv)}).encode() + b"\n")
            reader = conn.makefile("rb")
            # The child sends its pid as soon as it is forked: wait for that even past the deadline.
            pid = _read_json(reader, conn, max(deadline, time.monotonic() + 60))["pid"]
            try:
                answer = _read_json(reader, conn, deadline)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(pid), 9)
                return AirflowCliResult(-9, b"", f"command timed out after {timeout} s\n".encode())
        return AirflowCliResult(
            int(answer["returncode"]),
            base64.b64decode(answer["stdout"]),
            base64.b64decode(answer["stderr"]),
        )

    def log_tail(self) -> str:
        self._log.flush()
        text = (Path(self._dir) / "server.log").read_text(errors="replace")
        return text[-2000:].strip() or "(no output)"

    def stop(self) -> None:
        """End the server (commands already forked finish on their own)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
        with contextlib.suppress(OSError):
            os.unlink(self.socket_path)
        with contextlib.suppress(OSError):
            (Path(self._dir) / "server.log").unlink()
            os.rmdir(self._dir)


def _read_json(reader: Any, conn: socket.socket, deadline: float) -> dict[str, Any]:
    conn.settimeout(max(0.001, deadline - time.monotonic()))
    try:
        line = reader.readline()
    except TimeoutError:
        raise TimeoutError from None
    if not line:
        raise AirflowCliServerError("the Airflow CLI child ended without an answer")
    value = json.loads(line)
    if not isinstance(value, dict):
        raise AirflowCliServerError("the Airflow CLI child answered something that is not an object")
    return value


if __name__ == "__main__":
    serve(sys.argv[1])
