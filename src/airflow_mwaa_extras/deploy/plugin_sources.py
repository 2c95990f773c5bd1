"""The Python inside a plugins.zip or plugins folder, as the doctor needs it.

Which MWAA-reserved variables the plugins set through ``os.environ`` (read from their syntax
trees, never imported), and the plugins as a folder for the DAG parse.
"""

from __future__ import annotations

import ast
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

from airflow_mwaa_extras.deploy.report import CheckTable, Finding, Severity
from airflow_mwaa_extras.exceptions import UsageError
from airflow_mwaa_extras.reserved_env_vars import RESERVED_ENV_VARS

__all__ = ["CHECKS", "check_plugin_environ", "has_python", "plugins_folder"]

CHECKS = CheckTable(
    "plugins",
    {
        "reserved-variable": (
            Severity.ERROR,
            "sets {key}, which MWAA reserves: components end up with different values",
        ),
    },
)


def has_python(target: Path | None) -> bool:
    """Whether the plugins hold any Python file (only then does lazy loading matter)."""
    if target is None:
        return False
    if target.is_dir():
        return any(target.rglob("*.py"))
    try:
        with zipfile.ZipFile(target) as zf:
            return any(n.endswith(".py") for n in zf.namelist())
    except (zipfile.BadZipFile, OSError):
        return False


def _python_sources(target: Path) -> Iterator[tuple[str, bytes]]:
    if target.is_dir():
        for path in sorted(target.rglob("*.py")):
            if "__pycache__" not in path.parts:
                yield path.relative_to(target).as_posix(), path.read_bytes()
        return
    try:
        with zipfile.ZipFile(target) as zf:
            for name in sorted(zf.namelist()):
                if name.endswith(".py"):
                    yield name, zf.read(name)
    except (zipfile.BadZipFile, OSError):
        return  # reported by check_plugins


def _environ_keys(tree: ast.AST) -> Iterator[tuple[str, int]]:
    """String keys written through os.environ[...] = , .setdefault/.update, or os.putenv."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Subscript) and _is_environ(target.value):
                    key = target.slice
                    if isinstance(key, ast.Constant) and isinstance(key.value, str):
                        yield key.value, node.lineno
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            func = node.func
            if func.attr in ("setdefault", "putenv") and node.args:
                if (func.attr == "setdefault" and _is_environ(func.value)) or (
                    func.attr == "putenv" and isinstance(func.value, ast.Name) and func.value.id == "os"
                ):
                    first = node.args[0]
                    if isinstance(first, ast.Constant) and isinstance(first.value, str):
                        yield first.value, node.lineno
            elif func.attr == "update" and _is_environ(func.value):
                for arg in node.args:
                    if isinstance(arg, ast.Dict):
                        for dict_key in arg.keys:
                            if isinstance(dict_key, ast.Constant) and isinstance(dict_key.value, str):
                                yield dict_key.value, node.lineno
                for kw in node.keywords:
                    if kw.arg:
                        yield kw.arg, node.lineno


def _is_environ(node: ast.expr) -> bool:
    return (isinstance(node, ast.Attribute) and node.attr == "environ") or (
        isinstance(node, ast.Name) and node.id == "environ"
    )


def check_plugin_environ(target: Path) -> list[Finding]:
    """A finding for every MWAA-reserved variable the plugins' code writes into the environment."""
    findings: list[Finding] = []
    for name, source in _python_sources(target):
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue  # reported by check_plugins
        for key, lineno in _environ_keys(tree):
            if key in RESERVED_ENV_VARS:
                findings.append(CHECKS.finding("reserved-variable", f"{target.name}:{name}", lineno, key=key))
    return findings


@contextmanager
def plugins_folder(target: Path | None) -> Iterator[Path | None]:
    """The plugins as a folder (a zip is unpacked into a temporary one) for the DAG parse."""
    if target is None or target.is_dir():
        yield target
        return
    with tempfile.TemporaryDirectory(prefix="mwaa-extras-plugins-") as tmp:
        try:
            with zipfile.ZipFile(target) as zf:
                for name in zf.namelist():
                    parts = PurePosixPath(name).parts
                    if name.startswith("/") or ".." in parts:
                        raise UsageError(f"{target.name} has an unsafe entry name: {name!r}")
                zf.extractall(tmp)
        except (zipfile.BadZipFile, OSError):
            yield None
            return
        yield Path(tmp)
