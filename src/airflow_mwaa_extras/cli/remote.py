"""``mwaa-extras run | trigger | variables import | login-url``: an MWAA environment's Airflow CLI.

All four talk to MWAA through :class:`~airflow_mwaa_extras.mwaa.client.MwaaEnvironmentClient`
(CLI token, ``/aws_mwaa/cli``); ``trigger`` goes through the same retry-safe trigger code as the
operator and the Lambda handler (:meth:`~airflow_mwaa_extras.mwaa.dag_runs.RemoteDagRuns.trigger`).
boto3 is imported only when a command runs.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow_mwaa_extras.exceptions import MwaaExtrasError, UsageError

if TYPE_CHECKING:
    from airflow_mwaa_extras.mwaa.client import MwaaEnvironmentClient

__all__ = ["default_run_id", "register"]


def register(subparsers: Any) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("environment", metavar="ENV", help="the MWAA environment name")
    common.add_argument("--region", help="AWS region (default: boto3's configuration)")
    common.add_argument(
        "--endpoint-url",
        help="MWAA API endpoint (default: $AWS_ENDPOINT_URL_MWAA or AWS's; e.g. the local stand-in)",
    )
    common.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for one command (300)")

    run = subparsers.add_parser(
        "run",
        parents=[common],
        help="run an Airflow CLI command in an MWAA environment",
        description="Run one Airflow CLI command in an MWAA environment through its CLI endpoint and "
        "print the decoded stdout and stderr. Exits 1 when the command failed. "
        "Options go before ENV. Example: mwaa-extras run prod -- dags list-runs -d my_dag",
    )
    run.add_argument(
        "--allow-unlisted",
        action="store_true",
        help="send a command the client's table of MWAA commands does not list (MWAA adds commands "
        "over time; also MWAA_EXTRAS_ALLOW_UNLISTED_COMMANDS=1)",
    )
    # REMAINDER keeps a `--` inside the command (`-- variables set -- k -x`); `*` would drop it.
    run.add_argument(
        "command", nargs=argparse.REMAINDER, metavar="-- COMMAND", help="the Airflow command, after --"
    )
    run.set_defaults(func=_run)

    trigger = subparsers.add_parser(
        "trigger",
        parents=[common],
        help="trigger a DAG run in an MWAA environment",
        description="Trigger a DAG in an MWAA environment (dags trigger) and print the run id.",
    )
    trigger.add_argument("dag_id", metavar="DAG_ID")
    conf = trigger.add_mutually_exclusive_group()
    conf.add_argument("--conf", help="the run's conf, a JSON object")
    conf.add_argument(
        "--conf-file",
        metavar="PATH",
        help="read the conf (a JSON object) from a file, or from stdin with '-' (for a conf too big "
        "for one shell argument)",
    )
    trigger.add_argument("--run-id", help="the run id (default: manual__<now in UTC>)")
    trigger.add_argument("--logical-date", help="the logical date (ISO 8601)")
    trigger.add_argument(
        "--transport",
        choices=("auto", "rest_api", "cli"),
        default="auto",
        help="InvokeRestApi (rest_api), the CLI endpoint (cli), or auto: InvokeRestApi when botocore has it",
    )
    trigger.add_argument(
        "--allow-paused", action="store_true", help="trigger even when the DAG is paused (the run then waits)"
    )
    trigger.set_defaults(func=_trigger)

    variables = subparsers.add_parser("variables", help="Airflow variables in an MWAA environment")
    variables_sub = variables.add_subparsers(dest="variables_command", metavar="COMMAND", required=True)
    importer = variables_sub.add_parser(
        "import",
        parents=[common],
        help="import variables from a JSON file (one `variables set` per key)",
        description="Import a JSON object of variables into an MWAA environment. MWAA has no "
        "`variables import`: this sends one `variables set` per key, one at a time. Non-string "
        "values are stored as JSON. Keys already imported by an earlier, interrupted run (same "
        "value) are skipped, so a re-run resumes.",
    )
    importer.add_argument("file", type=Path, metavar="FILE.json")
    importer.add_argument(
        "--state-file",
        type=Path,
        help="where progress is kept for a resume (default: FILE.json.ENV.progress)",
    )
    importer.set_defaults(func=_variables_import)

    login = subparsers.add_parser(
        "login-url",
        parents=[common],
        help="print a one-time URL that logs into the environment's Airflow UI",
        description="Create a web login token (valid 60 seconds) and print the Airflow UI login URL.",
    )
    login.set_defaults(func=_login_url)


def _client(args: argparse.Namespace) -> MwaaEnvironmentClient:
    from airflow_mwaa_extras.mwaa.client import MwaaEnvironmentClient

    return MwaaEnvironmentClient(
        args.environment,
        region_name=args.region,
        endpoint_url=args.endpoint_url,
        timeout=args.timeout,
        allow_unlisted=True if getattr(args, "allow_unlisted", False) else None,
    )


def _run(args: argparse.Namespace) -> int:
    from airflow_mwaa_extras.mwaa import commands

    argv = list(args.command)
    if argv[:1] == ["--"]:
        argv = argv[1:]
    elif argv and argv[0].startswith("-") and "--" in argv:
        raise UsageError("put options before ENV: mwaa-extras run [--timeout S] ENV -- COMMAND")
    if not argv:
        raise UsageError("give the Airflow command after --, e.g. mwaa-extras run ENV -- dags list")
    # One argument is a whole command line (`run ENV -- "dags list"`): split it as MWAA would.
    command = commands.raw(argv[0] if len(argv) == 1 else argv)
    result = _client(args).run(command, check=False)
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    if result.failed:
        print(f"mwaa-extras: airflow {command.name} failed in {args.environment}", file=sys.stderr)
        return 1
    return 0


def default_run_id() -> str:
    """``manual__<now in UTC>``, the form Airflow gives manual runs (known before triggering)."""
    return f"manual__{datetime.now(UTC).isoformat()}"


def _trigger(args: argparse.Namespace) -> int:
    from airflow_mwaa_extras.mwaa import commands
    from airflow_mwaa_extras.mwaa.dag_runs import RemoteDagRuns

    for flag, value in (("--run-id", args.run_id), ("--logical-date", args.logical_date)):
        # argparse turns `--run-id=--` into [] and `--run-id=` into "": never silently a default
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise UsageError(f"{flag} needs a value (it cannot be empty or '--')")
    text = _conf_text(args.conf, args.conf_file)
    conf = json.loads(commands.conf_json(text)) if text is not None else None  # before any call
    run_id = args.run_id or default_run_id()
    client = _client(args)
    remote = RemoteDagRuns(args.environment, transport=args.transport, cli_client=client)
    run = remote.trigger(
        args.dag_id, run_id=run_id, conf=conf, logical_date=args.logical_date, allow_paused=args.allow_paused
    )
    verb = "triggered" if run.created else "already there"
    print(f"{verb} {args.dag_id} in {args.environment}: run id {run.run_id}")
    return 0


def _conf_text(conf: str | None, conf_file: str | None) -> str | None:
    if conf_file is None:
        return conf
    if conf_file == "-":
        return sys.stdin.read()
    try:
        return Path(conf_file).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"no such file: {conf_file}") from None
    except (OSError, UnicodeDecodeError) as err:
        raise UsageError(f"cannot read {conf_file}: {err}") from None


def _load_variables(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"no such file: {path}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise UsageError(f"{path} is not valid JSON: {err}") from None
    if not isinstance(data, dict):
        raise UsageError(f"{path} must hold a JSON object of key: value pairs, not {type(data).__name__}")
    return data


def _fingerprint(value_text: str) -> str:
    return hashlib.sha256(value_text.encode("utf-8")).hexdigest()


def _read_state(path: Path, environment: str) -> dict[str, str]:
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise UsageError(f"the progress file {path} is damaged; delete it to start over") from None
    if not isinstance(state, dict) or state.get("environment") != environment:
        raise UsageError(
            f"the progress file {path} belongs to another environment; delete it or pass --state-file"
        )
    done = state.get("done")
    return dict(done) if isinstance(done, dict) else {}


def _write_state(path: Path, environment: str, done: dict[str, str]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps({"environment": environment, "done": done}, indent=1), encoding="utf-8")
    os.replace(tmp, path)


def _variables_import(args: argparse.Namespace) -> int:
    from airflow_mwaa_extras.mwaa import commands
    from airflow_mwaa_extras.mwaa.errors import MwaaCliError, MwaaCommandMayHaveRunError

    variables = _load_variables(args.file)
    state_file: Path = args.state_file or args.file.with_name(f"{args.file.name}.{args.environment}.progress")
    done = _read_state(state_file, args.environment)
    client = _client(args)
    total = len(variables)
    counts = {"set": 0, "skipped": 0, "failed": 0, "unknown": 0}
    for index, (key, value) in enumerate(variables.items(), start=1):
        prefix = f"[{index}/{total}] {key}"
        try:
            value_text = commands.variable_value_text(value)
            if done.get(key) == _fingerprint(value_text):
                counts["skipped"] += 1
                print(f"{prefix}: already imported, skipped", file=sys.stderr)
                continue
            client.run(commands.variables_set(key, value_text))
        except MwaaCommandMayHaveRunError as err:
            # Not resent: stop here. A re-run sets it again (the same value: no harm done).
            counts["unknown"] += 1
            print(f"{prefix}: {err}", file=sys.stderr)
            break
        except MwaaExtrasError as err:
            counts["failed"] += 1
            print(f"{prefix}: FAILED: {err}", file=sys.stderr)
            if not isinstance(err, (MwaaCliError, commands.InvalidCommandArgumentError)):
                raise  # access, network: stop here; what is done is kept in the progress file
            continue  # this key only: carry on with the others
        done[key] = _fingerprint(value_text)
        _write_state(state_file, args.environment, done)
        counts["set"] += 1
        print(f"{prefix}: set", file=sys.stderr)
    summary = (
        f"variables import into {args.environment}: {counts['set']} set, {counts['skipped']} already there, "
        f"{counts['failed']} failed, {counts['unknown']} may have run (of {total})"
    )
    print(summary)
    if counts["failed"] or counts["unknown"]:
        print(f"progress kept in {state_file}; run the same command again to resume", file=sys.stderr)
        return 1
    state_file.unlink(missing_ok=True)
    return 0


def _login_url(args: argparse.Namespace) -> int:
    print(_client(args).web_login_url())
    return 0
