"""MWAA's ``InvokeRestApi`` for the local MWAA stand-in, forwarded to a real local REST API.

The stand-in (:mod:`airflow_mwaa_extras.testing.mwaa_standin`) hands the parsed JSON body of
``POST /restapi/{Name}`` here. The request goes to the real REST API of that environment's
local Airflow home (``/api/v1`` on Airflow 2, ``/api/v2`` on Airflow 3), started on first use
and reused, and the answer comes back in MWAA's shapes (botocore's ``mwaa`` service model):

- remote 2xx: HTTP 200 ``{"RestApiStatusCode": n, "RestApiResponse": {...}}``;
- remote 4xx: HTTP 400 ``RestApiClientException`` with the remote status and body;
- remote 5xx: HTTP 400 ``RestApiServerException`` with the remote status and body;
- a path over 64 characters or an unknown method: HTTP 400 ``ValidationException``;
- no answer within 10 seconds: ``RestApiServerException`` with status 504, and a body over
  6 MB: ``RestApiServerException`` with status 502 (what MWAA answers there is not documented;
  these are the stand-in's choice and are documented as such).
"""

from __future__ import annotations

import atexit
import json
import threading
import urllib.error
from typing import TYPE_CHECKING, Any

from airflow_mwaa_extras.testing.local_rest_api import LocalRestApi, start_local_rest_api

if TYPE_CHECKING:
    from airflow_mwaa_extras.testing.airflow_home import AirflowHome

MAX_PATH_LENGTH = 64
MAX_RESPONSE_BYTES = 6 * 1024 * 1024
REMOTE_TIMEOUT_SECONDS = 10.0
METHODS = ("GET", "PUT", "POST", "PATCH", "DELETE")

_APIS: dict[tuple[str, str], LocalRestApi] = {}
_REGISTERED: set[tuple[str, str]] = set()  # started by the caller, who also stops them
_STARTING: dict[tuple[str, str], threading.Lock] = {}
_LOCK = threading.Lock()


def _error(status: int, error_type: str, message: str, **members: Any) -> tuple[int, dict[str, Any]]:
    # botocore's rest-json parser reads the error code from "__type" and the modeled members
    # (RestApiStatusCode, RestApiResponse) from the body.
    return status, {"__type": error_type, "message": message, "Message": message, **members}


def local_rest_api_for(environment_name: str, home: AirflowHome) -> LocalRestApi:
    """The running local REST API of ``home`` (started on the first call, then reused)."""
    key = (environment_name, str(home.path))
    with _LOCK:
        api = _APIS.get(key)
        if api is not None and api.process.poll() is None:
            return api
        starting = _STARTING.setdefault(key, threading.Lock())
    with starting:  # one start per environment even when requests arrive together
        with _LOCK:
            api = _APIS.get(key)
            if api is not None and api.process.poll() is None:
                return api
        api = start_local_rest_api(home)
        with _LOCK:
            _APIS[key] = api
        return api


def register_local_rest_api(environment_name: str, home: AirflowHome, api: LocalRestApi) -> None:
    """Use an already running local REST API for ``environment_name`` (e.g. one that also
    serves the Task Execution API for a local scheduler) instead of starting one. The caller
    owns it: :func:`stop_local_rest_apis` (and a stand-in's ``stop``) forget it, never stop it."""
    with _LOCK:
        _APIS[(environment_name, str(home.path))] = api
        _REGISTERED.add((environment_name, str(home.path)))


def stop_local_rest_apis(environment_name: str | None = None) -> None:
    """Stop the local REST APIs started here (of one environment, or all); forget registered ones."""
    with _LOCK:
        keys = [key for key in _APIS if environment_name is None or key[0] == environment_name]
        apis = [api for key in keys if (api := _APIS.pop(key)) and key not in _REGISTERED]
        _REGISTERED.difference_update(keys)
    for api in apis:
        api.stop()


atexit.register(stop_local_rest_apis)


def handle_invoke_rest_api(
    environment_name: str, home: AirflowHome, request: dict[str, Any]
) -> tuple[int, dict[str, Any]]:
    """Answer one InvokeRestApi call as MWAA would: ``(HTTP status, JSON body)``.

    :param environment_name: the ``{Name}`` of ``POST /restapi/{Name}``
    :param home: that environment's local Airflow home
    :param request: the parsed JSON body (``Path``, ``Method``, ``QueryParameters``, ``Body``)
    """
    path = request.get("Path")
    method = str(request.get("Method") or "").upper()
    if not isinstance(path, str) or not 1 <= len(path) <= MAX_PATH_LENGTH:
        return _error(
            400,
            "ValidationException",
            f"1 validation error detected: Value at 'path' failed to satisfy constraint: "
            f"Member must have length less than or equal to {MAX_PATH_LENGTH}",
        )
    if method not in METHODS:
        return _error(
            400,
            "ValidationException",
            f"1 validation error detected: Value at 'method' failed to satisfy constraint: "
            f"Member must satisfy enum value set: [{', '.join(METHODS)}]",
        )
    query = request.get("QueryParameters") or None
    body = request.get("Body")
    if query is not None and not isinstance(query, dict):
        return _error(400, "ValidationException", "QueryParameters must be a JSON object")
    if not path.startswith("/"):
        path = "/" + path
    api = local_rest_api_for(environment_name, home)
    try:
        status, payload, size = _forward(api, method, path, query, body)
    except TimeoutError:
        return _error(
            400,
            "RestApiServerException",
            "The Apache Airflow REST API did not respond in time",
            RestApiStatusCode=504,
            RestApiResponse={"title": "Gateway Timeout", "status": 504},
        )
    except (urllib.error.URLError, OSError) as err:
        return _error(500, "InternalServerException", f"cannot reach the Apache Airflow web server: {err}")
    if size > MAX_RESPONSE_BYTES:
        return _error(
            400,
            "RestApiServerException",
            f"The Apache Airflow REST API response exceeds {MAX_RESPONSE_BYTES} bytes",
            RestApiStatusCode=502,
            RestApiResponse={"title": "Response too large", "status": 502, "size": size},
        )
    if 200 <= status < 300:
        return 200, {"RestApiStatusCode": status, "RestApiResponse": payload if payload is not None else {}}
    error_type = "RestApiClientException" if status < 500 else "RestApiServerException"
    return _error(
        400,
        error_type,
        f"The Apache Airflow REST API returned HTTP {status}",
        RestApiStatusCode=status,
        RestApiResponse=payload if isinstance(payload, dict) else {"detail": payload},
    )


def _forward(
    api: LocalRestApi, method: str, path: str, query: dict[str, Any] | None, body: Any
) -> tuple[int, Any, int]:
    status, payload = api.request(method, path, params=query, body=body, timeout=REMOTE_TIMEOUT_SECONDS)
    size = len(json.dumps(payload, ensure_ascii=False).encode()) if payload is not None else 0
    return status, payload, size
