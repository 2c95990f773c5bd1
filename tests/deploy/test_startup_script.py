from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from airflow_mwaa_extras.cli import main
from airflow_mwaa_extras.deploy.startup_script import (
    codeartifact_script,
    env_script,
    lint_startup_script,
    parse_assignments,
)
from airflow_mwaa_extras.exceptions import UsageError
from airflow_mwaa_extras.reserved_env_vars import RESERVED_ENV_VARS

CA = {
    "domain": "my-domain",
    "domain_owner": "123456789012",
    "region": "eu-west-1",
    "repository": "pypi-store",
}


def shellcheck(script: str, tmp_path: Path) -> None:
    binary = shutil.which("shellcheck")
    if binary is None:
        pytest.skip("shellcheck is not installed (apt-get install shellcheck)")
    path = tmp_path / "startup.sh"
    path.write_text(script)
    proc = subprocess.run(
        [binary, "--shell=sh", "--severity=style", str(path)], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout


@pytest.mark.parametrize(
    ("mode", "variable"), [("index", "PIP_INDEX_URL"), ("extra-index", "PIP_EXTRA_INDEX_URL")]
)
def test_codeartifact_script_passes_shellcheck(mode: str, variable: str, tmp_path: Path) -> None:
    script = codeartifact_script(**CA, mode=mode)
    assert script.startswith("#!/bin/sh\n")
    assert "set -eu\n" in script
    assert "jq" not in script.replace("no jq", "").replace("instead of jq", "")
    assert (
        f'export {variable}="https://aws:${{TOKEN}}@${{DOMAIN}}-${{DOMAIN_OWNER}}.d.codeartifact.' in script
    )
    shellcheck(script, tmp_path)


def test_codeartifact_script_runs_and_builds_the_url(tmp_path: Path) -> None:
    # A stand-in `aws` on PATH answers like the real CLI's `--query ... --output text`.
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    aws = fake_bin / "aws"
    aws.write_text('#!/bin/sh\necho "$*" > "$ARGS_FILE"\necho tok-123\n')
    aws.chmod(0o755)
    script = tmp_path / "startup.sh"
    script.write_text(codeartifact_script(**CA) + 'printf "%s" "$PIP_INDEX_URL"\n')
    env = {"PATH": f"{fake_bin}:/usr/bin:/bin", "ARGS_FILE": str(tmp_path / "args")}
    proc = subprocess.run(["sh", str(script)], capture_output=True, text=True, env=env, check=True)
    assert proc.stdout == (
        "https://aws:tok-123@my-domain-123456789012.d.codeartifact.eu-west-1.amazonaws.com/pypi/pypi-store/simple/"
    )
    args = (tmp_path / "args").read_text()
    assert "codeartifact get-authorization-token --domain my-domain --domain-owner 123456789012" in args


def test_codeartifact_script_stops_when_the_token_call_fails(tmp_path: Path) -> None:
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    (fake_bin / "aws").write_text("#!/bin/sh\necho denied >&2\nexit 255\n")
    (fake_bin / "aws").chmod(0o755)
    script = tmp_path / "startup.sh"
    script.write_text(codeartifact_script(**CA) + "echo reached\n")
    proc = subprocess.run(
        ["sh", str(script)], capture_output=True, text=True, env={"PATH": f"{fake_bin}:/usr/bin:/bin"}
    )
    assert proc.returncode != 0
    assert "reached" not in proc.stdout


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("domain", "My_Domain"),
        ("domain_owner", "12345"),
        ("region", "eu west 1"),
        ("repository", "repo; rm -rf /"),
    ],
)
def test_codeartifact_rejects_bad_values(field: str, value: str) -> None:
    with pytest.raises(UsageError, match="invalid"):
        codeartifact_script(**{**CA, field: value})


def test_env_script_exports_quoted_values_and_passes_shellcheck(tmp_path: Path) -> None:
    script = env_script(
        {"ENVIRONMENT_STAGE": "it's $HOME `x`"}, append={"LD_LIBRARY_PATH": "/usr/local/airflow/plugins/lib"}
    )
    shellcheck(script, tmp_path)
    path = tmp_path / "env.sh"
    path.write_text(script + 'printf "%s|%s" "$ENVIRONMENT_STAGE" "$LD_LIBRARY_PATH"\n')
    out = subprocess.run(
        ["sh", str(path)], capture_output=True, text=True, check=True, env={"LD_LIBRARY_PATH": "/opt/a"}
    ).stdout
    assert out == "it's $HOME `x`|/opt/a:/usr/local/airflow/plugins/lib"
    empty = subprocess.run(["sh", str(path)], capture_output=True, text=True, check=True, env={}).stdout
    assert empty.endswith("|/usr/local/airflow/plugins/lib")


@pytest.mark.parametrize("name", sorted(RESERVED_ENV_VARS)[:3] + ["AIRFLOW__CORE__EXECUTOR"])
def test_env_script_refuses_reserved_variables(name: str) -> None:
    with pytest.raises(UsageError, match=f"MWAA reserves {name}"):
        env_script({name: "x"})


def test_env_script_rejects_bad_names_and_input() -> None:
    with pytest.raises(UsageError, match="invalid variable name"):
        env_script({"1BAD": "x"})
    with pytest.raises(UsageError, match="at least one"):
        env_script({})
    with pytest.raises(UsageError, match="NAME=VALUE"):
        parse_assignments(["NOVALUE"])
    assert parse_assignments(["A=b=c"]) == {"A": "b=c"}


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ("export AIRFLOW_HOME=/tmp\n", [("startup.reserved-variable", 1)]),
        (
            "AWS_REGION=eu-west-1\nexport AWS_REGION\n",
            [("startup.reserved-variable", 1), ("startup.reserved-variable", 2)],
        ),
        ("export MY_STAGE=dev  # AIRFLOW_HOME=x in a comment\n", []),
        ("sudo yum update -y\n", [("startup.yum-update-python", 1)]),
        ("sudo yum update -y --exclude=python*\n", []),
        ("pip3 install mylib\n", [("startup.install-unguarded", 1)]),
        ('if [ "${MWAA_AIRFLOW_COMPONENT}" != "webserver" ]; then\n  sudo yum -y install libaio\nfi\n', []),
    ],
)
def test_lint_startup_script(script: str, expected: list[tuple[str, int]]) -> None:
    assert [(f.check, f.line) for f in lint_startup_script(script)] == expected


def test_cli_prints_scripts_and_refuses_reserved(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["startup-script", "env", "STAGE=dev", "--append", "PATH=/opt/bin"]) == 0
    assert "export STAGE='dev'" in capsys.readouterr().out
    assert main(["startup-script", "env", "AIRFLOW_HOME=/x"]) == 1
    assert "MWAA reserves AIRFLOW_HOME" in capsys.readouterr().err
    out = tmp_path / "ca.sh"
    args = ["startup-script", "codeartifact", "--domain", "d1", "--domain-owner", "123456789012"]
    assert main([*args, "--region", "us-east-1", "--repository", "r1", "--extra-index", "-o", str(out)]) == 0
    assert "PIP_EXTRA_INDEX_URL" in out.read_text()
    shellcheck(out.read_text(), tmp_path)
