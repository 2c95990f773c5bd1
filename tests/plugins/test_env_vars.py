"""The environment-variables plugin: parsing, idempotent PATH merging, reserved names, real processes."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from airflow_mwaa_extras.plugins._common import PluginConfigError
from airflow_mwaa_extras.plugins.env_vars import (
    EnvChanges,
    apply_changes,
    configured_changes,
    merge_path,
    parse_ini,
    parse_json,
)
from airflow_mwaa_extras.reserved_env_vars import RESERVED_ENV_VARS, is_reserved
from airflow_mwaa_extras.testing.airflow_home import AirflowHome
from tests.plugins._helpers import EXAMPLE_DAGS, plugins_json


@pytest.mark.parametrize(
    ("current", "entries", "prepend", "expected"),
    [
        (None, ["/a"], True, "/a"),
        ("", ["/a", "/b"], False, "/a:/b"),
        ("/usr/bin:/bin", ["/a"], True, "/a:/usr/bin:/bin"),
        ("/usr/bin:/bin", ["/a"], False, "/usr/bin:/bin:/a"),
        ("/a:/usr/bin", ["/a"], True, "/a:/usr/bin"),
        ("/usr/bin:/a", ["/a"], True, "/a:/usr/bin"),
        ("/a:/usr/bin", ["/a"], False, "/a:/usr/bin"),
        ("/usr/bin", ["/a", "/a", "/b"], True, "/a:/b:/usr/bin"),
    ],
    ids=[
        "prepend-to-unset",
        "append-to-empty",
        "prepend",
        "append",
        "prepend-already-first",
        "prepend-moves-to-front",
        "append-already-present",
        "duplicate-entries-once",
    ],
)
def test_merge_path(current: str | None, entries: list[str], prepend: bool, expected: str) -> None:
    assert merge_path(current, entries, prepend=prepend) == expected
    # Loading again (a child process inherits the result) changes nothing.
    assert merge_path(expected, entries, prepend=prepend) == expected


def test_json_and_ini_documents_mean_the_same() -> None:
    from_json = parse_json(
        json.dumps(
            {
                "set": {"JAVA_HOME": "/usr/lib/jvm/jre", "GONE": None},
                "unset": ["DPI_DEBUG_LEVEL"],
                "prepend": {"PATH": ["{plugins_folder}/bin"]},
                "append": {"CLASSPATH": "{plugins_folder}/a.jar:{plugins_folder}/b.jar"},
            }
        ),
        "test",
        plugins_folder="/usr/local/airflow/plugins",
    )
    from_ini = parse_ini(
        "[set]\nJAVA_HOME = /usr/lib/jvm/jre\n"
        "[unset]\nGONE\nDPI_DEBUG_LEVEL\n"
        "[prepend]\nPATH = {plugins_folder}/bin\n"
        "[append]\nCLASSPATH = {plugins_folder}/a.jar:{plugins_folder}/b.jar\n",
        "test",
        plugins_folder="/usr/local/airflow/plugins",
    )
    for changes in (from_json, from_ini):
        assert changes.set == {"JAVA_HOME": "/usr/lib/jvm/jre"}
        assert sorted(changes.unset) == ["DPI_DEBUG_LEVEL", "GONE"]
        assert changes.prepend == {"PATH": ["/usr/local/airflow/plugins/bin"]}
        assert changes.append == {
            "CLASSPATH": ["/usr/local/airflow/plugins/a.jar", "/usr/local/airflow/plugins/b.jar"]
        }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "not valid JSON"),
        ('["PATH"]', "expected a JSON object"),
        ('{"sett": {}}', "unknown key(s) sett"),
        ('{"set": {"BAD-NAME": "x"}}', "not a valid environment variable name"),
        ('{"set": {"X": ["a"]}}', "must be a string"),
        ('{"prepend": {"PATH": 3}}', "expected a string or a list of strings"),
    ],
    ids=["syntax", "not-object", "unknown-key", "bad-name", "bad-value", "bad-entries"],
)
def test_bad_documents_name_the_problem(text: str, message: str) -> None:
    with pytest.raises(PluginConfigError, match="test:") as info:
        parse_json(text, "test")
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_reserved_variables_are_refused_and_left_alone(caplog: pytest.LogCaptureFixture) -> None:
    environ = {"AIRFLOW__CORE__EXECUTOR": "CeleryExecutor", "PATH": "/usr/bin"}
    changes = EnvChanges(
        set={"AIRFLOW__CORE__EXECUTOR": "LocalExecutor", "JAVA_HOME": "/jre"},
        unset=["AIRFLOW_HOME"],
        prepend={"AWS_REGION": ["x"], "PATH": ["/opt/bin"]},
    )
    with caplog.at_level(logging.WARNING, logger="airflow_mwaa_extras.plugins.env_vars"):
        changed = apply_changes(changes, environ)
    assert environ == {
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "PATH": "/opt/bin:/usr/bin",
        "JAVA_HOME": "/jre",
    }
    assert changed == ["JAVA_HOME", "PATH"]
    refused = [r.getMessage() for r in caplog.records if "refusing" in r.getMessage()]
    assert len(refused) == 3
    assert any("AIRFLOW__CORE__EXECUTOR" in line and "MWAA reserves it" in line for line in refused)


def test_reserved_variable_warning_is_said_once(caplog: pytest.LogCaptureFixture) -> None:
    # Every process and every task log used to repeat it; a task runner inherits the marker.
    changes = EnvChanges(set={"AIRFLOW__METRICS__STATSD_PREFIX": "x"})
    with caplog.at_level(logging.WARNING, logger="airflow_mwaa_extras.plugins.env_vars"):
        apply_changes(changes, {})
        apply_changes(changes, {})
    refused = [r.getMessage() for r in caplog.records if "refusing" in r.getMessage()]
    assert len(refused) == 1
    assert any(key.startswith("_MWAA_EXTRAS_SAID_ENV_VARS_RESERVED_") for key in os.environ)


def test_inline_prepend_comes_before_the_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The file is applied first, then the inline option: the later prepend wins the front.
    (tmp_path / "env.json").write_text('{"prepend": {"PATH": ["/from-file"]}, "append": {"CP": "/f"}}')
    monkeypatch.setenv("AIRFLOW__MWAA_EXTRAS__ENV_VARS_FILE", str(tmp_path / "env.json"))
    monkeypatch.setenv(
        "AIRFLOW__MWAA_EXTRAS__ENV_VARS", '{"prepend": {"PATH": "/inline"}, "append": {"CP": "/i"}}'
    )
    environ = {"PATH": "/usr/bin"}
    apply_changes(configured_changes(), environ)
    assert environ == {"PATH": "/inline:/from-file:/usr/bin", "CP": "/f:/i"}


def test_reserved_list_covers_the_guide() -> None:
    assert is_reserved("AIRFLOW__CORE__FERNET_KEY")
    assert is_reserved("MWAA_AIRFLOW_COMPONENT")
    assert not is_reserved("PATH")
    assert not is_reserved("LD_LIBRARY_PATH")
    assert len(RESERVED_ENV_VARS) == 34  # the guide's 33 names, plus the correct MWAA_AIRFLOW_COMPONENT


# --- real processes -----------------------------------------------------------------------------

CHAIN = r"""
import os, subprocess, sys
import airflow  # core.lazy_load_plugins = False: the plugins load here, as on MWAA
print("PARENT", os.environ.get("PATH"), os.environ.get("CLASSPATH"), os.environ.get("JAVA_HOME"), os.environ.get("GONE"))
child = "import os, airflow; print('CHILD', os.environ.get('PATH'), os.environ.get('CLASSPATH'), os.environ.get('JAVA_HOME'), os.environ.get('GONE'))"
print(subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1])
"""


@pytest.mark.slow
def test_several_processes_loading_it_do_not_duplicate_entries(
    make_airflow_home: Callable[..., AirflowHome],
) -> None:
    home = make_airflow_home("env-chain")
    (home.plugins_folder / "env_vars.ini").write_text(
        "[set]\nJAVA_HOME = {plugins_folder}/jre\n[unset]\nGONE\n[prepend]\nPATH = {plugins_folder}/bin\n"
        "[append]\nCLASSPATH = {plugins_folder}/lib/a.jar\n"
    )
    env = home.full_env({"AIRFLOW__MWAA_EXTRAS__ENV_VARS_FILE": "env_vars.ini", "GONE": "x"})
    env.pop("CLASSPATH", None)  # unset: the guide's plugin crashed here
    proc = subprocess.run(
        [sys.executable, "-c", CHAIN], env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = {
        line.split(" ", 1)[0]: line.split(" ")[1:]
        for line in proc.stdout.splitlines()
        if line[:5] in ("PAREN", "CHILD")
    }
    plugins = str(home.plugins_folder)
    expected_path = f"{plugins}/bin:{os.environ['PATH']}"
    for who in ("PARENT", "CHILD"):
        path, classpath, java_home, gone = lines[who]
        assert path == expected_path, who
        assert path.split(":").count(f"{plugins}/bin") == 1
        assert classpath == f"{plugins}/lib/a.jar", who
        assert java_home == f"{plugins}/jre", who
        assert gone == "None", who


@pytest.mark.slow
def test_example_dag_sees_the_variables_and_reserved_ones_stay(
    make_airflow_home: Callable[..., AirflowHome],
) -> None:
    home = make_airflow_home("env-dag", dags_folder=EXAMPLE_DAGS)
    inline = {
        "set": {"JAVA_HOME": "/usr/lib/jvm/jre", "AIRFLOW__CORE__LOAD_EXAMPLES": "True"},
        "prepend": {"LD_LIBRARY_PATH": ["{plugins_folder}/instantclient_18_5"]},
    }
    proc = home.airflow(
        "dags",
        "test",
        "example_mwaa_extras_env_vars",
        check=False,
        extra_env={
            "AIRFLOW__MWAA_EXTRAS__ENV_VARS": json.dumps(inline),
            "MWAA_EXTRAS_EXAMPLE_ENV_NAMES": "JAVA_HOME,LD_LIBRARY_PATH,AIRFLOW__CORE__LOAD_EXAMPLES",
        },
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert "MWAA_EXTRAS_ENV JAVA_HOME=/usr/lib/jvm/jre" in out
    assert f"MWAA_EXTRAS_ENV LD_LIBRARY_PATH={home.plugins_folder}/instantclient_18_5" in out
    assert "MWAA_EXTRAS_ENV AIRFLOW__CORE__LOAD_EXAMPLES=False" in out
    assert "refusing to change AIRFLOW__CORE__LOAD_EXAMPLES: MWAA reserves it" in out


@pytest.mark.slow
def test_a_broken_file_changes_nothing_and_is_a_plugin_import_error(
    make_airflow_home: Callable[..., AirflowHome],
) -> None:
    home = make_airflow_home("env-broken")
    (home.plugins_folder / "env_vars.json").write_text(
        '{"set": {"JAVA_HOME": "/jre"}, "prepend": {"PATH": 1}}'
    )
    proc = home.airflow(
        "plugins",
        "-o",
        "json",
        check=False,
        extra_env={"AIRFLOW__MWAA_EXTRAS__ENV_VARS_FILE": "env_vars.json"},
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert "prepend.PATH: expected a string or a list of strings, got 1" in out
    listed = [p["name"] for p in plugins_json(proc.stdout)]
    assert "mwaa_extras_env_vars" not in listed  # Airflow dropped it, the others still load
    assert "mwaa_extras_timezone" in listed
    assert "timezone plugin" not in out  # [mwaa_extras] timezone unset: no change, nothing said
