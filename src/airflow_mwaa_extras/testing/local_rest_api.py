"""The real Airflow REST API of a local Airflow home, served on 127.0.0.1 in a subprocess.

Airflow 2 serves the stable REST API (``/api/v1``) from the webserver's Flask app; here it runs
with the ``basic_auth`` backend and a user created for the purpose. Airflow 3 serves ``/api/v2``
from the FastAPI app of ``airflow api-server``; here it runs with the simple auth manager, a user
with a generated password, and a JWT from ``/auth/token``. Both apps are built and served by
this module in a child process (``python -m airflow_mwaa_extras.testing.local_rest_api``) rather
than through ``airflow webserver`` / ``airflow api-server``: that skips gunicorn and its workers,
binds an OS-chosen port on loopback (no port race), and starts in a few seconds.

Airflow reads its configuration per process, so every home gets its own server process.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow_mwaa_extras.exceptions import MwaaExtrasError

if TYPE_CHECKING:
    from airflow_mwaa_extras.testing.airflow_home import AirflowHome

USERNAME = "mwaa-extras"
_READY_PREFIX = "MWAA_EXTRAS_REST_API_PORT="
_START_TIMEOUT = 600.0  # busy CI machines: building the app alone can take minutes


class LocalRestApiError(MwaaExtrasError):
    """The local REST API could not be started, or answered with an error."""


def _airflow_major() -> int:
    from airflow_mwaa_extras.version_compat import AIRFLOW_V_3_0_PLUS, require_airflow

    require_airflow()
    return 3 if AIRFLOW_V_3_0_PLUS else 2


@dataclass
class LocalRestApi:
    """A running REST API of one local Airflow home.

    ``base_url`` ends with the API version (``.../api/v1`` or ``.../api/v2``), so a path such as
    ``/dags/my_dag/dagRuns`` (what MWAA's InvokeRestApi takes) is appended to it as is.
    """

    base_url: str
    headers: dict[str, str]
    api_version: str
    process: subprocess.Popen[bytes]
    log_path: Path
    _stopped: bool = field(default=False, repr=False)

    @property
    def root_url(self) -> str:
        """``http://127.0.0.1:PORT`` without the API prefix."""
        return self.base_url.rsplit("/api/", 1)[0]

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        timeout: float = 60.0,
    ) -> tuple[int, Any]:
        """Send one request; returns ``(status, parsed JSON or None)`` for any HTTP status.

        :param method: HTTP method.
        :param path: path below :attr:`base_url`, starting with ``/``.
        :param params: query parameters; list values repeat the key.
        :param body: JSON body, or None for no body.
        :param timeout: seconds for the whole request.
        """
        url = self.base_url + path
        if params:
            url += "?" + urllib.parse.urlencode(_query_pairs(params))
        data = None if body is None else json.dumps(body).encode()
        headers = dict(self.headers)
        if data is not None:
            headers["Content-Type"] = "application/json"
        req = urllib.request.Request(url, data=data, method=method.upper(), headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return resp.status, _parse_json(resp.read())
        except urllib.error.HTTPError as err:
            return err.code, _parse_json(err.read())

    def get_json(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        """GET ``path`` and return the JSON body; any non-2xx status raises.

        :param path: path below :attr:`base_url`, starting with ``/``.
        :param params: query parameters.
        """
        status, payload = self.request("GET", path, params=params)
        if not 200 <= status < 300:
            raise LocalRestApiError(f"GET {path} returned HTTP {status}: {json.dumps(payload)[:500]}")
        return payload

    def stop(self) -> None:
        """Stop the server process (and wait for it)."""
        if self._stopped:
            return
        self._stopped = True
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)

    def __enter__(self) -> LocalRestApi:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _query_pairs(params: Mapping[str, Any]) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for key, value in params.items():
        values = value if isinstance(value, (list, tuple)) else [value]
        for item in values:
            if isinstance(item, bool):
                item = "true" if item else "false"
            pairs.append((str(key), str(item)))
    return pairs


def _parse_json(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return {"detail": raw.decode("utf-8", "replace")[:2000]}


def start_local_rest_api(
    home: AirflowHome,
    *,
    extra_env: Mapping[str, str] | None = None,
    timeout: float = _START_TIMEOUT,
    with_execution_api: bool = False,
) -> LocalRestApi:
    """Start the real REST API of ``home`` on 127.0.0.1 and wait until it answers.

    :param home: the local Airflow home (its metadata DB must be migrated).
    :param extra_env: more environment variables for the server process.
    :param timeout: seconds to wait for the server to answer.
    :param with_execution_api: Airflow 3 only: also serve the Task Execution API under
        ``/execution/`` (what a local scheduler's tasks talk to; see :attr:`LocalRestApi.root_url`),
        warmed up by one request before this returns
    """
    major = _airflow_major()
    password = secrets.token_urlsafe(18)
    env = home.full_env(extra_env)
    env.update(
        {
            "_MWAA_EXTRAS_REST_USER": USERNAME,
            "_MWAA_EXTRAS_REST_PASSWORD": password,
            "PYTHONUNBUFFERED": "1",
            "_MWAA_EXTRAS_REST_APPS": "core,execution" if with_execution_api else "core",
        }
    )
    if major == 2:
        env["AIRFLOW__API__AUTH_BACKENDS"] = "airflow.api.auth.backend.basic_auth"
        env["AIRFLOW__WEBSERVER__UPDATE_FAB_PERMS"] = "True"
    else:
        # A real login instead of the "everyone is admin" shortcut the other homes use, so
        # callers that forget the Authorization header fail here as they would on MWAA.
        passwords_file = home.path / "simple_auth_manager_passwords.json"
        passwords_file.write_text(json.dumps({USERNAME: password}))
        passwords_file.chmod(0o600)
        env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS"] = "False"
        env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"] = f"{USERNAME}:admin"
        env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"] = str(passwords_file)

    log_path = home.path / "logs" / f"local-rest-api-{os.getpid()}-{secrets.token_hex(3)}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "airflow_mwaa_extras.testing.local_rest_api"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=log,
            stdin=subprocess.DEVNULL,
        )
    try:
        port = _wait_for_port(process, log_path, timeout)
        root = f"http://127.0.0.1:{port}"
        if major == 2:
            token = base64.b64encode(f"{USERNAME}:{password}".encode()).decode()
            api = LocalRestApi(
                base_url=f"{root}/api/v1",
                headers={"Authorization": f"Basic {token}"},
                api_version="v1",
                process=process,
                log_path=log_path,
            )
        else:
            api = LocalRestApi(
                base_url=f"{root}/api/v2",
                headers={"Authorization": f"Bearer {_login_v3(root, password)}"},
                api_version="v2",
                process=process,
                log_path=log_path,
            )
        _wait_until_answers(api, log_path, timeout)
        if with_execution_api and major == 3:
            _warm_up_execution_api(api, log_path, timeout)
    except BaseException:
        _kill(process)
        raise
    return api


def _kill(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.kill()
        process.wait(timeout=15)


def _log_tail(log_path: Path) -> str:
    try:
        return log_path.read_text(errors="replace").strip()[-1500:]
    except OSError:
        return ""


def _wait_for_port(process: subprocess.Popen[bytes], log_path: Path, timeout: float) -> int:
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    # The child prints one line with its port once the app is built and the socket bound.
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        text = line.decode(errors="replace").strip()
        if text.startswith(_READY_PREFIX):
            return int(text[len(_READY_PREFIX) :])
    raise LocalRestApiError(
        f"the local REST API exited (code {process.poll()}) before it was ready: {_log_tail(log_path)}"
    )


def _login_v3(root: str, password: str) -> str:
    req = urllib.request.Request(
        f"{root}/auth/token",
        data=json.dumps({"username": USERNAME, "password": password}).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=120) as resp:  # generous: CI machines are busy
        token = json.loads(resp.read())["access_token"]
    return str(token)


def _wait_until_answers(api: LocalRestApi, log_path: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        if api.process.poll() is not None:
            break
        try:
            status, payload = api.request("GET", "/dags", params={"limit": 1}, timeout=60)
        except OSError as err:
            last = str(err)
        else:
            if status == 200:
                return
            last = f"HTTP {status}: {payload}"
        time.sleep(0.2)
    raise LocalRestApiError(f"the local REST API did not answer ({last}): {_log_tail(log_path)}")


def _warm_up_execution_api(api: LocalRestApi, log_path: Path, timeout: float) -> None:
    # Cadwyn (the versioning layer of the Task Execution API) builds one router per API
    # version on the first request, synchronously, in the server's only event loop: 8 to 13
    # seconds on a busy 2-core machine in our runs, during which the whole server answers
    # nothing. A task's first call (``PATCH /execution/task-instances/{id}/run``) then times
    # out on the client (``[workers] execution_api_timeout``, 5 s by default) and is retried;
    # a retry of a call the server did apply gets HTTP 409 (TaskAlreadyRunningError), the task
    # process exits, and the task instance stays "running" without a heartbeat, so the DAG run
    # does not finish. One request here pays that cost before anything depends on the server.
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        if api.process.poll() is not None:
            break
        req = urllib.request.Request(f"{api.root_url}/execution/health", method="GET")
        try:
            with urllib.request.urlopen(req, timeout=max(1.0, deadline - time.monotonic())) as resp:
                if resp.status == 200:
                    return
                last = f"HTTP {resp.status}"
        except urllib.error.HTTPError as err:
            last = f"HTTP {err.code}"
        except OSError as err:
            last = str(err)
        time.sleep(0.2)
    raise LocalRestApiError(f"the Task Execution API did not answer ({last}): {_log_tail(log_path)}")


# --- the child process ---------------------------------------------------------------------


def _exit_with_parent() -> None:  # pragma: no cover - runs in the child process
    # A parent killed without cleanup (a timeout, SIGKILL) must not leave the server running.
    import threading

    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(2)
            if os.getppid() != parent:
                os._exit(0)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _serve() -> None:  # pragma: no cover - runs in the child process
    _exit_with_parent()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    port = sock.getsockname()[1]
    if _airflow_major() == 2:
        _serve_v1(sock, port)
    else:
        _serve_v2(sock, port)


def _announce(port: int) -> None:  # pragma: no cover - runs in the child process
    sys.stdout.write(f"{_READY_PREFIX}{port}\n")
    sys.stdout.flush()
    # The parent stops reading stdout after this line; Airflow 3 logs to stdout, and a full
    # pipe would block the server, so everything from now on goes to the log file.
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())


def _serve_v1(sock: socket.socket, port: int) -> None:  # pragma: no cover - child process
    from airflow.www.app import create_app
    from werkzeug.serving import make_server

    app = create_app()  # type: ignore[no-untyped-call]
    with app.app_context():
        security = app.appbuilder.sm
        username = os.environ["_MWAA_EXTRAS_REST_USER"]
        user = security.find_user(username=username)
        if user is not None:  # a second server for this home: its password is a new one
            security.reset_password(user.id, os.environ["_MWAA_EXTRAS_REST_PASSWORD"])
        else:
            security.add_user(
                username=username,
                first_name="mwaa",
                last_name="extras",
                email=f"{username}@example.invalid",
                role=security.find_role("Admin"),
                password=os.environ["_MWAA_EXTRAS_REST_PASSWORD"],
            )
    server = make_server("127.0.0.1", port, app, threaded=True, fd=sock.fileno())
    _announce(port)
    server.serve_forever()


def _serve_v2(sock: socket.socket, port: int) -> None:  # pragma: no cover - child process
    import uvicorn
    from airflow.api_fastapi.app import create_app

    apps = os.environ.get("_MWAA_EXTRAS_REST_APPS", "core")
    app = create_app(apps=apps)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    _announce(port)
    server.run(sockets=[sock])


if __name__ == "__main__":  # pragma: no cover
    _serve()
