"""``uv build``, then what ``twine check`` checks: the sdist and the wheel carry complete, matching
metadata, and the README is the long description, as Markdown that renders.

twine is not part of MWAA's constraints: it runs from PATH, or through ``uv tool run``.
"""

from __future__ import annotations

import shutil
import subprocess
import tarfile
import zipfile
from email.message import Message
from email.parser import Parser
from pathlib import Path

import pytest

from airflow_mwaa_extras import __version__
from airflow_mwaa_extras.deploy.uv import find_uv

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    uv = find_uv()
    if uv is None:
        pytest.skip("uv is not installed")
    if not (REPO / "pyproject.toml").is_file():
        pytest.skip("not a source checkout")
    out = tmp_path_factory.mktemp("dist")
    proc = subprocess.run(
        [uv, "build", "--quiet", "--out-dir", str(out), str(REPO)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


def _wheel_metadata(dist: Path) -> Message:
    (wheel,) = dist.glob("airflow_mwaa_extras-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        (name,) = [n for n in zf.namelist() if n.endswith(".dist-info/METADATA")]
        return Parser().parsestr(zf.read(name).decode())


def _sdist_metadata(dist: Path) -> Message:
    (sdist,) = dist.glob("airflow_mwaa_extras-*.tar.gz")
    with tarfile.open(sdist) as tf:
        member = next(m for m in tf.getmembers() if m.name.count("/") == 1 and m.name.endswith("/PKG-INFO"))
        handle = tf.extractfile(member)
        assert handle is not None
        return Parser().parsestr(handle.read().decode())


def test_sdist_and_wheel_metadata_is_complete_and_the_same(dist: Path) -> None:
    wheel, sdist = _wheel_metadata(dist), _sdist_metadata(dist)
    for meta in (wheel, sdist):
        assert meta["Name"] == "airflow-mwaa-extras"
        assert meta["Version"] == __version__
        assert meta["Metadata-Version"] in ("2.1", "2.2", "2.3", "2.4", "2.5")
        assert meta["Summary"]
        assert meta["Requires-Python"] == ">=3.11"
    keys = ("Name", "Version", "Summary", "Requires-Python", "Description-Content-Type")
    assert {k: wheel[k] for k in keys} == {k: sdist[k] for k in keys}
    assert sorted(wheel.get_all("Requires-Dist") or []) == sorted(sdist.get_all("Requires-Dist") or [])


def test_readme_is_the_long_description_and_renders(dist: Path) -> None:
    meta = _wheel_metadata(dist)
    assert meta["Description-Content-Type"] == "text/markdown"
    body = str(meta.get_payload())
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert body.strip() == readme.strip()
    markdown_it = pytest.importorskip("markdown_it")
    html = markdown_it.MarkdownIt("commonmark").enable("table").render(body)
    assert "<h1>airflow-mwaa-extras</h1>" in html
    assert "<table>" in html  # the tested-versions table renders as a table


def test_twine_check(dist: Path) -> None:
    # twine itself: on PATH, or fetched from PyPI by uv (cached after the first run).
    twine = shutil.which("twine")
    uv = find_uv()
    command = [twine] if twine else [str(uv), "tool", "run", "twine"] if uv else None
    if command is None:
        pytest.skip("neither twine nor uv is installed (the checks above stand in for twine)")
    files = [str(p) for p in sorted([*dist.glob("*.whl"), *dist.glob("*.tar.gz")])]
    proc = subprocess.run(
        [*command, "check", "--strict", *files], capture_output=True, text=True, timeout=300
    )
    if proc.returncode != 0 and "Checking" not in proc.stdout:
        pytest.skip(f"twine could not be run: {(proc.stderr.strip().splitlines() or ['?'])[-1]}")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("PASSED") == len(files)
