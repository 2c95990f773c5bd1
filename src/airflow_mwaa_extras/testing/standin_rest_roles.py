"""Who may call InvokeRestApi on the MWAA stand-in, and how often.

Real MWAA maps the caller's IAM grant ``airflow:InvokeRestApi`` on
``arn:aws:airflow:REGION:ACCOUNT:role/ENV/{Admin|Op|User|Viewer|Public}`` to an Airflow role
(AWS "Using the Apache Airflow REST API" page). Here an access key plays the IAM identity:

- no role: ``AccessDeniedException`` "No Airflow role granted in IAM";
- ``Viewer`` may only read, ``Public`` may do nothing: a 403 from Airflow inside
  ``RestApiClientException``; ``User`` may not write variables, connections or pools;
- about 10 calls a second per environment: ``ThrottlingException`` (HTTP 429) beyond that.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Mapping
from typing import Any

ROLES = ("Admin", "Op", "User", "Viewer", "Public")
_ADMIN_ONLY_FOR_USER = ("/variables", "/connections", "/pools")


def _forbidden(detail: str) -> tuple[int, dict[str, Any]]:
    message = "The Apache Airflow REST API returned HTTP 403"
    return 400, {
        "__type": "RestApiClientException",
        "message": message,
        "Message": message,
        "RestApiStatusCode": 403,
        "RestApiResponse": {"title": "Forbidden", "status": 403, "detail": detail},
    }


class RestApiGate:
    """The role and rate checks in front of the stand-in's InvokeRestApi.

    :param roles: access key -> Airflow role (None: the key has no InvokeRestApi grant)
    :param default_role: the role of a key not in ``roles``
    :param rate: calls a second per environment before ``ThrottlingException``
    """

    def __init__(self, roles: Mapping[str, str | None], default_role: str | None, rate: float) -> None:
        for role in (*roles.values(), default_role):
            if role is not None and role not in ROLES:
                raise ValueError(f"unknown Airflow role {role!r}; one of {', '.join(ROLES)}")
        self.roles = dict(roles)
        self.default_role = default_role
        self.rate = rate
        self._calls: dict[str, collections.deque[float]] = collections.defaultdict(collections.deque)
        self._lock = threading.Lock()

    def _throttled(self, environment: str) -> bool:
        if self.rate <= 0:
            return False
        now = time.monotonic()
        with self._lock:
            calls = self._calls[environment]
            while calls and now - calls[0] >= 1.0:
                calls.popleft()
            if len(calls) >= self.rate:
                return True
            calls.append(now)
            return False

    def check(
        self, environment: str, access_key: str, request: Mapping[str, Any]
    ) -> tuple[int, dict[str, Any]] | None:
        """The refusal to answer, or None when the call may go to Airflow."""
        role = self.roles.get(access_key, self.default_role)
        if role is None:
            message = f"No Airflow role granted in IAM for environment {environment}"
            return 403, {"__type": "AccessDeniedException", "message": message, "Message": message}
        if self._throttled(environment):
            message = "Rate exceeded"
            return 429, {"__type": "ThrottlingException", "message": message, "Message": message}
        method = str(request.get("Method") or "").upper()
        path = str(request.get("Path") or "")
        if role == "Public":
            return _forbidden("The Public role has no permission on this resource")
        if role == "Viewer" and method != "GET":
            return _forbidden(f"The Viewer role may not {method} {path}")
        if role == "User" and method != "GET" and path.startswith(_ADMIN_ONLY_FOR_USER):
            return _forbidden(f"The User role may not {method} {path}")
        return None
