"""moto's server on 127.0.0.1, and the environment that points boto3 and Airflow at it."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from airflow_mwaa_extras.exceptions import MwaaExtrasError

REGION = "us-east-1"

# Where boto3 goes when nothing else was configured: a closed loopback port, so a test or demo
# step that forgets to start the local AWS fails fast instead of reaching real AWS.
CLOSED_ENDPOINT = "http://127.0.0.1:9"


def fake_credentials_env(endpoint_url: str = CLOSED_ENDPOINT, region: str = REGION) -> dict[str, str]:
    """Credentials and endpoint variables that keep boto3 and Airflow on the loopback interface."""
    return {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": region,
        "AWS_REGION": region,
        # botocore >= 1.31 sends every client here unless a service-specific
        # AWS_ENDPOINT_URL_<SERVICE> says otherwise (the MWAA stand-in uses AWS_ENDPOINT_URL_MWAA).
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AIRFLOW_CONN_AWS_DEFAULT": json.dumps(
            {"conn_type": "aws", "extra": {"region_name": region, "endpoint_url": endpoint_url}}
        ),
    }


@dataclass
class LocalAws:
    """A running moto server; ``env`` holds the variables that point clients at it."""

    endpoint_url: str
    env: dict[str, str]
    _server: Any

    def client(self, service: str) -> Any:
        import boto3

        # boto3-stubs (in MWAA's image) overloads client() on literal service names only.
        return boto3.client(  # type: ignore[call-overload]
            service,
            endpoint_url=self.endpoint_url,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def reset(self) -> None:
        """Forget every resource (buckets, metrics, secrets) created so far."""
        import urllib.request

        req = urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", method="POST")
        with urllib.request.urlopen(req, timeout=10) as resp:
            resp.read()

    def stop(self) -> None:
        self._server.stop()


def _quiet_moto_server(port: int) -> Any:
    """moto's threaded server, minus werkzeug's line per HTTP request (``127.0.0.1 - - [...]
    "POST / ..."``), which otherwise lands between a demo's or a test's own lines."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    from moto.server import ThreadedMotoServer
    from werkzeug.serving import WSGIRequestHandler, make_server

    class QuietHandler(WSGIRequestHandler):
        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            pass  # errors still go through log_error

    class QuietMotoServer(ThreadedMotoServer):
        def _server_entry(self) -> None:  # moto's own, with the quiet handler
            app = DomainDispatcherApplication(create_backend_app)
            self._server = make_server(self._ip_address, self._port, app, True, request_handler=QuietHandler)
            self._server_ready_event.set()
            self._server.serve_forever()

    return QuietMotoServer(ip_address="127.0.0.1", port=port, verbose=False)


def start_local_aws(port: int = 0, *, verbose: bool = False) -> LocalAws:
    """Start moto's server in a thread on 127.0.0.1 (a free port unless one is given).

    :param port: the port, 0 for any free one
    :param verbose: log a line per HTTP request (werkzeug's request log)
    """
    try:
        from moto.server import ThreadedMotoServer
    except ImportError as err:
        raise MwaaExtrasError(
            "moto's server is needed for the local AWS stand-in: pip install 'airflow-mwaa-extras[demo]'"
        ) from err
    if verbose:
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    else:
        server = _quiet_moto_server(port)
    server.start()
    wsgi = server._server  # moto 5.0 has no public accessor for the port the OS picked
    if wsgi is None:
        raise MwaaExtrasError("moto's server did not start")
    bound = int(wsgi.server_address[1])
    endpoint = f"http://127.0.0.1:{bound}"
    return LocalAws(endpoint_url=endpoint, env=fake_credentials_env(endpoint), _server=server)


@contextmanager
def patched_environ(values: Mapping[str, str]) -> Iterator[None]:
    """Set environment variables for the duration of the block, then restore them."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


@contextmanager
def local_aws(*, verbose: bool = False) -> Iterator[LocalAws]:
    """moto's server for the duration of the block, with ``os.environ`` pointing at it.

    :param verbose: log a line per HTTP request
    """
    aws = start_local_aws(verbose=verbose)
    try:
        with patched_environ(aws.env):
            yield aws
    finally:
        aws.stop()
