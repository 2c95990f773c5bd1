"""The MWAA configuration options for the amazon provider's ``SecretsManagerBackend``.

Builds ``secrets.backend`` and ``secrets.backend_kwargs``, checks that lookup patterns compile
and that the amazon provider in the target environment understands them (7.3.0 and newer), and
tells which connection ids and variable keys a pattern sends to Secrets Manager. The backend
matches with ``re.match(pattern, name, re.IGNORECASE)``; so does :meth:`BackendConfig.routes`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from importlib import metadata
from typing import Any

from packaging.version import InvalidVersion, Version

from airflow_mwaa_extras.exceptions import UsageError

__all__ = [
    "AMAZON_PROVIDER",
    "BACKEND_CLASS",
    "DEFAULT_CONNECTIONS_PREFIX",
    "DEFAULT_VARIABLES_PREFIX",
    "LOOKUP_PATTERN_MIN_PROVIDER",
    "BackendConfig",
    "check_provider_support",
    "config_from_kwargs",
    "installed_amazon_provider",
    "mwaa_amazon_provider",
    "unknown_kwargs",
]

BACKEND_CLASS = "airflow.providers.amazon.aws.secrets.secrets_manager.SecretsManagerBackend"
AMAZON_PROVIDER = "apache-airflow-providers-amazon"
LOOKUP_PATTERN_MIN_PROVIDER = Version("7.3.0")
DEFAULT_CONNECTIONS_PREFIX = "airflow/connections"
DEFAULT_VARIABLES_PREFIX = "airflow/variables"
_KNOWN_KWARGS = frozenset(
    {
        "connections_prefix",
        "connections_lookup_pattern",
        "variables_prefix",
        "variables_lookup_pattern",
        "config_prefix",
        "config_lookup_pattern",
        "sep",
        "extra_conn_words",
    }
)


@dataclass(frozen=True)
class BackendConfig:
    """The backend's options that decide secret names and lookups.

    :param connections_prefix: prefix of connection secrets; ``None`` sends no connection
        lookups to Secrets Manager.
    :param variables_prefix: prefix of variable secrets; ``None`` sends no variable lookups.
    :param connections_lookup_pattern: regex a conn id must match to be looked up.
    :param variables_lookup_pattern: regex a variable key must match to be looked up.
    :param sep: separator between prefix and name.
    """

    connections_prefix: str | None = DEFAULT_CONNECTIONS_PREFIX
    variables_prefix: str | None = DEFAULT_VARIABLES_PREFIX
    connections_lookup_pattern: str | None = None
    variables_lookup_pattern: str | None = None
    sep: str = "/"

    def _prefix(self, kind: str) -> str | None:
        prefix = self.connections_prefix if kind == "connection" else self.variables_prefix
        # The backend strips trailing separators from a prefix; do the same.
        return prefix.rstrip(self.sep) if prefix else prefix

    def secret_name(self, kind: str, name: str) -> str:
        prefix = self._prefix(kind)
        if prefix is None:
            raise UsageError(f"the {kind}s prefix is null: the backend never looks {kind}s up")
        return f"{prefix}{self.sep}{name}" if prefix else name

    def connection_secret_name(self, conn_id: str) -> str:
        return self.secret_name("connection", conn_id)

    def variable_secret_name(self, key: str) -> str:
        return self.secret_name("variable", key)

    def prefix_filter(self, kind: str) -> str:
        """The ``ListSecrets`` name filter that covers ``kind``'s secrets (empty: all)."""
        prefix = self._prefix(kind)
        return f"{prefix}{self.sep}" if prefix else ""

    def backend_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "connections_prefix": self.connections_prefix,
            "variables_prefix": self.variables_prefix,
        }
        if self.connections_lookup_pattern is not None:
            kwargs["connections_lookup_pattern"] = self.connections_lookup_pattern
        if self.variables_lookup_pattern is not None:
            kwargs["variables_lookup_pattern"] = self.variables_lookup_pattern
        if self.sep != "/":
            kwargs["sep"] = self.sep
        return kwargs

    def options(self) -> dict[str, str]:
        """The two MWAA configuration options (``aws mwaa update-environment --airflow-configuration-options``)."""
        return {
            "secrets.backend": BACKEND_CLASS,
            "secrets.backend_kwargs": json.dumps(self.backend_kwargs()),
        }

    def env(self) -> dict[str, str]:
        """The same options as environment variables (self-managed Airflow, local tests)."""
        return {
            f"AIRFLOW__{k.split('.')[0].upper()}__{k.split('.')[1].upper()}": v
            for k, v in self.options().items()
        }

    def patterns(self) -> dict[str, re.Pattern[str]]:
        """The lookup patterns compiled as the backend uses them.

        :raises UsageError: naming the option whose pattern does not compile.
        """
        compiled = {}
        for option in ("connections_lookup_pattern", "variables_lookup_pattern"):
            pattern = getattr(self, option)
            if pattern is None:
                continue
            try:
                compiled[option] = re.compile(pattern, re.IGNORECASE)
            except re.error as err:
                raise UsageError(f"{option} {pattern!r} does not compile: {err}") from None
        return compiled

    def routes(self, kind: str, name: str) -> bool:
        """Whether the backend asks Secrets Manager for this connection id / variable key."""
        if self._prefix(kind) is None:
            return False
        option = f"{kind}s_lookup_pattern"
        pattern = getattr(self, option)
        return not pattern or self.patterns()[option].match(name) is not None


def config_from_kwargs(text: str) -> BackendConfig:
    """A :class:`BackendConfig` from a ``secrets.backend_kwargs`` JSON string (validated)."""
    try:
        kwargs = json.loads(text)
    except json.JSONDecodeError as err:
        raise UsageError(
            f"secrets.backend_kwargs is not valid JSON: {err.msg} at column {err.colno}"
        ) from None
    if not isinstance(kwargs, dict):
        raise UsageError("secrets.backend_kwargs must be a JSON object")
    for key in (
        "connections_prefix",
        "variables_prefix",
        "connections_lookup_pattern",
        "variables_lookup_pattern",
        "sep",
    ):
        if key in kwargs and kwargs[key] is not None and not isinstance(kwargs[key], str):
            raise UsageError(f"secrets.backend_kwargs: {key} must be a string or null")
    config = BackendConfig(
        connections_prefix=kwargs.get("connections_prefix", DEFAULT_CONNECTIONS_PREFIX),
        variables_prefix=kwargs.get("variables_prefix", DEFAULT_VARIABLES_PREFIX),
        connections_lookup_pattern=kwargs.get("connections_lookup_pattern"),
        variables_lookup_pattern=kwargs.get("variables_lookup_pattern"),
        sep=kwargs.get("sep") or "/",
    )
    config.patterns()
    return config


def unknown_kwargs(text: str) -> list[str]:
    """Keys of a backend_kwargs JSON that are neither backend options nor connection extras."""
    kwargs = json.loads(text)
    aws_extras = {
        "region_name",
        "role_arn",
        "profile_name",
        "endpoint_url",
        "verify",
        "api_version",
        "use_ssl",
    }
    return sorted(set(kwargs) - _KNOWN_KWARGS - aws_extras)


# --- provider versions ---------------------------------------------------------------------


def installed_amazon_provider() -> Version | None:
    try:
        return Version(metadata.version(AMAZON_PROVIDER))
    except (metadata.PackageNotFoundError, InvalidVersion):
        return None


def mwaa_amazon_provider(airflow_version: str) -> Version:
    """The amazon provider MWAA installs for ``airflow_version`` (from its constraints file)."""
    from airflow_mwaa_extras.deploy.mwaa_data import airflow_constraints

    pinned = airflow_constraints(airflow_version).get(AMAZON_PROVIDER)
    if pinned is None:
        raise UsageError(f"MWAA {airflow_version}'s constraints pin no {AMAZON_PROVIDER}")
    return Version(pinned)


def check_provider_support(config: BackendConfig, provider: Version | None) -> list[str]:
    """Problems with using ``config`` on amazon provider ``provider`` (``None``: unknown).

    :raises UsageError: when lookup patterns are used with a provider older than 7.3.0, which
        does not know them.
    """
    notes = []
    uses_patterns = bool(config.connections_lookup_pattern or config.variables_lookup_pattern)
    if provider is None:
        notes.append(
            f"{AMAZON_PROVIDER} is not installed here; pass --mwaa-version or --provider-version to check it"
        )
    elif uses_patterns and provider < LOOKUP_PATTERN_MIN_PROVIDER:
        raise UsageError(
            f"lookup patterns need {AMAZON_PROVIDER} >= {LOOKUP_PATTERN_MIN_PROVIDER}; the target has {provider}"
        )
    return notes
