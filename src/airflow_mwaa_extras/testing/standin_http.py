"""The MWAA stand-in's HTTP face: one request handler class per stand-in, routing the MWAA API
(``CreateCliToken``, ``GetEnvironment``, ``InvokeRestApi``...), ``POST /aws_mwaa/cli`` and the
login page to :class:`~airflow_mwaa_extras.testing.mwaa_standin.MwaaStandin`, which holds the
state (tokens, slots, throttling, faults). Answers are shaped as MWAA's are.
"""

from __future__ import annotations

import io
import json
import re
import socket
import struct
import time
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from airflow_mwaa_extras.testing import standin_rest_api

if TYPE_CHECKING:
    from collections.abc import Mapping

    from airflow_mwaa_extras.testing.mwaa_standin import MwaaStandin, _Environment

__all__ = ["ACCOUNT", "handler_for"]

ACCOUNT = "123456789012"  # the stand-in's AWS account, in every ARN it prints

_AUTH_KEY = re.compile(r"Credential=([^/,\s]+)/")

_LOGIN_PAGE = (
    b"<!doctype html><title>MWAA stand-in</title><p>MWAA stand-in: the login token is read from the "
    b"URL fragment by the browser; there is no Airflow UI behind this page.</p>"
)


def handler_for(standin: MwaaStandin) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read stats instead
            return

        # -- responses --
        def _send(
            self, status: int, body: bytes, content_type: str = "application/json", **headers: str
        ) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for key, value in headers.items():
                self.send_header(key.replace("_", "-"), value)
            self.end_headers()
            try:
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # the client gave up waiting (e.g. a delay fault)

        def _json(self, status: int, payload: Mapping[str, Any]) -> None:
            self._send(status, json.dumps(payload).encode())

        def _api_error(self, status: int, code: str, message: str) -> None:
            body = json.dumps({"message": message, "Message": message}).encode()
            self._send(status, body, x_amzn_ErrorType=code)

        def _body(self) -> bytes:
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def _environment(self, quoted: str) -> _Environment | None:
            env = standin.environments.get(unquote(quoted))
            if env is None:
                self._api_error(404, "ResourceNotFoundException", f"Environment {unquote(quoted)} not found")
            return env

        def _denied(self, action: str) -> bool:
            match = _AUTH_KEY.search(self.headers.get("Authorization", ""))
            if match and match.group(1) in standin.denied_access_keys:
                self._api_error(
                    403, "AccessDeniedException", f"User is not authorized to perform: airflow:{action}"
                )
                return True
            return False

        # -- routes --
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/environments":
                if not self._denied("ListEnvironments"):
                    self._json(200, {"Environments": sorted(standin.environments)})
            elif match := re.fullmatch(r"/environments/([^/]+)", path):
                if not self._denied("GetEnvironment") and (env := self._environment(match.group(1))):
                    self._json(200, {"Environment": standin.describe(env)})
            elif path == standin.login_path:
                self._send(200, _LOGIN_PAGE, "text/html; charset=utf-8")
            else:
                self._api_error(404, "UnknownOperationException", f"no route for GET {path}")

        def do_POST(self) -> None:
            path = self.path.split("?", 1)[0]
            body = self._body()
            if path == "/aws_mwaa/cli":
                self._cli(body)
            elif match := re.fullmatch(r"/(clitoken|webtoken)/([^/]+)", path):
                kind = "cli" if match.group(1) == "clitoken" else "web"
                action = "CreateCliToken" if kind == "cli" else "CreateWebLoginToken"
                if self._denied(action) or not (env := self._environment(match.group(2))):
                    return
                if kind == "cli":
                    standin.count(token_calls=1)
                    self._json(
                        200,
                        {"CliToken": standin.new_token("cli", env.name), "WebServerHostname": standin.host},
                    )
                else:
                    self._json(
                        200,
                        {
                            "WebToken": standin.new_token("web", env.name),
                            "WebServerHostname": standin.host,
                            "IamIdentity": f"arn:aws:iam::{ACCOUNT}:user/standin",
                            "AirflowIdentity": "user/standin",
                        },
                    )
            elif match := re.fullmatch(r"/restapi/([^/]+)", path):
                if not self._denied("InvokeRestApi") and (env := self._environment(match.group(1))):
                    standin.count(rest_api_calls=1)
                    key = _AUTH_KEY.search(self.headers.get("Authorization", ""))
                    request = json.loads(body or b"{}")
                    refusal = standin.rest_gate.check(env.name, key.group(1) if key else "", request)
                    if refusal is not None:
                        if refusal[1].get("__type") == "ThrottlingException":
                            standin.count(rest_api_throttled=1)
                        self._json(*refusal)
                        return
                    self._invoke_rest_api(env, request)
            else:
                self._api_error(404, "UnknownOperationException", f"no route for POST {path}")

        def _invoke_rest_api(self, env: _Environment, request: dict[str, Any]) -> None:
            # Faults for InvokeRestApi are armed per "InvokeRestApi METHOD" (e.g. "InvokeRestApi POST").
            fault = standin.faults.take(env.name, f"InvokeRestApi {str(request.get('Method') or '').upper()}")
            if fault is not None and fault.before and fault.status:
                self._api_error(
                    500, "InternalServerException", "injected fault before the call reached Airflow"
                )
                return
            status, payload = standin_rest_api.handle_invoke_rest_api(env.name, env.home, request)
            answer = str(payload.get("RestApiStatusCode") or status)
            if fault is not None:
                answer = f"{answer}, then {fault.label()}"
            with standin._rest_api_log_lock:
                standin.rest_api_log.append(
                    (str(request.get("Method")), str(request.get("Path")), answer, request.get("Body"))
                )
            if fault is not None:
                if fault.delay:
                    time.sleep(fault.delay)
                if fault.reset:
                    self._reset()
                    return
                if fault.status:
                    status, payload = (
                        400,
                        {
                            "__type": "RestApiServerException",
                            "message": "injected fault after the call ran",
                            "RestApiStatusCode": fault.status,
                            "RestApiResponse": {"title": "injected", "status": fault.status},
                        },
                    )
            self._json(status, payload)

        def _cli(self, body: bytes) -> None:
            standin.count(cli_requests=1)
            auth = self.headers.get("Authorization", "")
            token = auth[len("Bearer ") :] if auth.startswith("Bearer ") else ""
            name, why = standin.check_token("cli", token)
            if name is None:
                standin.count(**{"cli_expired_token" if why == "expired" else "cli_bad_token": 1})
                self._send(401, f"Unauthorized: {why} token".encode(), "text/plain")
                return
            try:
                line = body.decode("utf-8")
            except UnicodeDecodeError:
                self._send(400, b"Bad Request: the command is not UTF-8", "text/plain")
                return
            status, payload = standin.run_cli(standin.environments[name], line)
            if status == 0:
                self._reset()
                return
            self._send(status, payload, "application/json" if status in (200, 400) else "text/plain")

        def _reset(self) -> None:
            # SO_LINGER 0: close() sends a TCP reset, as a dropped proxy connection does.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
            self.wfile = io.BytesIO()  # nothing left to flush to

    return Handler
