"""What the Python files of a plugins.zip need: do they compile, and is every import installed?

Part of the plugins.zip checks (:func:`airflow_mwaa_extras.deploy.plugins_zip.check_plugins`):
an import is fine when the standard library, the zip itself, Airflow, or a distribution MWAA
installs (its constraints plus the user's requirements.txt) provides it.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePosixPath

from packaging.utils import canonicalize_name

from airflow_mwaa_extras.deploy.report import Finding, Severity

__all__ = ["Member", "check_imports"]

# Import names that are not the distribution's name (import name -> distribution).
_IMPORT_TO_DIST = {
    "yaml": "pyyaml",
    "dateutil": "python-dateutil",
    "jwt": "pyjwt",
    "google": "google-api-core",
    "psycopg2": "psycopg2-binary",
    "attr": "attrs",
    "pkg_resources": "setuptools",
    "sklearn": "scikit-learn",
    "bs4": "beautifulsoup4",
    "dns": "dnspython",
    "OpenSSL": "pyopenssl",
    "magic": "python-magic",
    "jose": "python-jose",
    "git": "gitpython",
    "Crypto": "pycryptodome",
    "cx_Oracle": "cx-oracle",
    "snowflake": "snowflake-connector-python",
}


@dataclass(frozen=True)
class Member:
    """One entry of a plugins.zip or plugins folder: ``data`` is read for ``.py`` files only."""

    name: str
    is_dir: bool
    mode: int | None
    data: bytes | None


def _local_names(members: list[Member]) -> set[str]:
    names: set[str] = set()
    for m in members:
        parts = PurePosixPath(m.name).parts
        for idx in range(len(parts)):
            # Anything importable from the plugins folder, or from a sub-folder put on sys.path.
            names.add(PurePosixPath(parts[idx]).stem if idx == len(parts) - 1 else parts[idx])
    return names


def check_imports(members: list[Member], label: str, provided: Iterable[str]) -> list[Finding]:
    """Python files that do not compile, and imports that nothing installed on MWAA provides.

    :param provided: distribution names installed on MWAA (constraints plus requirements.txt)
    """
    findings: list[Finding] = []
    provided_names = {canonicalize_name(p) for p in provided}
    local = _local_names(members)
    stdlib = set(sys.stdlib_module_names)
    missing: dict[str, str] = {}
    for m in members:
        if m.data is None or m.is_dir:
            continue
        try:
            # compile(), not only ast.parse(): some errors ("'return' outside function") come later.
            compile(m.data, m.name, "exec", dont_inherit=True)
            tree = ast.parse(m.data, filename=m.name)
        except (SyntaxError, ValueError) as err:
            findings.append(
                Finding(
                    "plugins.syntax-error",
                    Severity.ERROR,
                    f"does not compile: {getattr(err, 'msg', err)}",
                    f"{label}:{m.name}",
                    getattr(err, "lineno", None),
                )
            )
            continue
        for top in _top_level_imports(tree):
            if top in stdlib or top in local or top in ("airflow", "__future__"):
                continue
            dist = canonicalize_name(_IMPORT_TO_DIST.get(top, top))
            if dist in provided_names or canonicalize_name(top) in provided_names:
                continue
            missing.setdefault(top, m.name)
    for top, where in sorted(missing.items()):
        findings.append(
            Finding(
                "plugins.missing-import",
                Severity.ERROR,
                f"imports {top!r}, which neither Airflow's constraints nor requirements.txt provide",
                f"{label}:{where}",
            )
        )
    return findings


def _top_level_imports(tree: ast.AST) -> set[str]:
    """Top-level names of the imports a module needs at run time.

    Imports under ``if TYPE_CHECKING:`` never run, and those in a ``try`` that catches
    ``ImportError`` are optional by design: neither is a requirement.
    """
    names: set[str] = set()
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend(node.orelse)
            continue
        elif isinstance(node, ast.Try) and any(_catches_import_error(h) for h in node.handlers):
            stack.extend([*node.handlers, *node.orelse, *node.finalbody])
            continue
        stack.extend(ast.iter_child_nodes(node))
    return names


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _catches_import_error(handler: ast.ExceptHandler) -> bool:
    if handler.type is None:
        return True
    types = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    caught = {t.id if isinstance(t, ast.Name) else getattr(t, "attr", "") for t in types}
    return bool(caught & {"ImportError", "ModuleNotFoundError", "Exception", "BaseException"})
