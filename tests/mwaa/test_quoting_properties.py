"""Arguments with quotes, spaces, ``;``, ``$(...)``, backticks, newlines or non-ASCII reach the
remote ``airflow`` byte for byte, as one command: shell-style split (what the CLI endpoint and
the stand-in do), then Airflow's own argument parser, in-process."""

from __future__ import annotations

import json
import shlex
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_mwaa_extras.mwaa import commands as c
from airflow_mwaa_extras.version_compat import AIRFLOW_V_3_0_PLUS, AIRFLOW_VERSION
from tests.mwaa.airflow_parser import parse_remote

INSTALLED = str(AIRFLOW_VERSION)

NASTY = [
    "'",
    '"',
    ";",
    "$(touch /tmp/pwned)",
    "`id`",
    "\n",
    "\r\n",
    " ",
    "\t",
    "&&",
    "|",
    "\\",
    "--",
    "-",
    "é",
    "日本",
    "🚀",
    "#",
    "*",
    "~",
    "${HOME}",
    ">",
]
_chars = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
# Exactly "--" is refused by the builders (argparse drops it); test_commands.py covers that.
text = st.one_of(
    st.text(_chars, min_size=1, max_size=40),
    st.lists(st.sampled_from(NASTY) | st.text(_chars, min_size=1, max_size=4), min_size=1, max_size=8).map(
        "".join
    ),
).filter(lambda value: value != "--")
# Ids and names (DAG, run, variable, connection) may not hold line breaks: Airflow's error
# would show only the text after one (test_commands.py covers the refusal).
names = text.filter(lambda value: "\n" not in value and "\r" not in value)
json_scalars = st.none() | st.booleans() | st.integers(-(2**53), 2**53) | text
conf_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=8,
)
confs = st.dictionaries(text, conf_values, max_size=4)


def _split(cmd: c.AirflowCommand) -> list[str]:
    line = cmd.to_shell()
    argv = shlex.split(line)
    assert argv == list(cmd.argv), "the remote split differs from what was built"
    c.check_supported(line, INSTALLED)
    return argv


@settings(max_examples=500, deadline=None)
@given(dag_id=names, conf=confs, run_id=st.none() | names)
def test_trigger_arguments_survive_split_and_parse(
    dag_id: str, conf: dict[str, Any], run_id: str | None
) -> None:
    cmd = c.dags_trigger(dag_id, airflow_version=INSTALLED, conf=conf, run_id=run_id)
    args = parse_remote(_split(cmd))
    assert args.subcommand == "trigger"
    assert args.dag_id == dag_id
    assert json.loads(args.conf) == conf
    assert args.run_id == run_id


@settings(max_examples=300, deadline=None)
@given(key=names, value=conf_values, description=st.none() | text)
def test_variable_arguments_survive_split_and_parse(key: str, value: Any, description: str | None) -> None:
    cmd = c.variables_set(key, value, description=description)
    args = parse_remote(_split(cmd))
    assert args.key == key
    assert args.value == (value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))
    assert args.description == description
    assert args.subcommand == "set"


@settings(max_examples=250, deadline=None)
@given(conn_id=names, login=text, password=text, host=text, dag_id=names, run_id=names)
def test_connection_and_run_arguments_survive_split_and_parse(
    conn_id: str, login: str, password: str, host: str, dag_id: str, run_id: str
) -> None:
    add = parse_remote(
        _split(
            c.connections_add(
                conn_id,
                conn_type="http",
                login=login,
                password=password,
                host=host,
            )
        )
    )
    assert add.subcommand == "add"
    assert (add.conn_id, add.conn_login, add.conn_password, add.conn_host) == (conn_id, login, password, host)
    states = parse_remote(_split(c.tasks_states_for_dag_run(dag_id, run_id)))
    run_field = "logical_date_or_run_id" if AIRFLOW_V_3_0_PLUS else "execution_date_or_run_id"
    assert (states.dag_id, getattr(states, run_field)) == (dag_id, run_id)
    runs = parse_remote(_split(c.dags_list_runs(dag_id, airflow_version=INSTALLED)))
    assert runs.dag_id == dag_id
