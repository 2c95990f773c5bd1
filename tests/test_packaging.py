"""Installing the package under MWAA's constraints moved no pinned package."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

import airflow_mwaa_extras

DATA = Path(airflow_mwaa_extras.__file__).parent / "data" / "mwaa"
# Installed on purpose outside the constraints by ./dev: a standalone linter binary, and on
# 2.11.2 the test tool moto (with its parser), whose pinned release cannot parse that botocore's
# CloudWatch requests. MWAA installs none of them.
OUTSIDE_CONSTRAINTS = {"ruff"}
OUTSIDE_CONSTRAINTS_BY_VERSION = {"2.11.2": {"moto", "py-partiql-parser"}}


def _pins(path: Path) -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        req = Requirement(line)
        (spec,) = req.specifier
        pins[canonicalize_name(req.name)] = spec.version
    return pins


def _installed() -> dict[str, str]:
    return {canonicalize_name(d.metadata["Name"]): d.version for d in metadata.distributions()}


@pytest.fixture(scope="module")
def mwaa_dir() -> Path:
    airflow_version = metadata.version("apache-airflow")
    folder = DATA / airflow_version
    assert folder.is_dir(), f"no MWAA constraints shipped for Airflow {airflow_version}"
    return folder


def test_every_constrained_package_is_at_its_pinned_version(mwaa_dir: Path) -> None:
    pins = _pins(mwaa_dir / "airflow_constraints.txt")
    installed = _installed()
    assert len(pins) > 300  # the real file, not an empty stand-in
    moved = {
        name: (pins[name], version)
        for name, version in installed.items()
        if name in pins
        and name not in OUTSIDE_CONSTRAINTS | OUTSIDE_CONSTRAINTS_BY_VERSION.get(mwaa_dir.name, set())
        and pins[name] != version
    }
    assert moved == {}, f"packages moved away from MWAA's pins (pinned, installed): {moved}"


def test_mwaa_essential_pins_hold(mwaa_dir: Path) -> None:
    essential = _pins(mwaa_dir / "mwaa_essential_constraints.txt")
    installed = _installed()
    assert "apache-airflow" in essential
    wrong = {
        name: (pin, installed.get(name))
        for name, pin in essential.items()
        if name in installed and installed[name] != pin
    }
    assert wrong == {}


def test_our_requirements_have_lower_bounds_only() -> None:
    requires = metadata.requires("airflow-mwaa-extras") or []
    assert requires
    for text in requires:
        req = Requirement(text)
        for spec in req.specifier:
            assert spec.operator == ">=", f"{text}: only lower bounds keep MWAA's pins installable"
