"""``wheels build`` for real: uv resolves against PyPI, pip installs offline from the zip.

Needs uv and PyPI (as the resolver tests do). The offline install runs where this Python is
MWAA's CPython (3.11 = MWAA 2.x); for 3.x (CPython 3.12) a real resolver proves offline that
the zip's wheels plus MWAA's base set resolve for cp312 manylinux x86_64.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from airflow_mwaa_extras import __version__
from airflow_mwaa_extras.cli import main
from airflow_mwaa_extras.deploy import mwaa_data, mwaa_platform, wheel_lock, wheels
from airflow_mwaa_extras.deploy.dag_folder import check_dag_folder
from airflow_mwaa_extras.deploy.doctor import DoctorOptions, run_doctor
from airflow_mwaa_extras.deploy.plugins_zip import build_plugins_zip
from airflow_mwaa_extras.exceptions import MwaaExtrasError, UsageError
from airflow_mwaa_extras.testing import offline_install

PROJECTS = Path(__file__).resolve().parent / "projects"
# A pure-Python package, one with compiled wheels, one whose dependency (requests) MWAA has,
# one MWAA has itself; --self adds this package as its own wheel.
USER_REQUIREMENTS = (
    '--constraint "https://raw.githubusercontent.com/apache/airflow/constraints-{v}/constraints-{py}.txt"\n'
    "xmltodict\nmmh3\nrequests-file\nhumanize\n"
)
UNREACHABLE_INDEX = offline_install.UNREACHABLE_INDEX


def _uv() -> str:
    try:
        return wheel_lock.find_uv()
    except UsageError:
        pytest.skip("uv is not available")


def _build(tmp: Path, version: str, **kwargs: object) -> tuple[wheels.WheelsBuildResult, str]:
    _uv()
    req = tmp / "requirements.in"
    req.write_text(USER_REQUIREMENTS.format(v=version, py=mwaa_data.python_version_for(version)))
    result = wheels.build_wheels_zip(req, version, tmp / "out" / "plugins.zip", include_self=True, **kwargs)  # type: ignore[arg-type]
    return result, result.requirements_path.read_text()


@pytest.fixture(scope="module")
def built_331(tmp_path_factory: pytest.TempPathFactory) -> tuple[wheels.WheelsBuildResult, str]:
    return _build(tmp_path_factory.mktemp("w331"), "3.3.1")


def _wheel_names(zip_path: Path) -> list[str]:
    with zipfile.ZipFile(zip_path) as zf:
        return [n for n in zf.namelist() if n.endswith(".whl")]


# -- 3.x: platform and offline resolution ----------------------------------------------------


@pytest.mark.slow
def test_building_for_3x_on_any_python_yields_cp312_manylinux_x86_64_wheels_only(
    built_331: tuple[wheels.WheelsBuildResult, str],
) -> None:
    result, text = built_331
    names = _wheel_names(result.zip_path)
    assert {mwaa_platform.parse_wheel(n).name for n in names} == {  # type: ignore[union-attr]
        "xmltodict",
        "mmh3",
        "requests-file",
        "airflow-mwaa-extras",
    }
    for name in names:
        wheel = mwaa_platform.parse_wheel(name)
        assert wheel is not None
        for tag in wheel.tags:
            assert tag.interpreter in ("cp312", "py3", "py2") or tag.interpreter.startswith("cp3"), name
            assert tag.abi in ("cp312", "abi3", "none"), name
            assert tag.platform == "any" or (
                tag.platform.startswith("manylinux") and tag.platform.endswith("_x86_64")
            ), name
        assert wheel.fits("3.3.1"), name
    (mmh3,) = [n for n in names if n.startswith("mmh3-")]
    assert "-cp312-cp312-manylinux" in mmh3  # compiled for MWAA's CPython, not this machine's
    # humanize and requests (requests-file's dependency) come with MWAA: left out, and said so
    left = dict(result.left_out)
    assert "humanize" in left
    assert "requests" in left
    assert not any(n.startswith(("humanize-", "requests-2")) for n in names)
    lines = [line for line in text.splitlines() if not line.startswith("#")]
    assert lines[:2] == ["--find-links /usr/local/airflow/plugins", "--no-index"]
    assert f"airflow-mwaa-extras=={__version__}" in lines
    assert all("==" in line for line in lines[2:])
    # the zip is what `plugins build` writes: flat, 755, fixed timestamps
    with zipfile.ZipFile(result.zip_path) as zf:
        for info in zf.infolist():
            assert "/" not in info.filename
            assert (info.external_attr >> 16) & 0o777 == 0o755
            assert info.date_time == (1980, 1, 1, 0, 0, 0)


def _stub_wheel(folder: Path, name: str, version: str) -> None:
    """Stands for a package MWAA's image installed: pip does not look at its dependencies again."""
    dist = f"{name.replace('-', '_')}-{version}"
    with zipfile.ZipFile(folder / f"{dist}-py3-none-any.whl", "w") as zf:
        zf.writestr(
            f"{dist}.dist-info/METADATA", f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
        )
        zf.writestr(
            f"{dist}.dist-info/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        )
        zf.writestr(f"{dist}.dist-info/RECORD", "")


@pytest.mark.slow
def test_3x_requirements_resolve_offline_from_the_zip_and_mwaa_base(
    built_331: tuple[wheels.WheelsBuildResult, str], tmp_path: Path
) -> None:
    result, _ = built_331
    unpacked, base_dir = tmp_path / "plugins", tmp_path / "base"
    base_dir.mkdir()
    with zipfile.ZipFile(result.zip_path) as zf:
        zf.extractall(unpacked)
    base = mwaa_platform.mwaa_base("3.3.1")
    for name, version in base.items():
        _stub_wheel(base_dir, name, version)
    cmd = [_uv(), "pip", "compile", "--offline", "--no-index", "--no-header", "--no-annotate", "--quiet"]
    cmd += ["--find-links", str(base_dir)]
    cmd += [
        "--python-version",
        "3.12",
        "--python-platform",
        mwaa_platform.UV_PLATFORM,
        "--only-binary",
        ":all:",
    ]
    for name in ("airflow_constraints.txt", "mwaa_essential_constraints.txt"):
        cmd += ["-c", str(mwaa_data.constraints_file("3.3.1", name))]
    # as on MWAA, where the zip is unpacked at the --find-links path of the file
    req = tmp_path / "requirements.txt"
    req.write_text(result.requirements_path.read_text().replace(mwaa_platform.PLUGINS_DIR, str(unpacked)))
    cmd += [str(req)]
    env = {**os.environ, "UV_INDEX_URL": UNREACHABLE_INDEX, "PIP_INDEX_URL": UNREACHABLE_INDEX}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    resolved = dict(line.split("==") for line in proc.stdout.splitlines() if "==" in line)
    zip_versions = {w.name: str(w.version) for w in map(mwaa_platform.parse_wheel, os.listdir(unpacked)) if w}
    for name, version in resolved.items():
        # every package is either a wheel from the zip or MWAA's own, at MWAA's version
        assert zip_versions.get(name, base.get(name)) == version, name  # type: ignore[call-overload]
    assert {"xmltodict", "mmh3", "requests-file", "airflow-mwaa-extras"} <= set(resolved)


@pytest.mark.slow
def test_a_requirement_without_a_wheel_for_mwaa_fails_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _uv()
    req = tmp_path / "requirements.txt"
    req.write_text("xmltodict\ndocopt\n")  # docopt 0.6.2 (MWAA's pin) is a source distribution only
    rc = main(
        ["wheels", "build", str(req), "--airflow-version", "3.3.1", "-o", str(tmp_path / "plugins.zip")]
    )
    err = capsys.readouterr().err.strip()
    assert rc == 1
    assert len(err.splitlines()) == 1
    assert "no wheel for MWAA's platform (cp312 manylinux x86_64) of docopt==0.6.2" in err
    assert not (tmp_path / "plugins.zip").exists()


def test_a_requirement_that_would_move_an_mwaa_pin_fails(tmp_path: Path) -> None:
    _uv()
    req = tmp_path / "requirements.txt"
    req.write_text("requests==2.31.0\n")
    with pytest.raises(
        MwaaExtrasError, match="cannot resolve the requirements with MWAA 2.10.3's base install"
    ):
        wheels.build_wheels_zip(req, "2.10.3", tmp_path / "plugins.zip")


@pytest.mark.slow
def test_a_failed_build_leaves_the_last_zip_and_file_alone_and_a_rerun_completes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _uv()
    req = tmp_path / "requirements.in"
    req.write_text("xmltodict\n")
    zip_path, out_req = tmp_path / "plugins.zip", tmp_path / "requirements.txt"
    zip_path.write_bytes(b"last good zip")
    out_req.write_text("last good file\n")
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    # injected fault: the download cache cannot be written (a file stands where a folder must go)
    monkeypatch.setenv("MWAA_EXTRAS_CACHE_DIR", str(blocker / "cache"))
    args = ["wheels", "build", str(req), "--airflow-version", "2.10.3", "-o", str(zip_path)]
    assert main(args) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("mwaa-extras: error: cannot use the wheel cache")
    assert len(err.splitlines()) == 1
    assert zip_path.read_bytes() == b"last good zip"
    assert out_req.read_text() == "last good file\n"
    assert not list(tmp_path.glob("*.tmp"))
    monkeypatch.setenv("MWAA_EXTRAS_CACHE_DIR", str(tmp_path / "cache"))
    assert main(args) == 0
    assert _wheel_names(zip_path) == ["xmltodict-0.14.2-py2.py3-none-any.whl"]
    assert "xmltodict==0.14.2" in out_req.read_text()


# -- doctor before and after -----------------------------------------------------------------


def test_doctor_flags_a_missing_wheel_and_is_clean_after_wheels_build(tmp_path: Path) -> None:
    _uv()
    project = tmp_path / "project"
    shutil.copytree(PROJECTS / "clean", project)
    req = project / "requirements.txt"
    req.write_text(
        "--find-links /usr/local/airflow/plugins\n--no-index\nxmltodict==0.14.2\nhumanize==4.11.0\n"
    )
    build_plugins_zip(project / "plugins", project / "plugins.zip")
    shutil.rmtree(project / "plugins")
    options = DoctorOptions(airflow_version="2.10.3", parse_dags=False)
    before = run_doctor(project, options)
    missing = [f for f in before.findings if f.check == "requirements.missing-wheel"]
    assert [f.message.split(" in ")[0] for f in missing] == [
        "no cp311 manylinux x86_64 wheel for xmltodict==0.14.2"
    ]
    assert before.exit_code == 1

    with zipfile.ZipFile(project / "plugins.zip") as zf:
        zf.extractall(project / "plugins")
    rc = main(
        [
            "wheels",
            "build",
            str(req),
            "--airflow-version",
            "2.10.3",
            "-o",
            str(project / "plugins.zip"),
            "--plugins",
            str(project / "plugins"),
        ]
    )
    assert rc == 0
    shutil.rmtree(project / "plugins")
    after = run_doctor(project, options)
    assert [f for f in after.findings if f.severity == "error"] == []
    assert "requirements-offline" in after.checks_run
    assert "xmltodict==0.14.2" in req.read_text()


# -- 2.x: the offline install itself ---------------------------------------------------------


@pytest.fixture(scope="session")
def mwaa_base_venv_2103(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh environment with exactly MWAA 2.10.3's base install (uv from its cache: seconds)."""
    _uv()
    if sys.version_info[:2] != (3, 11):
        pytest.skip("the offline install needs CPython 3.11, MWAA 2.x's")
    return offline_install.mwaa_base_environment("2.10.3", tmp_path_factory.mktemp("mwaa-base") / "venv")


OFFLINE_DAG = """
from __future__ import annotations

import pendulum
from airflow import DAG
from airflow.operators.empty import EmptyOperator

import humanize
import mmh3
import requests_file
import xmltodict
from airflow_mwaa_extras.operators.remote_dag_run import MwaaTriggerRemoteDagRunOperator

assert xmltodict.parse("<a>1</a>") == {"a": "1"}
assert mmh3.hash("mwaa") == mmh3.hash("mwaa")
assert humanize.intcomma(1000) == "1,000"
assert requests_file.FileAdapter

with DAG("offline_wheels", start_date=pendulum.datetime(2024, 1, 1), schedule=None):
    EmptyOperator(task_id=f"size_{humanize.naturalsize(1024)}".replace(" ", "_").replace(".", "_"))
    MwaaTriggerRemoteDagRunOperator(task_id="remote", environment_name="env", remote_dag_id="d")
"""


@pytest.mark.slow
def test_offline_install_on_mwaa_2x_base_moves_no_pin_and_the_dag_parses(
    mwaa_base_venv_2103: Path, tmp_path: Path
) -> None:
    python = mwaa_base_venv_2103
    result, _ = _build(tmp_path, "2.10.3")
    args = (python, result.zip_path, result.requirements_path, "2.10.3", tmp_path)
    # First without the mmh3 wheel: no index may stand in for a missing wheel.
    missing = offline_install.install_offline(*args, leave_out=("mmh3-*",))
    assert missing.returncode != 0
    assert "mmh3" in missing.output
    assert not missing.added
    assert not missing.moved
    done = offline_install.install_offline(*args)
    assert done.returncode == 0, done.output[-3000:]
    assert not done.moved, f"MWAA pins moved: {sorted(done.moved)}"
    assert {line.split("==")[0].lower() for line in done.added} == {
        "xmltodict",
        "mmh3",
        "requests-file",
        "airflow-mwaa-extras",
    }
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "offline_wheels.py").write_text(OFFLINE_DAG)
    assert check_dag_folder(dags, None, python=str(python), timeout=300) == []
