"""Environment-variables plugin: set, unset, prepend or append variables in every Airflow process.

The variables come from ``[mwaa_extras] env_vars_file`` (a JSON or INI file; a relative path is
read from the plugins folder, so it can ship inside plugins.zip) and ``[mwaa_extras] env_vars``
(the same document inline as JSON); the file is applied first. JSON::

    {"set": {"JAVA_HOME": "/usr/lib/jvm/jre"},
     "unset": ["DPI_DEBUG_LEVEL"],
     "prepend": {"PATH": ["{plugins_folder}/bin"]},
     "append": {"LD_LIBRARY_PATH": "{plugins_folder}/instantclient_18_5"}}

INI: sections ``[set]``, ``[prepend]``, ``[append]`` with ``NAME = value`` (several path entries
separated by ``:``), and ``[unset]`` with bare names. ``{plugins_folder}`` and
``{python_version}`` (e.g. ``3.11``) are replaced in values.

Prepend and append never duplicate an entry, so a child process that loads the plugin again
(every task runner does) gets the same value; an unset variable starts empty (no stray ``:``).
MWAA's reserved variables (:mod:`airflow_mwaa_extras.reserved_env_vars`) are refused with a
warning (once per process tree) and left alone. The inline option is applied after the file, as
if one after the other: its ``prepend`` entries come before the file's. A document that does not parse changes nothing and becomes a plugin
import error. ``LD_LIBRARY_PATH`` is read by the loader at process start, so it takes effect in
the processes Airflow starts after loading the plugin (task runners), not in the current one.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Any

from airflow_mwaa_extras.plugins._common import (
    PluginBase,
    PluginConfigError,
    get_airflow_option,
    get_option,
    refuse_unsupported_airflow,
    say_once,
)
from airflow_mwaa_extras.reserved_env_vars import is_reserved

__all__ = [
    "ACTIONS",
    "EnvChanges",
    "EnvVarsPlugin",
    "apply_changes",
    "apply_configured_env_vars",
    "configured_changes",
    "load_file",
    "merge_path",
    "parse_document",
    "parse_ini",
    "parse_json",
]

log = logging.getLogger(__name__)

ACTIONS = ("set", "unset", "prepend", "append")


class EnvChanges:
    """What to do to the environment, validated; apply with :func:`apply_changes`.

    A plain class rather than a dataclass: this module loads in every Airflow process and the
    dataclass machinery costs more to import than everything else here.

    :param set: variables to set
    :param unset: variables to remove
    :param prepend: entries to put in front of PATH-like variables
    :param append: entries to add at the end of PATH-like variables
    """

    __slots__ = ("append", "prepend", "set", "unset")

    def __init__(
        self,
        set: dict[str, str] | None = None,
        unset: list[str] | None = None,
        prepend: dict[str, list[str]] | None = None,
        append: dict[str, list[str]] | None = None,
    ) -> None:
        self.set = dict(set or {})
        self.unset = list(unset or [])
        self.prepend = dict(prepend or {})
        self.append = dict(append or {})

    def extend(self, other: EnvChanges) -> None:
        """Add ``other``'s changes after this one's.

        :param other: the changes applied later
        """
        self.set.update(other.set)
        self.unset.extend(other.unset)
        # As if applied one after the other: a later prepend goes in front, a later append behind.
        for name, entries in other.prepend.items():
            self.prepend[name] = [*entries, *self.prepend.get(name, [])]
        for name, entries in other.append.items():
            self.append.setdefault(name, []).extend(entries)


def _check_name(name: object, where: str) -> str:
    # Portable environment variable names: ASCII letters, digits and _, not starting with a digit.
    if not isinstance(name, str) or not (name.isascii() and name.isidentifier()):
        raise PluginConfigError(f"{where}: {name!r} is not a valid environment variable name")
    return name


def _expand(value: str, plugins_folder: str) -> str:
    python_version = f"{sys.version_info.major}.{sys.version_info.minor}"
    return value.replace("{plugins_folder}", plugins_folder).replace("{python_version}", python_version)


def _entries(value: object, where: str, plugins_folder: str) -> list[str]:
    if isinstance(value, str):
        items = value.split(os.pathsep)
    elif isinstance(value, list) and all(isinstance(item, str) for item in value):
        items = list(value)
    else:
        raise PluginConfigError(f"{where}: expected a string or a list of strings, got {value!r}")
    return [_expand(item, plugins_folder) for item in items if item]


def parse_document(doc: object, where: str, plugins_folder: str = "") -> EnvChanges:
    """Validate a parsed JSON document (see the module docstring) into :class:`EnvChanges`.

    :param doc: the parsed document
    :param where: names the source in error messages
    :param plugins_folder: what ``{plugins_folder}`` stands for
    """
    if not isinstance(doc, dict):
        raise PluginConfigError(f"{where}: expected a JSON object with keys {', '.join(ACTIONS)}")
    unknown = sorted(set(doc) - set(ACTIONS))
    if unknown:
        raise PluginConfigError(f"{where}: unknown key(s) {', '.join(unknown)}; use {', '.join(ACTIONS)}")
    changes = EnvChanges()
    sets = doc.get("set") or {}
    if not isinstance(sets, dict):
        raise PluginConfigError(f"{where}: 'set' must be an object of NAME: value")
    for name, value in sets.items():
        _check_name(name, where)
        if value is None:  # null means: make sure it is not set
            changes.unset.append(name)
        elif isinstance(value, str | int | float) and not isinstance(value, bool):
            changes.set[name] = _expand(str(value), plugins_folder)
        else:
            raise PluginConfigError(f"{where}: set.{name} must be a string, got {value!r}")
    unset = doc.get("unset") or []
    if not isinstance(unset, list):
        raise PluginConfigError(f"{where}: 'unset' must be a list of names")
    changes.unset.extend(_check_name(name, where) for name in unset)
    for action in ("prepend", "append"):
        mapping = doc.get(action) or {}
        if not isinstance(mapping, dict):
            raise PluginConfigError(f"{where}: {action!r} must be an object of NAME: entries")
        target = changes.prepend if action == "prepend" else changes.append
        for name, value in mapping.items():
            _check_name(name, where)
            target[name] = _entries(value, f"{where}: {action}.{name}", plugins_folder)
    return changes


def parse_json(text: str, where: str, plugins_folder: str = "") -> EnvChanges:
    """Parse a JSON document (see the module docstring).

    :param text: the JSON text
    :param where: names the source in error messages
    :param plugins_folder: what ``{plugins_folder}`` stands for
    """
    import json

    try:
        doc = json.loads(text)
    except json.JSONDecodeError as err:
        raise PluginConfigError(f"{where}: not valid JSON ({err})") from None
    return parse_document(doc, where, plugins_folder)


def parse_ini(text: str, where: str, plugins_folder: str = "") -> EnvChanges:
    """Parse an INI document: sections ``set``/``prepend``/``append`` of ``NAME = value``, ``unset``
    of bare names. Names keep their case.

    :param text: the INI text
    :param where: names the source in error messages
    :param plugins_folder: what ``{plugins_folder}`` stands for
    """
    import configparser

    parser = configparser.ConfigParser(allow_no_value=True, interpolation=None, delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keep NAME's case
    try:
        parser.read_string(text, source=where)
    except configparser.Error as err:
        raise PluginConfigError(f"{where}: not a valid INI file ({str(err).splitlines()[0]})") from None
    doc: dict[str, Any] = {}
    for section in parser.sections():
        items = dict(parser.items(section))
        if section == "unset":
            doc["unset"] = list(items)
        elif section in ("prepend", "append"):
            doc[section] = {name: value or "" for name, value in items.items()}
        else:
            doc[section] = items  # "set", or an unknown section parse_document names
    return parse_document(doc, where, plugins_folder)


def load_file(path: Path, plugins_folder: str = "") -> EnvChanges:
    """Read a JSON (``.json``) or INI (any other suffix) file.

    :param path: the file
    :param plugins_folder: what ``{plugins_folder}`` stands for
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise PluginConfigError(
            f"[mwaa_extras] env_vars_file: cannot read {path} ({err.strerror or err})"
        ) from None
    if path.suffix.lower() == ".json":
        return parse_json(text, str(path), plugins_folder)
    return parse_ini(text, str(path), plugins_folder)


def merge_path(current: str | None, entries: list[str], *, prepend: bool) -> str:
    """``current`` (a ``:``-separated list, possibly unset) with ``entries`` added once.

    Prepend puts ``entries`` first and drops their later copies, so they win; append adds only
    the ones not already present, so existing precedence never changes. Applying the result
    again gives the same value.

    :param current: the variable's value, ``None`` when unset
    :param entries: the entries to add, in order
    :param prepend: add in front (else at the end)
    """
    wanted = list(dict.fromkeys(entries))
    existing = [item for item in (current or "").split(os.pathsep) if item]
    if prepend:
        merged = wanted + [item for item in existing if item not in wanted]
    else:
        merged = existing + [item for item in wanted if item not in existing]
    return os.pathsep.join(merged)


def apply_changes(changes: EnvChanges, environ: Any = None) -> list[str]:
    """Apply ``changes`` to ``environ`` (default ``os.environ``); return the names changed.

    Reserved MWAA variables are refused with a warning and left alone.

    :param changes: validated changes
    :param environ: a mutable mapping standing for the environment
    """
    env = os.environ if environ is None else environ
    changed: list[str] = []

    def allowed(name: str) -> bool:
        if is_reserved(name):
            # Once per process tree: task runners inherit the marker and stay quiet in task logs.
            say_once(
                log,
                logging.WARNING,
                f"env-vars-reserved-{name}",
                "mwaa_extras env vars plugin: refusing to change %s: MWAA reserves it and resets "
                "overrides; left unchanged",
                name,
            )
            return False
        return True

    for name in dict.fromkeys(changes.unset):
        if allowed(name) and name in env:
            del env[name]
            changed.append(name)
    for name, value in changes.set.items():
        if allowed(name) and env.get(name) != value:
            env[name] = value
            changed.append(name)
    for mapping, prepend in ((changes.prepend, True), (changes.append, False)):
        for name, entries in mapping.items():
            if not allowed(name):
                continue
            value = merge_path(env.get(name), entries, prepend=prepend)
            if env.get(name) != value:
                env[name] = value
                changed.append(name)
    return changed


def configured_changes() -> EnvChanges:
    """Read and validate ``[mwaa_extras] env_vars_file`` then ``env_vars`` (both may be empty)."""
    plugins_folder = get_airflow_option("core", "plugins_folder")
    changes = EnvChanges()
    file_option = get_option("env_vars_file")
    if file_option:
        path = Path(file_option).expanduser()
        if not path.is_absolute():
            path = Path(plugins_folder) / path
        changes.extend(load_file(path, plugins_folder))
    inline = get_option("env_vars")
    if inline:
        changes.extend(parse_json(inline, "[mwaa_extras] env_vars", plugins_folder))
    return changes


def apply_configured_env_vars() -> list[str]:
    """Apply the configured changes to ``os.environ``; return the names changed."""
    changed = apply_changes(configured_changes())
    if changed:
        log.info("mwaa_extras env vars plugin: changed %s", ", ".join(changed))
    return changed


refuse_unsupported_airflow(log, "mwaa_extras_env_vars")


class EnvVarsPlugin(PluginBase):
    """Applies ``[mwaa_extras] env_vars_file`` / ``env_vars`` when Airflow loads plugins."""

    name = "mwaa_extras_env_vars"

    @classmethod
    def on_load(cls, *args: Any, **kwargs: Any) -> None:
        apply_configured_env_vars()
