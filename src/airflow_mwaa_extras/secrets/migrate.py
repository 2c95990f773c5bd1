"""Plan a migration of connections and variables into AWS Secrets Manager.

The plan reads what already exists under the prefixes (``ListSecrets`` filtered by name, then
``BatchGetSecretValue`` 20 at a time) and gives every item one action: ``create``, ``update``
(the value, KMS key or tags differ), ``unchanged``, ``skip`` or ``invalid``. Applying it
(:mod:`~airflow_mwaa_extras.secrets.migrate_apply`) writes only ``create`` and ``update``
items, so a second run changes nothing. Values are compared in
memory and never printed, logged or put into an exception message.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow_mwaa_extras.exceptions import MwaaExtrasError, UsageError
from airflow_mwaa_extras.secrets.backend_config import BackendConfig
from airflow_mwaa_extras.secrets.sources import SourceConnection, SourceVariable
from airflow_mwaa_extras.secrets.uri import MAX_SECRET_BYTES, ConnectionSecretError, build_secret

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient
else:
    SecretsManagerClient = Any

__all__ = [
    "ACTIONS",
    "BATCH_GET_SIZE",
    "MAX_NAME_LENGTH",
    "ON_EXISTING",
    "PROTECTED_CONN_IDS",
    "MigrationError",
    "MigrationOptions",
    "MigrationPlan",
    "PlannedSecret",
    "diff_lines",
    "plan_migration",
    "secret_name_problem",
    "summary_line",
]

CREATE, UPDATE, UNCHANGED, SKIP, INVALID = "create", "update", "unchanged", "skip", "invalid"
ACTIONS = (CREATE, UPDATE, UNCHANGED, SKIP, INVALID)
ON_EXISTING = ("update", "skip", "error")
# MWAA uses aws_default for its own work (task logs among others); its guide warns never to
# overwrite it, and a secret for it would shadow the environment's own connection.
PROTECTED_CONN_IDS = frozenset({"aws_default"})
# Characters Secrets Manager allows in a secret name, and its length limit.
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/_+=.@-")
MAX_NAME_LENGTH = 512
BATCH_GET_SIZE = 20


class MigrationError(MwaaExtrasError):
    """The migration could not be planned (e.g. existing secrets with ``--on-existing error``)."""


@dataclass
class PlannedSecret:
    """One connection or variable and what the migration does with it."""

    kind: str
    name: str
    secret_name: str
    action: str
    reason: str = ""
    secret_string: str | None = field(default=None, repr=False)
    write_value: bool = False
    set_kms: bool = False
    add_tags: dict[str, str] = field(default_factory=dict)


@dataclass
class MigrationOptions:
    """How to migrate.

    :param config: prefixes and separator (the same options the backend is configured with).
    :param connection_format: ``json`` (lossless) or ``uri``.
    :param on_existing: ``update`` (write when different), ``skip`` (leave existing secrets
        alone) or ``error`` (refuse to plan when any target secret exists).
    :param kms_key_id: KMS key for new secrets (and for updated ones, re-encrypted with it).
    :param tags: tags every migrated secret carries.
    :param include_aws_default: migrate ``aws_default`` too (MWAA relies on its own).
    :param workers: parallel writers.
    """

    config: BackendConfig = field(default_factory=BackendConfig)
    connection_format: str = "json"
    on_existing: str = "update"
    kms_key_id: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    include_aws_default: bool = False
    workers: int = 4

    def __post_init__(self) -> None:
        if self.on_existing not in ON_EXISTING:
            raise UsageError(
                f"--on-existing must be one of {', '.join(ON_EXISTING)}, not {self.on_existing!r}"
            )
        if self.workers < 1:
            raise UsageError("--workers must be at least 1")


@dataclass
class MigrationPlan:
    items: list[PlannedSecret]

    def count(self, action: str) -> int:
        return sum(1 for item in self.items if item.action == action)

    def counts(self) -> dict[str, int]:
        return {action: self.count(action) for action in ACTIONS}

    def to_write(self) -> list[PlannedSecret]:
        return [item for item in self.items if item.action in (CREATE, UPDATE)]


# --- names ---------------------------------------------------------------------------------


def secret_name_problem(secret_name: str) -> str | None:
    """Why Secrets Manager would refuse ``secret_name``, or ``None``."""
    bad = sorted(set(secret_name) - _NAME_CHARS)
    if bad:
        return (
            "the secret name may hold only letters, digits and /_+=.@- (found "
            + " ".join(map(repr, bad))
            + ")"
        )
    if len(secret_name) > MAX_NAME_LENGTH:
        return f"the secret name is longer than {MAX_NAME_LENGTH} characters"
    return None


# --- planning ------------------------------------------------------------------------------


def _desired(
    connections: Iterable[SourceConnection], variables: Iterable[SourceVariable], options: MigrationOptions
) -> list[PlannedSecret]:
    config = options.config
    items: list[PlannedSecret] = []
    seen: set[str] = set()
    for conn in connections:
        item = PlannedSecret("connection", conn.conn_id, config.connection_secret_name(conn.conn_id), CREATE)
        if conn.conn_id in PROTECTED_CONN_IDS and not options.include_aws_default:
            item.action, item.reason = (
                SKIP,
                "MWAA relies on its own aws_default (--include-aws-default forces it)",
            )
        elif conn.error or conn.parts is None:
            item.action, item.reason = INVALID, conn.error or "unreadable"
        else:
            try:
                item.secret_string = build_secret(conn.parts, options.connection_format)
            except ConnectionSecretError as err:
                item.action, item.reason = INVALID, str(err)
        items.append(item)
    for var in variables:
        item = PlannedSecret("variable", var.key, config.variable_secret_name(var.key), CREATE)
        if var.error or var.value is None:
            item.action, item.reason = INVALID, var.error or "unreadable"
        elif var.value == "":
            # Secrets Manager refuses an empty SecretString, and a secret without one reads back
            # as "no such variable": the run would fail where the dry run said "create".
            item.action, item.reason = (
                INVALID,
                "empty value: Secrets Manager stores at least one character; keep this variable "
                "in the metadata DB (Airflow falls back to it) or give it a value",
            )
        elif len(var.value.encode()) > MAX_SECRET_BYTES:
            item.action, item.reason = (
                INVALID,
                f"the value exceeds Secrets Manager's {MAX_SECRET_BYTES} bytes",
            )
        else:
            item.secret_string = var.value
        items.append(item)
    for item in items:
        if item.action == INVALID:
            continue
        problem = secret_name_problem(item.secret_name)
        if problem:
            item.action, item.reason, item.secret_string = INVALID, problem, None
        elif item.secret_name in seen:
            item.action, item.reason, item.secret_string = (
                INVALID,
                "another item maps to the same secret name",
                None,
            )
        seen.add(item.secret_name)
    return items


def _existing_secrets(client: SecretsManagerClient, prefixes: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Name -> ListSecrets entry for the secrets under ``prefixes`` (one page per 100)."""
    found: dict[str, dict[str, Any]] = {}
    paginator = client.get_paginator("list_secrets")
    for prefix in sorted(set(prefixes)):
        filters = [{"Key": "name", "Values": [prefix]}] if prefix else []
        for page in paginator.paginate(Filters=filters, PaginationConfig={"PageSize": 100}):
            for entry in page.get("SecretList", []):
                found[entry["Name"]] = dict(entry)
    return found


def _current_values(client: SecretsManagerClient, names: Sequence[str]) -> dict[str, str | None]:
    """The current SecretString of each name (``None`` when it has none or cannot be read)."""
    from botocore.exceptions import ClientError

    values: dict[str, str | None] = {}
    if hasattr(client, "batch_get_secret_value"):
        try:
            for start in range(0, len(names), BATCH_GET_SIZE):
                chunk = list(names[start : start + BATCH_GET_SIZE])
                response = client.batch_get_secret_value(SecretIdList=chunk)
                for entry in response.get("SecretValues", []):
                    values[entry["Name"]] = entry.get("SecretString")
            return values
        except ClientError as err:
            # A role allowed GetSecretValue but not BatchGetSecretValue: read one by one.
            if err.response.get("Error", {}).get("Code") != "AccessDeniedException":
                raise
    for name in names:  # botocore older than 1.33 has no BatchGetSecretValue
        try:
            values[name] = client.get_secret_value(SecretId=name).get("SecretString")
        except ClientError:
            values[name] = None
    return values


def plan_migration(
    client: SecretsManagerClient,
    connections: Iterable[SourceConnection],
    variables: Iterable[SourceVariable],
    options: MigrationOptions,
) -> MigrationPlan:
    """Decide the action of every item; reads Secrets Manager, writes nothing."""
    items = _desired(connections, variables, options)
    candidates = [item for item in items if item.action == CREATE]
    prefixes = [options.config.prefix_filter(item.kind) for item in candidates]
    existing = _existing_secrets(client, prefixes) if candidates else {}
    present = [item for item in candidates if item.secret_name in existing]
    if present and options.on_existing == "error":
        names = ", ".join(item.secret_name for item in present[:10])
        more = f" and {len(present) - 10} more" if len(present) > 10 else ""
        raise MigrationError(f"{len(present)} secret(s) already exist: {names}{more} (see --on-existing)")
    if options.on_existing == "skip":
        for item in present:
            item.action, item.reason, item.secret_string = SKIP, "exists (--on-existing skip)", None
        return MigrationPlan(items)
    current = _current_values(client, [item.secret_name for item in present])
    for item in present:
        entry = existing[item.secret_name]
        item.write_value = current.get(item.secret_name) != item.secret_string
        item.set_kms = bool(options.kms_key_id) and entry.get("KmsKeyId") != options.kms_key_id
        have_tags = {tag["Key"]: tag.get("Value", "") for tag in entry.get("Tags", [])}
        item.add_tags = {k: v for k, v in options.tags.items() if have_tags.get(k) != v}
        reasons = [
            label
            for label, flag in (
                ("value", item.write_value),
                ("KMS key", item.set_kms),
                ("tags", item.add_tags),
            )
            if flag
        ]
        item.action = UPDATE if reasons else UNCHANGED
        item.reason = ", ".join(reasons) + (" differs" if len(reasons) == 1 else " differ") if reasons else ""
    return MigrationPlan(items)


def diff_lines(plan: MigrationPlan, show_unchanged: bool = False) -> list[str]:
    """The plan as a diff of secret names: ``+`` create, ``~`` update, ``=`` unchanged..."""
    marks = {CREATE: "+", UPDATE: "~", UNCHANGED: "=", SKIP: "-", INVALID: "!"}
    lines = []
    for item in plan.items:
        if item.action == UNCHANGED and not show_unchanged:
            continue
        reason = f" ({item.reason})" if item.reason else ""
        lines.append(f"{marks[item.action]} {item.secret_name}{reason}")
    return lines


def summary_line(plan: MigrationPlan) -> str:
    counts = plan.counts()
    return ", ".join(f"{counts[action]} {action}" for action in ACTIONS)
