"""PythonVirtualenvOperator fix: on Airflow 2, virtualenvs are created with ``sys.executable -m
virtualenv`` whatever ``PATH`` holds.

Older Airflow 2 releases built the command ``["virtualenv", tmp_dir, ...]`` in
``airflow.utils.python_virtualenv._generate_virtualenv_cmd(tmp_dir, python_bin,
system_site_packages)``, which fails where the ``virtualenv`` console script is not on ``PATH``
(MWAA installs requirements with ``pip install --user``, whose ``bin`` is not on ``PATH``). The
MWAA guide's plugin replaced that private function with one hard-coding a Python 3.7 path.

This plugin checks the function exists with exactly that signature, asks it for a command, and
wraps it only when the command starts with the console script; it then runs the same arguments
through the current interpreter. Airflow 2.9, 2.10 and 2.11 (every MWAA 2.x version) already
build ``sys.executable -m virtualenv``, so nothing is patched there; an Airflow it does not recognise is left alone.
Airflow 3 creates virtualenvs in the standard provider with ``venv`` or ``uv`` and never calls
the console script: the plugin does nothing there and says so once (at DEBUG, as for "nothing to
patch": routine lines would end up in ``airflow ... -o json`` output). Each outcome is logged once
per process tree; a patch is logged at INFO, an unrecognised Airflow at WARNING.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from typing import Any

from airflow_mwaa_extras.plugins._common import PluginBase, refuse_unsupported_airflow, say_once
from airflow_mwaa_extras.version_compat import AIRFLOW_V_3_0_PLUS

__all__ = [
    "AIRFLOW_3",
    "ALREADY_PATCHED",
    "DEFERRED",
    "EXPECTED_PARAMETERS",
    "NOT_NEEDED",
    "PATCHED",
    "TARGET_FUNCTION",
    "TARGET_MODULE",
    "UNRECOGNISED",
    "VirtualenvPlugin",
    "apply_virtualenv_fix",
    "module_command",
    "patch_module",
]

log = logging.getLogger(__name__)

TARGET_MODULE = "airflow.utils.python_virtualenv"
TARGET_FUNCTION = "_generate_virtualenv_cmd"
EXPECTED_PARAMETERS = ("tmp_dir", "python_bin", "system_site_packages")
_MARKER = "__mwaa_extras_original__"

# Outcomes of apply_virtualenv_fix().
PATCHED = "patched"
ALREADY_PATCHED = "already-patched"
NOT_NEEDED = "not-needed"
AIRFLOW_3 = "airflow-3"
UNRECOGNISED = "unrecognised"
DEFERRED = "deferred"


def _is_console_script(command: list[str]) -> bool:
    return bool(command) and os.path.basename(command[0]) == "virtualenv"


def module_command(command: list[str]) -> list[str]:
    """``["virtualenv", *args]`` -> ``[sys.executable, "-m", "virtualenv", *args]``; others unchanged.

    :param command: a virtualenv command line
    """
    if _is_console_script(command):
        return [sys.executable, "-m", "virtualenv", *command[1:]]
    return command


def _wrap(original: Callable[..., list[str]]) -> Callable[..., list[str]]:
    def _generate_virtualenv_cmd(tmp_dir: str, python_bin: str, system_site_packages: bool) -> list[str]:
        return module_command(original(tmp_dir, python_bin, system_site_packages))

    setattr(_generate_virtualenv_cmd, _MARKER, original)
    _generate_virtualenv_cmd.__doc__ = (
        "airflow-mwaa-extras: the original command, run with sys.executable -m."
    )
    return _generate_virtualenv_cmd


def _unrecognised(reason: str) -> str:
    say_once(
        log,
        logging.WARNING,
        "virtualenv-unrecognised",
        "mwaa_extras virtualenv plugin: %s; this Airflow is not one the plugin knows, nothing patched",
        reason,
    )
    return UNRECOGNISED


def apply_virtualenv_fix() -> str:
    """Patch Airflow 2's virtualenv command where it needs it; return what happened (a constant
    of this module).

    ``airflow.utils.python_virtualenv`` costs 60 ms or more to import (jinja2, process utils),
    and most processes never create a virtualenv: when it is not imported yet, the check runs
    the moment something imports it (:data:`DEFERRED`).
    """
    if AIRFLOW_V_3_0_PLUS:
        # DEBUG: an INFO line in every Airflow 3 process would land in `airflow ... -o json` output.
        say_once(
            log,
            logging.DEBUG,
            "virtualenv-airflow-3",
            "mwaa_extras virtualenv plugin: Airflow 3 creates virtualenvs with venv or uv (standard "
            "provider), not the virtualenv console script; nothing to do",
        )
        return AIRFLOW_3
    module = sys.modules.get(TARGET_MODULE)
    if module is not None:
        return patch_module(module)
    if not any(isinstance(finder, _PatchOnImport) for finder in sys.meta_path):
        sys.meta_path.insert(0, _PatchOnImport())
    return DEFERRED


class _PatchOnImport:
    """A one-shot import hook: lets the normal machinery import the target module, then patches it."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname != TARGET_MODULE:
            return None
        import importlib.util

        sys.meta_path.remove(self)  # one shot, and no recursion into ourselves below
        spec = importlib.util.find_spec(fullname)
        loader = getattr(spec, "loader", None)
        if spec is None or loader is None or not hasattr(loader, "exec_module"):
            return spec
        original_exec = loader.exec_module

        def exec_module(module: Any) -> None:
            original_exec(module)
            patch_module(module)

        loader.exec_module = exec_module
        return spec


def patch_module(module: Any) -> str:
    """Check ``module`` (Airflow 2's ``airflow.utils.python_virtualenv``) and patch it if needed.

    :param module: the imported module
    """
    import inspect

    function = getattr(module, TARGET_FUNCTION, None)
    if function is None or not callable(function):
        return _unrecognised(f"{TARGET_MODULE}.{TARGET_FUNCTION} does not exist")
    if hasattr(function, _MARKER):
        return ALREADY_PATCHED
    try:
        parameters = tuple(inspect.signature(function).parameters)
    except (TypeError, ValueError):
        parameters = ()
    if parameters != EXPECTED_PARAMETERS:
        return _unrecognised(f"{TARGET_FUNCTION}{parameters} does not take {EXPECTED_PARAMETERS}")
    try:  # it only builds a list; nothing is run
        probe = function("/nonexistent/mwaa-extras-probe", None, False)
    except Exception as err:
        return _unrecognised(f"{TARGET_FUNCTION} failed on a probe ({err!r})")
    if not isinstance(probe, list) or not all(isinstance(part, str) for part in probe):
        return _unrecognised(f"{TARGET_FUNCTION} returned {probe!r}")
    if _is_console_script(probe):
        setattr(module, TARGET_FUNCTION, _wrap(function))
        say_once(
            log,
            logging.INFO,
            "virtualenv-patched",
            "mwaa_extras virtualenv plugin: virtualenvs are created with %s -m virtualenv instead of "
            "the virtualenv console script on PATH",
            sys.executable,
        )
        return PATCHED
    if probe[1:3] == ["-m", "virtualenv"]:
        say_once(
            log,
            logging.DEBUG,
            "virtualenv-not-needed",
            "mwaa_extras virtualenv plugin: Airflow already runs virtualenv with %s -m virtualenv; "
            "nothing to patch",
            probe[0],
        )
        return NOT_NEEDED
    return _unrecognised(f"{TARGET_FUNCTION} builds {probe[:3]!r}")


refuse_unsupported_airflow(log, "mwaa_extras_virtualenv")


class VirtualenvPlugin(PluginBase):
    """Makes PythonVirtualenvOperator independent of the ``virtualenv`` console script (Airflow 2)."""

    name = "mwaa_extras_virtualenv"

    @classmethod
    def on_load(cls, *args: Any, **kwargs: Any) -> None:
        apply_virtualenv_fix()
