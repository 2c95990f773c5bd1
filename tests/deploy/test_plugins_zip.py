from __future__ import annotations

import hashlib
import os
import stat
import zipfile
from pathlib import Path

import pytest

from airflow_mwaa_extras.cli import main
from airflow_mwaa_extras.deploy.mwaa_data import airflow_constraints
from airflow_mwaa_extras.deploy.plugins_zip import (
    PACKAGE,
    SHIM_PREFIX,
    build_plugins_zip,
    check_plugins,
)
from airflow_mwaa_extras.deploy.requirements_file import requirement_names
from airflow_mwaa_extras.exceptions import UsageError

PROVIDED = set(airflow_constraints("2.10.3"))


def make_plugins(root: Path) -> Path:
    src = root / "plugins"
    (src / "operators").mkdir(parents=True)
    (src / "operators" / "__init__.py").write_text("")
    (src / "operators" / "my_operator.py").write_text("import boto3\n")
    (src / "operators" / "__pycache__").mkdir()
    (src / "operators" / "__pycache__" / "my_operator.cpython-311.pyc").write_bytes(b"\0")
    (src / "stale.pyc").write_bytes(b"\0")
    (src / "env_plugin.py").write_text("from operators.my_operator import boto3\n")
    (src / "bin").mkdir()
    (src / "bin" / "tool").write_text("#!/bin/sh\n")
    (src / "bin" / "tool").chmod(0o600)
    return src


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_build_writes_contents_at_top_level_with_755_and_no_bytecode(tmp_path: Path) -> None:
    src = make_plugins(tmp_path)
    result = build_plugins_zip(src, tmp_path / "plugins.zip")
    with zipfile.ZipFile(result.path) as zf:
        names = zf.namelist()
        modes = {i.filename: (i.external_attr >> 16) for i in zf.infolist()}
        assert zf.read("bin/tool") == b"#!/bin/sh\n"
    assert names == [
        "bin/",
        "bin/tool",
        "env_plugin.py",
        "operators/",
        "operators/__init__.py",
        "operators/my_operator.py",
    ]
    assert all(stat.S_IMODE(m) == 0o755 for m in modes.values())
    assert stat.S_ISDIR(modes["operators/"])
    assert stat.S_ISREG(modes["bin/tool"])
    assert check_plugins(result.path, provided=PROVIDED) == []


def test_build_is_byte_for_byte_reproducible(tmp_path: Path) -> None:
    src = make_plugins(tmp_path)
    first = build_plugins_zip(src, tmp_path / "a.zip").path
    # New mtimes and another creation order must not change a byte.
    os.utime(src / "env_plugin.py", (1_900_000_000, 1_900_000_000))
    (src / "operators" / "my_operator.py").unlink()
    (src / "operators" / "my_operator.py").write_text("import boto3\n")
    second = build_plugins_zip(src, tmp_path / "b.zip").path
    assert sha(first) == sha(second)
    (src / "env_plugin.py").write_text("# changed\n")
    assert sha(build_plugins_zip(src, tmp_path / "c.zip").path) != sha(first)


def test_build_inside_the_folder_skips_its_own_output(tmp_path: Path) -> None:
    src = make_plugins(tmp_path)
    build_plugins_zip(src, src / "plugins.zip")
    result = build_plugins_zip(src, src / "plugins.zip")
    with zipfile.ZipFile(result.path) as zf:
        assert "plugins.zip" not in zf.namelist()


def test_build_rejects_missing_or_empty_folders(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="plugins folder not found"):
        build_plugins_zip(tmp_path / "nope", tmp_path / "x.zip")
    (tmp_path / "empty").mkdir()
    with pytest.raises(UsageError, match="empty"):
        build_plugins_zip(tmp_path / "empty", tmp_path / "x.zip")


def test_vendor_self_adds_package_shim_and_airflowignore(tmp_path: Path) -> None:
    src = make_plugins(tmp_path)
    (src / ".airflowignore").write_text("bin\n")
    result = build_plugins_zip(src, tmp_path / "plugins.zip", vendor_self=True)
    with zipfile.ZipFile(result.path) as zf:
        names = set(zf.namelist())
        ignore = zf.read(".airflowignore").decode()
        shim = zf.read(f"{SHIM_PREFIX}env_vars.py").decode()
        shims = sorted(n for n in names if n.startswith(SHIM_PREFIX))
    assert f"{PACKAGE}/__init__.py" in names
    assert f"{PACKAGE}/deploy/plugins_zip.py" in names
    assert f"{PACKAGE}/data/mwaa/2.10.3/mwaa_essential_constraints.txt" in names
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)
    assert f"{PACKAGE}/cli/__init__.py" in names
    assert not any(n.startswith((f"{PACKAGE}/demo/", f"{PACKAGE}/testing/")) for n in names)
    # Airflow's loader would run it as `__main__` without the .airflowignore entry.
    assert f"{PACKAGE}/__main__.py" not in names
    assert ignore == f"bin\n{PACKAGE}\n"
    compile(shim, "shim.py", "exec")
    assert 'globals().update(plugins_for_folder("env_vars"))' in shim
    # One file per plugin: Airflow isolates files, so one bad setting drops only its plugin.
    assert shims == [
        f"{SHIM_PREFIX}{name}.py" for name in ("env_vars", "task_metrics", "timezone", "virtualenv")
    ]
    # Vendoring twice (from an unpacked vendored zip) would mix two copies.
    with zipfile.ZipFile(result.path) as zf:
        zf.extractall(tmp_path / "again")
    with pytest.raises(UsageError, match="already has"):
        build_plugins_zip(tmp_path / "again", tmp_path / "x.zip", vendor_self=True)


def write_zip(path: Path, entries: list[tuple[str, bytes, int | None]]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data, mode in entries:
            info = zipfile.ZipInfo(name)
            if mode is None:
                info.create_system = 0  # as Windows' zip writes it: no Unix mode
            else:
                info.create_system = 3
                info.external_attr = mode << 16
            zf.writestr(info, data)
    return path


@pytest.mark.parametrize(
    ("entries", "expected"),
    [
        pytest.param(
            [("myplugins/", b"", 0o40755), ("myplugins/a.py", b"x = 1\n", 0o100755)],
            ["plugins.wrapping-folder"],
            id="wrapping-folder",
        ),
        pytest.param(
            [("pkg/", b"", 0o40755), ("pkg/__init__.py", b"", 0o100755), ("pkg/a.py", b"", 0o100755)],
            [],
            id="single-package-is-fine",
        ),
        pytest.param([("a.py", b"x = 1\n", 0o100644)], ["plugins.permissions"], id="644"),
        pytest.param([("a.py", b"x = 1\n", None)], ["plugins.permissions"], id="no-unix-modes"),
        pytest.param([("a.py", b"def f(:\n", 0o100755)], ["plugins.syntax-error"], id="syntax"),
        pytest.param(
            [("a.py", b"import fancy_lib\n", 0o100755)], ["plugins.missing-import"], id="missing-import"
        ),
        pytest.param(
            [
                ("a.py", b"import os, json\nimport yaml\nfrom b import c\nimport boto3\n", 0o100755),
                ("b.py", b"", 0o100755),
            ],
            [],
            id="stdlib-constraints-local",
        ),
        pytest.param(
            [
                (
                    "a.py",
                    b"from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import not_installed\n",
                    0o100755,
                )
            ],
            [],
            id="type-checking-only",
        ),
        pytest.param(
            [
                (
                    "a.py",
                    b"import typing\nif typing.TYPE_CHECKING:\n    import x\nelse:\n    import y\n",
                    0o100755,
                )
            ],
            ["plugins.missing-import"],
            id="type-checking-else-runs",
        ),
        pytest.param(
            [("a.py", b"try:\n    import ujson as json\nexcept ImportError:\n    import json\n", 0o100755)],
            [],
            id="optional-import",
        ),
        pytest.param(
            [("a.py", b"try:\n    import fancy_lib\nexcept KeyError:\n    pass\n", 0o100755)],
            ["plugins.missing-import"],
            id="try-without-import-error",
        ),
        pytest.param(
            [("a.py", b"", 0o100755), ("__MACOSX/._a.py", b"", 0o100755)],
            ["plugins.stray-file"],
            id="macos-clutter",
        ),
    ],
)
def test_check_plugins(
    tmp_path: Path, entries: list[tuple[str, bytes, int | None]], expected: list[str]
) -> None:
    path = write_zip(tmp_path / "plugins.zip", entries)
    assert [f.check for f in check_plugins(path, provided=PROVIDED)] == expected


def test_requirements_provide_imports(tmp_path: Path) -> None:
    path = write_zip(tmp_path / "plugins.zip", [("a.py", b"import fancy_lib\n", 0o100755)])
    provided = PROVIDED | requirement_names("--constraint x\nfancy-lib==1.0  # ok\n")
    assert check_plugins(path, provided=provided) == []


def test_size_advice(tmp_path: Path) -> None:
    path = write_zip(tmp_path / "plugins.zip", [("a.py", b"x = 1\n" * 100, 0o100755)])
    assert [f.check for f in check_plugins(path, provided=PROVIDED, size_advice=10)] == ["plugins.size"]
    assert check_plugins(path, provided=PROVIDED) == []


def test_not_a_zip_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "plugins.zip").write_text("nope")
    with pytest.raises(UsageError, match="not a readable zip"):
        check_plugins(tmp_path / "plugins.zip")


def test_cli_build_and_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = make_plugins(tmp_path)
    out = tmp_path / "plugins.zip"
    assert main(["plugins", "build", str(src), "-o", str(out)]) == 0
    assert "6 entries" in capsys.readouterr().out
    assert main(["plugins", "check", str(out), "--airflow-version", "2.10.3", "--format", "json"]) == 0
    assert '"ok": true' in capsys.readouterr().out
    bad = write_zip(tmp_path / "bad.zip", [("a.py", b"import fancy_lib\n", 0o100755)])
    req = tmp_path / "requirements.txt"
    req.write_text("fancy-lib==1.0\n")
    assert main(["plugins", "check", str(bad), "--airflow-version", "2.10.3"]) == 1
    assert "plugins.missing-import" in capsys.readouterr().out
    assert main(["plugins", "check", str(bad), "--airflow-version", "2.10.3", "-r", str(req)]) == 0
    capsys.readouterr()
    assert main(["plugins", "build", str(tmp_path / "missing")]) == 1
    assert "plugins folder not found" in capsys.readouterr().err
