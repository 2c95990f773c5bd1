"""Every fenced shell block of README.md and docs/*.md runs as written; every Python block compiles
and imports what it names. How to add a block: tests/docs/README.md.

One set of stand-ins for the whole module: moto's server, an Airflow home (SQLite) with the DAGs
and the connections and variables the docs name, and the MWAA stand-in serving it as
``analytics-prod``. Each block runs in ``bash -e`` in a workspace holding the files the docs
use, with ``mwaa-extras`` of this environment first on PATH.
"""

from __future__ import annotations

import ast
import importlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from airflow_mwaa_extras.deploy.uv import find_uv
from airflow_mwaa_extras.testing.airflow_home import create_airflow_home
from airflow_mwaa_extras.testing.local_aws import start_local_aws
from airflow_mwaa_extras.testing.mwaa_standin import start_mwaa_standin
from airflow_mwaa_extras.version_compat import AIRFLOW_VERSION
from tests.docs.doc_blocks import REPO, SHELL_LANGUAGES, DocBlock, all_blocks

HERE = Path(__file__).resolve().parent
# The docs' commands name MWAA 2.10.3 (constraint lines, --airflow-version): they run on that leg.
pytestmark = pytest.mark.skipif(
    str(AIRFLOW_VERSION) != "2.10.3", reason="the docs' commands are written for MWAA 2.10.3"
)
ENVIRONMENT = "analytics-prod"
BLOCK_TIMEOUT = 300
# Folders the docs use that the workspace gets from elsewhere in the repository.
COPIED = {
    "my-project": REPO / "tests" / "deploy" / "projects" / "clean",
    "plugins": HERE / "workspace" / "my-plugins",
    "examples/local_project": REPO / "examples" / "local_project",
}
SEED_COMMANDS = r"""
import json, sys
from airflow.cli import cli_parser
parser = cli_parser.get_parser()
for argv in json.loads(sys.argv[1]):
    args = parser.parse_args(argv)
    args.func(args)
"""


@dataclass
class DocStack:
    workspace: Path
    env: dict[str, str]


def _fake_home(root: Path) -> Path:
    # docs/deployment.md: `--python ~/venvs/airflow-2.10.3/bin/python`, this environment's.
    home = root / "user-home"
    (home / "venvs").mkdir(parents=True)
    (home / "venvs" / "airflow-2.10.3").symlink_to(Path(sys.prefix), target_is_directory=True)
    return home


def _seed(env: dict[str, str], root: Path) -> None:
    seed = json.loads((HERE / "seed.json").read_text())
    (root / "seed-connections.json").write_text(json.dumps(seed["connections"]))
    (root / "seed-variables.json").write_text(json.dumps(seed["variables"]))
    commands = [
        ["connections", "import", str(root / "seed-connections.json")],
        ["variables", "import", str(root / "seed-variables.json")],
        ["dags", "reserialize"],
        # The docs trigger load_sales as a user would: an active DAG (new DAGs start paused).
        ["dags", "unpause", "load_sales"],
    ]
    proc = subprocess.run(
        [sys.executable, "-c", SEED_COMMANDS, json.dumps(commands)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DocStack]:
    root = tmp_path_factory.mktemp("doc-blocks")
    workspace = root / "workspace"
    shutil.copytree(HERE / "workspace", workspace)
    for name, source in COPIED.items():
        shutil.copytree(source, workspace / name)
    aws = start_local_aws()
    home = create_airflow_home(root / "airflow", dags_folder=HERE / "dags")
    standin = start_mwaa_standin({ENVIRONMENT: home})
    try:
        s3, kms = aws.client("s3"), aws.client("kms")
        s3.create_bucket(Bucket="my-archive")
        kms.create_alias(AliasName="alias/airflow", TargetKeyId=kms.create_key()["KeyMetadata"]["KeyId"])
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "AWS_", "_MWAA_EXTRAS"))}
        env.update(home.env)
        env.update(aws.env)
        env.update(standin.env)  # the MWAA endpoint; moto accepts the stand-in's fake keys too
        tools = [str(Path(sys.executable).parent)]
        uv = find_uv()
        if uv:
            tools.append(str(Path(uv).parent))
        env["PATH"] = os.pathsep.join([*tools, env.get("PATH", "")])
        env["UV_CACHE_DIR"] = os.environ.get("UV_CACHE_DIR", str(Path.home() / ".cache" / "uv"))
        env["HOME"] = str(_fake_home(root))
        _seed(env, root)
        yield DocStack(workspace, env)
    finally:
        standin.stop()
        aws.stop()
        home.cleanup()


SHELL_BLOCKS = all_blocks(SHELL_LANGUAGES)
PYTHON_BLOCKS = all_blocks(frozenset({"python"}))


@pytest.mark.parametrize("block", SHELL_BLOCKS, ids=[b.id for b in SHELL_BLOCKS])
def test_shell_block_runs_as_written(block: DocBlock, stack: DocStack) -> None:
    if block.skip:
        pytest.skip(f"doc-test {block.id}: {block.skip}")
    proc = subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", block.script()],
        cwd=stack.workspace,
        env=stack.env,
        capture_output=True,
        text=True,
        timeout=BLOCK_TIMEOUT,
        check=False,
    )
    assert proc.returncode == 0, (
        f"{block.id} failed ({proc.returncode}):\n{block.script()}\n"
        f"--- stdout\n{proc.stdout[-3000:]}\n--- stderr\n{proc.stderr[-3000:]}"
    )


def _imports(tree: ast.AST) -> Iterator[tuple[str, str | None]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, None
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                yield node.module, alias.name


@pytest.mark.parametrize("block", PYTHON_BLOCKS, ids=[b.id for b in PYTHON_BLOCKS])
def test_python_block_compiles_and_its_imports_exist(block: DocBlock) -> None:
    if block.skip:
        pytest.skip(f"doc-test {block.id}: {block.skip}")
    tree = ast.parse(block.text, filename=block.id)
    compile(tree, block.id, "exec")
    for module, name in _imports(tree):
        imported = importlib.import_module(module)
        if name is not None and name != "*":
            assert hasattr(imported, name) or importlib.util.find_spec(f"{module}.{name}"), (
                f"{block.id}: {module} has no {name}"
            )
