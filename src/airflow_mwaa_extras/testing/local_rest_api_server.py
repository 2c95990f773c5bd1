"""The child process of :mod:`~airflow_mwaa_extras.testing.local_rest_api`: builds and serves the app.

Run as ``python -m airflow_mwaa_extras.testing.local_rest_api_server`` with the home's
environment. It binds an OS-chosen port on 127.0.0.1, prints it on stdout after
:data:`READY_PREFIX`, and serves until its parent goes away.
"""

from __future__ import annotations

import os
import socket
import sys
import threading
import time

__all__ = ["READY_PREFIX", "airflow_major", "serve"]

READY_PREFIX = "MWAA_EXTRAS_REST_API_PORT="


def airflow_major() -> int:
    """2 or 3: which REST API (``/api/v1`` or ``/api/v2``) the installed Airflow serves."""
    from airflow_mwaa_extras.version_compat import AIRFLOW_V_3_0_PLUS, require_airflow

    require_airflow()
    return 3 if AIRFLOW_V_3_0_PLUS else 2


def _exit_with_parent() -> None:  # pragma: no cover - runs in the child process
    # A parent killed without cleanup (a timeout, SIGKILL) must not leave the server running.
    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(2)
            if os.getppid() != parent:
                os._exit(0)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def serve() -> None:  # pragma: no cover - runs in the child process
    _exit_with_parent()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    port = sock.getsockname()[1]
    if airflow_major() == 2:
        _serve_v1(sock, port)
    else:
        _serve_v2(sock, port)


def _announce(port: int) -> None:  # pragma: no cover - runs in the child process
    sys.stdout.write(f"{READY_PREFIX}{port}\n")
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
    serve()
