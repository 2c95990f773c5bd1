"""wheels build's parts and the --no-index checks, offline (no resolver, no PyPI)."""

from __future__ import annotations

import hashlib
import http.server
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from packaging.tags import Tag

from airflow_mwaa_extras.cli import main
from airflow_mwaa_extras.deploy import mwaa_data, mwaa_platform, requirements, wheel_files, wheel_lock, wheels
from airflow_mwaa_extras.deploy.offline import check_offline
from airflow_mwaa_extras.deploy.plugins_zip import build_plugins_zip
from airflow_mwaa_extras.exceptions import MwaaExtrasError, UsageError

HEAD = "--find-links /usr/local/airflow/plugins\n--no-index\n"


def make_wheel(
    folder: Path, name: str, version: str, tag: str = "py3-none-any", requires: tuple[str, ...] = ()
) -> Path:
    """A minimal but valid wheel: METADATA with Requires-Dist, WHEEL, RECORD."""
    dist = f"{name.replace('-', '_')}-{version}"
    path = folder / f"{dist}-{tag}.whl"
    meta = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    meta += "".join(f"Requires-Dist: {r}\n" for r in requires)
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(f"{name.replace('-', '_')}/__init__.py", "")
        zf.writestr(f"{dist}.dist-info/METADATA", meta)
        zf.writestr(f"{dist}.dist-info/WHEEL", f"Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: {tag}\n")
        zf.writestr(f"{dist}.dist-info/RECORD", "")
    return path


def plugins_with(tmp_path: Path, *wheel_specs: tuple[str, str, str, tuple[str, ...]]) -> Path:
    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "my_plugin.py").write_text("X = 1\n")
    for name, version, tag, requires in wheel_specs:
        make_wheel(folder, name, version, tag, requires)
    return build_plugins_zip(folder, tmp_path / "plugins.zip").path


def checks(findings: list) -> dict[str, str]:  # type: ignore[type-arg]
    return {f.check: f.message for f in findings}


# -- platform --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "fits", "misfits"),
    [
        pytest.param(
            "3.3.1",
            [
                "cp312-cp312-manylinux_2_17_x86_64",
                "cp312-abi3-manylinux2014_x86_64",
                "py3-none-any",
                "cp38-abi3-manylinux_2_28_x86_64",
            ],
            [
                "cp311-cp311-manylinux_2_17_x86_64",
                "cp312-cp312-macosx_11_0_arm64",
                "cp312-cp312-musllinux_1_2_x86_64",
                "cp312-cp312-manylinux_2_34_x86_64",
                "cp312-cp312-manylinux_2_17_aarch64",
                "cp312-cp312-linux_x86_64",
            ],
            id="3.x-cp312",
        ),
        pytest.param(
            "2.10.3",
            ["cp311-cp311-manylinux1_x86_64", "py2.py3-none-any"],
            ["cp312-cp312-manylinux_2_17_x86_64", "cp311-cp311-win_amd64"],
            id="2.x-cp311",
        ),
    ],
)
def test_target_tags_are_mwaa_cpython_on_manylinux_x86_64(
    version: str, fits: list[str], misfits: list[str]
) -> None:
    tags = set(mwaa_platform.target_tags(version))
    for spec in fits:
        wheel = mwaa_platform.parse_wheel(f"x-1.0-{spec}.whl")
        assert wheel is not None, spec
        assert wheel.fits(version), spec
    for spec in misfits:
        assert Tag(*spec.split("-")) not in tags, spec


def test_base_install_ships_for_every_version() -> None:
    for version in mwaa_data.supported_versions():
        base = mwaa_platform.mwaa_base(version)
        assert base["apache-airflow"] == version
        # what the constraints pin, the base has at that version
        pins = mwaa_data.airflow_constraints(version)
        assert all(base[n] == pins[n] for n in base if n in pins), version


# -- requirements in and out -----------------------------------------------------------------


def test_read_user_requirements_drops_mwaa_side_options(tmp_path: Path) -> None:
    path = tmp_path / "requirements.txt"
    path.write_text(
        '--constraint "https://raw.githubusercontent.com/apache/airflow/constraints-2.10.3/constraints-3.11.txt"\n'
        + HEAD
        + "--index-url https://mirror.example/simple\nhumanize>=4  # comment\nmmh3[x]; python_version >= '3'\n"
    )
    reqs, cleaned = wheels.read_user_requirements(path)
    assert [r.name for r in reqs] == ["humanize", "mmh3"]
    assert "constraint" not in cleaned
    assert "--no-index" not in cleaned
    assert "find-links" not in cleaned
    assert "--index-url https://mirror.example/simple" in cleaned


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("-r other.txt\n", "-r is not supported", id="include"),
        pytest.param("pkg @ https://example.com/pkg.whl\n", "give a version", id="url"),
        pytest.param("pkg >>= 1\n", "cannot parse", id="invalid"),
        pytest.param(HEAD, "lists no requirement", id="empty"),
    ],
)
def test_read_user_requirements_rejects_in_one_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "requirements.txt"
    path.write_text(text)
    with pytest.raises(UsageError, match=message) as err:
        wheels.read_user_requirements(path)
    assert "\n" not in str(err.value)


def test_rendered_requirements_follow_the_guide_and_pass_the_checks() -> None:
    text = wheels.render_requirements("2.10.3", ["humanize==4.11.0", "xmltodict==0.14.2"])
    lines = [line for line in text.splitlines() if not line.startswith("#")]
    assert lines[:2] == ["--find-links /usr/local/airflow/plugins", "--no-index"]
    # MWAA greps every line, comments included, for "-c " / "--constraint ": none may match
    assert not requirements.MWAA_CONSTRAINT_PATTERN.search(text)
    found = requirements.check_requirements(text, "2.10.3")
    assert [f.check for f in found if f.severity == "error"] == []
    assert "requirements.constraint-image" in {f.check for f in found}


def test_a_file_without_no_index_still_needs_its_constraint_line() -> None:
    found = requirements.check_requirements("humanize==4.11.0\n", "2.10.3")
    assert "requirements.constraint-missing" in {f.check for f in found}


# -- downloads: hash-checked, retried, cached ------------------------------------------------


class _Faulty(http.server.BaseHTTPRequestHandler):
    plan: list[str] = []
    body = b""
    hits = 0

    def do_GET(self) -> None:
        type(self).hits += 1
        mode = self.plan.pop(0) if self.plan else "ok"
        if mode == "drop":  # announce the whole body, send half, hang up
            self.send_response(200)
            self.send_header("Content-Length", str(len(self.body)))
            self.end_headers()
            self.wfile.write(self.body[: len(self.body) // 2])
            self.wfile.flush()
            self.connection.close()
            return
        data = b"not the wheel" if mode == "corrupt" else self.body
        self.send_response(503 if mode == "503" else 200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def wheel_server(tmp_path: Path) -> Iterator[tuple[str, type[_Faulty]]]:
    wheel = make_wheel(tmp_path, "demo-pkg", "1.0")
    handler = type("Handler", (_Faulty,), {"plan": [], "body": wheel.read_bytes(), "hits": 0})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/{wheel.name}", handler
    server.shutdown()
    server.server_close()


def test_download_survives_corruption_a_dropped_connection_and_a_503(
    tmp_path: Path, wheel_server: tuple[str, type[_Faulty]]
) -> None:
    url, handler = wheel_server
    sha = hashlib.sha256(handler.body).hexdigest()
    locked = wheel_lock.LockedWheel(url.rsplit("/", 1)[1], url, sha, None)
    cache = tmp_path / "cache"
    handler.plan = ["corrupt", "drop"]
    path = wheel_files.fetch_wheel(locked, cache=cache)
    assert path.read_bytes() == handler.body
    assert handler.hits == 3
    assert wheel_files.fetch_wheel(locked, cache=cache) == path
    assert handler.hits == 3
    path.write_bytes(b"tampered")  # a damaged cache entry is fetched again, never used
    handler.plan = ["503"]
    assert wheel_files.fetch_wheel(locked, cache=cache).read_bytes() == handler.body
    assert not list(cache.rglob("*.part"))


def test_download_gives_up_in_one_line_and_leaves_nothing(
    tmp_path: Path, wheel_server: tuple[str, type[_Faulty]]
) -> None:
    url, handler = wheel_server
    locked = wheel_lock.LockedWheel(url.rsplit("/", 1)[1], url, "0" * 64, None)
    with pytest.raises(
        MwaaExtrasError, match=r"cannot download demo_pkg-1.0-py3-none-any.whl .*3 tries.*sha256"
    ):
        wheel_files.fetch_wheel(locked, cache=tmp_path / "cache")
    assert handler.hits == wheel_files.DOWNLOAD_ATTEMPTS
    assert not [p for p in (tmp_path / "cache").rglob("*") if p.is_file()]


def test_best_wheel_picks_what_pip_on_mwaa_would() -> None:
    pkg = wheel_lock.LockedPackage(
        "x",  # type: ignore[arg-type]
        "1.0",
        tuple(
            wheel_lock.LockedWheel(f"x-1.0-{tag}.whl", f"https://h/x-1.0-{tag}.whl", "0" * 64, None)
            for tag in (
                "py3-none-any",
                "cp312-abi3-manylinux2014_x86_64",
                "cp312-cp312-manylinux_2_17_x86_64",
                "cp311-cp311-manylinux_2_17_x86_64",
            )
        ),
    )
    best = wheel_lock.best_wheel(pkg, "3.3.1")
    assert best is not None
    assert best.filename == "x-1.0-cp312-cp312-manylinux_2_17_x86_64.whl"
    best = wheel_lock.best_wheel(pkg, "2.10.3")
    assert best is not None
    assert best.filename == "x-1.0-cp311-cp311-manylinux_2_17_x86_64.whl"
    sdist_only = wheel_lock.LockedPackage("y", "1.0", ())  # type: ignore[arg-type]
    assert wheel_lock.best_wheel(sdist_only, "3.3.1") is None


# -- the --no-index checks (doctor, requirements check) --------------------------------------


def test_no_index_file_with_every_wheel_is_clean(tmp_path: Path) -> None:
    # requests (a dependency) comes from MWAA's image; leaf comes as a wheel
    zip_path = plugins_with(
        tmp_path,
        (
            "demo-pkg",
            "1.0",
            "py3-none-any",
            ("requests>=2", "leaf==2.0", "never; python_version < '3'", "opt; extra == 'x'"),
        ),
        ("leaf", "2.0", "cp311-cp311-manylinux_2_17_x86_64", ()),
    )
    assert check_offline(HEAD + "demo-pkg==1.0\n", "2.10.3", zip_path) == []


def test_missing_requirement_and_missing_dependency_are_errors_naming_the_wheel(tmp_path: Path) -> None:
    zip_path = plugins_with(tmp_path, ("demo-pkg", "1.0", "py3-none-any", ("leaf>=2", "opt; extra == 'x'")))
    found = check_offline(HEAD + "demo-pkg[x]==1.0\nabsent==3.1\n", "2.10.3", zip_path)
    errors = [f.message for f in found if f.severity == "error"]
    assert any("wheel for absent==3.1 in plugins.zip" in m for m in errors)
    assert any("leaf>=2 (needed by demo-pkg)" in m for m in errors)
    assert any("wheel for opt (needed by demo-pkg)" in m for m in errors)  # the extra asks for it


def test_wheel_for_another_platform_is_a_warning_and_does_not_count(tmp_path: Path) -> None:
    zip_path = plugins_with(tmp_path, ("demo-pkg", "1.0", "cp312-cp312-macosx_11_0_arm64", ()))
    found = checks(check_offline(HEAD + "demo-pkg==1.0\n", "2.10.3", zip_path))
    assert (
        "macosx_11_0_arm64.whl does not fit MWAA's platform (cp311 manylinux x86_64)"
        in found["requirements.wheel-platform"]
    )
    assert "requirements.missing-wheel" in found


def test_find_links_elsewhere_and_oversized_zip_are_warnings(tmp_path: Path) -> None:
    zip_path = plugins_with(tmp_path, ("demo-pkg", "1.0", "py3-none-any", ()))
    text = "--find-links https://wheels.example/\n--no-index\ndemo-pkg==1.0\n"
    found = check_offline(text, "2.10.3", zip_path, size_limit=10)
    severities = {f.check: f.severity for f in found}
    assert severities == {
        "requirements.find-links-elsewhere": "warning",
        "requirements.plugins-size": "warning",
    }


def test_no_index_without_a_zip_or_find_links_is_an_error(tmp_path: Path) -> None:
    found = checks(check_offline("--no-index\nhumanize\n", "2.10.3", None))
    assert set(found) == {"requirements.no-find-links", "requirements.no-plugins-zip"}
    assert check_offline("humanize==4.11.0\n", "2.10.3", None) == []  # not offline: not this check


def test_extras_of_an_mwaa_package_are_a_warning(tmp_path: Path) -> None:
    zip_path = plugins_with(tmp_path, ("demo-pkg", "1.0", "py3-none-any", ()))
    found = check_offline(HEAD + "apache-airflow-providers-amazon[pandas]\ndemo-pkg\n", "2.10.3", zip_path)
    assert [(f.check, f.severity) for f in found] == [("requirements.base-extras", "warning")]


def test_base_conflict_and_constraint_pin_are_errors(tmp_path: Path) -> None:
    zip_path = plugins_with(tmp_path, ("docopt", "0.6.1", "py3-none-any", ()))
    found = checks(check_offline(HEAD + "requests<2\ndocopt\n", "2.10.3", zip_path))
    assert "conflicts with requests==" in found["requirements.base-conflict"]
    assert "pin docopt==0.6.2" in found["requirements.wheel-constraint"]


def test_requirements_check_reads_the_zip_beside_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plugins_with(tmp_path, ("demo-pkg", "1.0", "py3-none-any", ("leaf>=2",)))
    req = tmp_path / "requirements.txt"
    req.write_text(HEAD + "demo-pkg==1.0\n")
    assert main(["requirements", "check", str(req), "--airflow-version", "2.10.3"]) == 1
    out = capsys.readouterr().out
    assert "no cp311 manylinux x86_64 wheel for leaf>=2 (needed by demo-pkg) in plugins.zip" in out
    other = tmp_path / "elsewhere.zip"
    (tmp_path / "plugins.zip").rename(other)
    assert (
        main(["requirements", "check", str(req), "--airflow-version", "2.10.3", "--plugins-zip", str(other)])
        == 1
    )
    assert "in elsewhere.zip" in capsys.readouterr().out


def test_wheels_base_lists_the_shipped_image(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["wheels", "base", "--airflow-version", "3.3.1"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "apache-airflow==3.3.1" in out
    assert "apache-airflow-providers-fab" in {line.split("==")[0] for line in out}
    assert main(["wheels", "base", "--airflow-version", "3.3.1", "--write"]) == 1
    assert capsys.readouterr().err.strip() == "mwaa-extras: error: --write needs --refresh"
