"""Connection secrets built from their parts, and checked by Airflow's own parser before use.

MWAA's guide builds connection URIs with ``str.format`` and encodes only the role ARN, so a
password holding ``/``, ``+`` or ``@`` yields a URI that Airflow reads back wrong. Here the URI
is written by Airflow's own ``Connection.get_uri`` (every component percent-encoded), and every
secret string (URI or JSON) is parsed back with Airflow's ``Connection`` class (and, on Airflow
3, the Task SDK's, which workers use) and compared field by field with the parts it was built
from. A mismatch names the connection and the field, never the value.

Empty and missing values count as the same (``None`` == ``""``, an empty extra == no extra):
Airflow's URI form cannot tell them apart, and hooks treat both as "not set".

About 370 lines: building, parsing back and checking user-given URI text share
:class:`ConnectionParts` and Airflow's parsers; apart, each half would import the other.
"""

from __future__ import annotations

import importlib
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

from airflow_mwaa_extras.exceptions import UsageError

__all__ = [
    "FORMATS",
    "JSON_KEYS",
    "MAX_SECRET_BYTES",
    "ConnectionParts",
    "ConnectionSecretError",
    "build_json",
    "build_secret",
    "build_uri",
    "check_round_trip",
    "check_uri_text",
    "connection_parts",
    "differing_fields",
    "parse_extra",
    "parse_port",
    "parse_secret",
    "parts_from_secret_text",
    "parts_from_uri",
]

FORMATS = ("json", "uri")
# The keys the amazon provider's SecretsManagerBackend keeps from a JSON secret (others, such
# as "description", are dropped by its key standardisation).
JSON_KEYS = ("conn_type", "host", "login", "password", "schema", "port", "extra")
# Secrets Manager accepts at most 65,536 bytes in SecretString.
MAX_SECRET_BYTES = 65536
_SCHEME = re.compile(r"[a-z][a-z0-9+.-]*\Z")
_QUOTES = ("'", '"')


class ConnectionSecretError(UsageError):
    """A connection cannot be stored as a secret that Airflow reads back unchanged."""


@dataclass(frozen=True)
class ConnectionParts:
    """The fields of an Airflow connection. ``repr`` never shows the password or extra values.

    :param conn_id: the connection id.
    :param conn_type: the connection type, e.g. ``postgres``.
    :param host: host name, optionally with a protocol (``https://example.com``).
    :param login: user name.
    :param password: password.
    :param schema: schema or database.
    :param port: TCP port.
    :param extra: the extra field as a JSON object (a dict).
    :param description: free text; the Secrets Manager backend does not return it.
    """

    conn_id: str
    conn_type: str
    host: str | None = None
    login: str | None = None
    password: str | None = field(default=None, repr=False)
    schema: str | None = None
    port: int | None = None
    extra: dict[str, Any] | None = field(default=None, repr=False)
    description: str | None = None

    def effective(self) -> dict[str, Any]:
        """The fields as Airflow uses them: empty strings and an empty extra count as unset."""
        return {
            "conn_type": self.conn_type,
            "host": self.host or None,
            "login": self.login or None,
            "password": self.password or None,
            "schema": self.schema or None,
            "port": self.port,
            "extra": self.extra or None,
        }


def _optional_str(conn_id: str, name: str, value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise ConnectionSecretError(
        f"connection {conn_id!r}: {name} must be a string, not {type(value).__name__}"
    )


def parse_extra(conn_id: str, extra: Any) -> dict[str, Any] | None:
    """``extra`` as a dict: accepts a dict, a JSON object string, ``None`` or ``""``."""
    if extra is None or extra == "":
        return None
    if isinstance(extra, str):
        try:
            extra = json.loads(extra)
        except json.JSONDecodeError:
            raise ConnectionSecretError(f"connection {conn_id!r}: extra is not valid JSON") from None
    if not isinstance(extra, dict):
        raise ConnectionSecretError(
            f"connection {conn_id!r}: extra must be a JSON object (Airflow 3 accepts nothing else)"
        )
    return extra


def parse_port(conn_id: str, port: Any) -> int | None:
    if port is None or port == "":
        return None
    if isinstance(port, bool) or not isinstance(port, int | str):
        raise ConnectionSecretError(f"connection {conn_id!r}: port must be an integer")
    try:
        number = int(port)
    except ValueError:
        raise ConnectionSecretError(f"connection {conn_id!r}: port must be an integer") from None
    if not 0 < number < 65536:
        raise ConnectionSecretError(f"connection {conn_id!r}: port {number} is outside 1-65535")
    return number


def connection_parts(conn_id: str, values: Mapping[str, Any]) -> ConnectionParts:
    """Connection parts from a mapping shaped like ``airflow connections export`` writes."""
    if not isinstance(values, Mapping):
        raise ConnectionSecretError(f"connection {conn_id!r}: expected a mapping of fields")
    unknown = set(values) - {*JSON_KEYS, "description", "conn_id"}
    if unknown:
        raise ConnectionSecretError(f"connection {conn_id!r}: unknown field(s) {', '.join(sorted(unknown))}")
    conn_type = values.get("conn_type")
    if not conn_type or not isinstance(conn_type, str):
        raise ConnectionSecretError(f"connection {conn_id!r}: conn_type is missing")
    return ConnectionParts(
        conn_id=conn_id,
        conn_type=conn_type,
        host=_optional_str(conn_id, "host", values.get("host")),
        login=_optional_str(conn_id, "login", values.get("login")),
        password=_optional_str(conn_id, "password", values.get("password")),
        schema=_optional_str(conn_id, "schema", values.get("schema")),
        port=parse_port(conn_id, values.get("port")),
        extra=parse_extra(conn_id, values.get("extra")),
        description=_optional_str(conn_id, "description", values.get("description")),
    )


# --- building ------------------------------------------------------------------------------


def build_uri(parts: ConnectionParts) -> str:
    """An Airflow connection URI, written by Airflow's own ``Connection.get_uri``.

    One rule is added on top: an extra whose values Airflow 3's core parser would read back
    differently goes into the query as JSON under ``__extra__`` (see :func:`_extra_as_json`);
    ``get_uri`` flattens every all-string extra into the query string.
    """
    (core, *_) = _connection_classes()
    as_json = bool(parts.extra) and _extra_as_json(parts.extra or {})
    fields = {name: getattr(parts, name) for name in ("conn_id", *JSON_KEYS) if name != "extra"}
    conn = core(**fields, extra=None if as_json or not parts.extra else json.dumps(parts.extra))
    uri = _get_uri_quietly(conn)
    if as_json:
        uri += ("?" if parts.schema else "/?") + urlencode({"__extra__": json.dumps(parts.extra)})
    return uri


def _get_uri_quietly(conn: Any) -> str:
    log = getattr(conn, "log", None)
    if not isinstance(log, logging.Logger):
        return str(conn.get_uri())
    log.addFilter(_without_scheme_warning)
    try:
        return str(conn.get_uri())
    finally:
        log.removeFilter(_without_scheme_warning)


def _without_scheme_warning(record: logging.LogRecord) -> bool:
    # get_uri warns for every type with "_" (google_cloud_platform); it writes "-", which Airflow
    # reads back as "_", and the round-trip check proves it: the warning would only alarm users.
    return "shall not contain '_'" not in record.getMessage()


def _extra_as_json(extra: Mapping[str, Any]) -> bool:
    # Airflow 3's core parser JSON-decodes every query value it can ("5" -> 5, '{"a": 1}' ->
    # a dict) while the Task SDK's does not: such values only survive inside __extra__. A key
    # named __extra__ would be read as the whole extra.
    return "__extra__" in extra or not all(isinstance(k, str) and _plain_string(v) for k, v in extra.items())


def _plain_string(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        json.loads(value)
    except ValueError:
        return True
    return False


def build_json(parts: ConnectionParts) -> str:
    """A JSON connection secret with only the keys the Secrets Manager backend reads."""
    document: dict[str, Any] = {"conn_type": parts.conn_type}
    for name in ("host", "login", "password", "schema", "port"):
        value = getattr(parts, name)
        if value is not None:
            document[name] = value
    if parts.extra:
        document["extra"] = parts.extra
    return json.dumps(document, ensure_ascii=False, sort_keys=False)


def build_secret(parts: ConnectionParts, fmt: str = "json") -> str:
    """The secret string for ``parts`` in ``fmt`` (``json`` or ``uri``), checked by Airflow."""
    if fmt == "json":
        secret = build_json(parts)
    elif fmt == "uri":
        secret = build_uri(parts)
    else:
        raise UsageError(f"unknown connection secret format {fmt!r}; choose one of {', '.join(FORMATS)}")
    check_round_trip(parts, secret, fmt)
    return secret


# --- checking with Airflow ------------------------------------------------------------------


def _connection_classes() -> list[Any]:
    """Airflow's connection classes: the core model, and from Airflow 3.1 the Task SDK's too.

    Airflow 3.0's secrets backends (workers included) still deserialize with the core model;
    its Task SDK class cannot parse a secret at all (no ``from_json``/``from_uri``).
    """
    from airflow_mwaa_extras.version_compat import AIRFLOW_V_3_1_PLUS, require_airflow

    require_airflow()
    classes = [importlib.import_module("airflow.models.connection").Connection]
    if AIRFLOW_V_3_1_PLUS:
        classes.append(importlib.import_module("airflow.sdk.definitions.connection").Connection)
    return classes


def _parse_with(conn_class: Any, conn_id: str, secret: str) -> Any:
    # The same dispatch as Airflow's BaseSecretsBackend.deserialize_connection.
    value = secret.strip()
    if value.startswith("{"):
        return conn_class.from_json(value=value, conn_id=conn_id)
    if hasattr(conn_class, "from_uri"):
        return conn_class.from_uri(uri=value, conn_id=conn_id)
    return conn_class(conn_id=conn_id, uri=value)


def parse_secret(conn_id: str, secret: str) -> list[ConnectionParts]:
    """Parse a connection secret with every Airflow connection class installed.

    :raises ConnectionSecretError: when Airflow cannot parse it (the message omits the value).
    """
    results = []
    for conn_class in _connection_classes():
        try:
            conn = _parse_with(conn_class, conn_id, secret)
            extra = parse_extra(conn_id, conn.extra)
        except ConnectionSecretError:
            raise
        except Exception as err:  # Airflow raises ValueError, AirflowException, JSONDecodeError...
            raise ConnectionSecretError(
                f"connection {conn_id!r}: Airflow cannot parse the secret ({type(err).__name__})"
            ) from None
        results.append(
            ConnectionParts(
                conn_id=conn_id,
                extra=extra,
                **{name: getattr(conn, name) for name in JSON_KEYS if name != "extra"},
            )
        )
    return results


def differing_fields(expected: ConnectionParts, actual: ConnectionParts) -> list[str]:
    """Names of the fields whose effective values differ (values are never returned)."""
    want, got = expected.effective(), actual.effective()
    return [name for name in want if want[name] != got[name]]


def check_round_trip(parts: ConnectionParts, secret: str, fmt: str = "json") -> None:
    """Raise unless Airflow reads ``secret`` back as ``parts``; check the size limit too."""
    if len(secret.encode()) > MAX_SECRET_BYTES:
        raise ConnectionSecretError(
            f"connection {parts.conn_id!r}: the secret exceeds Secrets Manager's {MAX_SECRET_BYTES} bytes"
        )
    for parsed in parse_secret(parts.conn_id, secret):
        changed = differing_fields(parts, parsed)
        if changed:
            hint = " (store it with --format json)" if fmt == "uri" else ""
            raise ConnectionSecretError(
                f"connection {parts.conn_id!r}: Airflow would read back a different "
                f"{', '.join(changed)}{hint}"
            )


def check_uri_text(conn_id: str, uri: str) -> None:
    """Reject URI strings that Airflow would silently misread.

    MWAA's guide warns that a secret stored with quotes is read as one string; a raw space or
    a second ``@`` means a component was not encoded.
    """
    if not uri:
        raise ConnectionSecretError(f"connection {conn_id!r}: the URI is empty")
    if uri[0] in _QUOTES or uri[-1] in _QUOTES:
        raise ConnectionSecretError(
            f"connection {conn_id!r}: the URI is wrapped in quotes; store it without them"
        )
    if uri != uri.strip() or any(ch.isspace() or ord(ch) < 32 for ch in uri):
        raise ConnectionSecretError(
            f"connection {conn_id!r}: the URI contains whitespace or control characters; "
            "percent-encode them (%20)"
        )
    scheme, sep, rest = uri.partition("://")
    if not sep or not _SCHEME.match(scheme):
        raise ConnectionSecretError(
            f"connection {conn_id!r}: the URI must start with '<conn-type>://' (lower-case letters, digits, -)"
        )
    netloc = urlsplit("//" + rest.split("://", 1)[-1]).netloc
    if netloc.count("@") > 1:
        raise ConnectionSecretError(
            f"connection {conn_id!r}: the URI has more than one '@' before the host; "
            "percent-encode '@' in the login or password (%40)"
        )


def parts_from_uri(conn_id: str, uri: str) -> ConnectionParts:
    """Parse a URI (e.g. from an ``.env`` export) with Airflow, after :func:`check_uri_text`.

    On Airflow 3 the Task SDK's reading wins: the core parser JSON-decodes query values, so it
    would turn an extra that held a JSON *string* into an object.
    """
    check_uri_text(conn_id, uri)
    return parse_secret(conn_id, uri)[-1]


def parts_from_secret_text(conn_id: str, text: str) -> ConnectionParts:
    """A connection from a URI or a JSON document, as found in an export file."""
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            values = json.loads(stripped)
        except json.JSONDecodeError:
            raise ConnectionSecretError(f"connection {conn_id!r}: the JSON is not valid") from None
        return connection_parts(conn_id, values)
    return parts_from_uri(conn_id, text)
