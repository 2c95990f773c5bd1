"""Set one Airflow variable over InvokeRestApi, safe to resend (what ``variables import`` sends).

The Airflow REST API's variables endpoint (``/api/v1`` on Airflow 2, ``/api/v2`` on Airflow 3;
MWAA adds the prefix) differs between the two:

- ``POST /variables`` creates; Airflow 2 stores the value even when the key exists (it calls
  ``Variable.set``), Airflow 3 answers 409 when it exists;
- ``PATCH /variables/{key}`` changes an existing key (404 when there is none).

So a key is one ``POST`` when it is new (the common case of an import: one request per key), and
a ``PATCH`` follows a 409. Retry safety (see ``docs/mwaa-client.md``, "Retries"):

- throttled calls never reached Airflow: :class:`~airflow_mwaa_extras.mwaa.rest_api.MwaaRestApiClient`
  backs off and resends them;
- a ``PATCH`` to a given value is idempotent: resent after a lost answer (5xx, reset, timeout);
- a ``POST`` whose answer was lost may have run: a lookup (``GET /variables/{key}``) follows;
  the key there with our value is done, there with another value gets a ``PATCH``, absent gets
  the ``POST`` again.

A key whose path would pass MWAA's 64 characters cannot be patched or looked up over
InvokeRestApi: :class:`~airflow_mwaa_extras.mwaa.rest_api.RestApiPathError` says so, and the
caller may send that key over the CLI endpoint. No Airflow import.
"""

from __future__ import annotations

from urllib.parse import quote

from airflow_mwaa_extras.mwaa.errors import MwaaCommandMayHaveRunError, MwaaError
from airflow_mwaa_extras.mwaa.rest_api import (
    MwaaRestApiClient,
    RestApiConflictError,
    RestApiNotFoundError,
    check_path,
)

#: rounds of POST / lookup / PATCH for one key before giving up (each round is a lost answer)
MAX_ROUNDS = 4


def variable_path(key: str) -> str:
    """``/variables/{key}``, checked against MWAA's 64 characters (raises ``RestApiPathError``)."""
    return check_path(f"/variables/{quote(key, safe='')}", "PATCH")[0]


class RestVariableSetter:
    """``set(key, value_text)`` over InvokeRestApi, for one environment.

    :param rest: the InvokeRestApi client (its pacing and throttling retries apply)
    """

    def __init__(self, rest: MwaaRestApiClient) -> None:
        self.rest = rest

    def set(self, key: str, value: str) -> None:
        """Store ``value`` (text) under ``key``; returns once the remote holds it.

        :raises RestApiPathError: the key is too long for a lookup or PATCH path
        :raises MwaaCommandMayHaveRunError: every round lost its answer
        :raises RestApiError: the remote refused (e.g. 400 for an invalid key, 403 for the role)
        """
        body = {"key": key, "value": value}
        known = False  # whether the key exists remotely (after a 409 or a lookup)
        lost: MwaaCommandMayHaveRunError | None = None
        for _ in range(MAX_ROUNDS):
            try:
                if known:
                    self.rest.invoke("PATCH", variable_path(key), body=body)
                    return
                self.rest.invoke("POST", "/variables", body=body)
                return
            except RestApiConflictError:
                known = True  # Airflow 3: it exists; PATCH it
            except RestApiNotFoundError:
                if not known:
                    raise
                known = False  # deleted meanwhile: create it
            except MwaaCommandMayHaveRunError as err:
                lost = err
                if known:
                    continue  # a PATCH to this value: resending is harmless
                state = self._lookup(key, value)
                if state == "same":
                    return
                known = state == "other"
        assert lost is not None
        raise lost

    def _lookup(self, key: str, value: str) -> str:
        """``same``, ``other`` (a different or redacted value) or ``absent``."""
        try:
            found = self.rest.get(variable_path(key))
        except RestApiNotFoundError:
            return "absent"
        if not isinstance(found, dict):
            raise MwaaError(
                f"GET /variables/... in {self.rest.environment_name} answered {type(found).__name__}"
            )
        return "same" if found.get("value") == value else "other"
