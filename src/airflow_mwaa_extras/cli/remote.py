"""``mwaa-extras run | trigger | variables import | login-url``: an MWAA environment's Airflow CLI.

All four talk to MWAA through :class:`~airflow_mwaa_extras.mwaa.client.MwaaEnvironmentClient`
(CLI token, ``/aws_mwaa/cli``); ``trigger`` goes through the same retry-safe trigger code as the
operator and the Lambda handler (:meth:`~airflow_mwaa_extras.mwaa.dag_runs.RemoteDagRuns.trigger`).
boto3 is imported only when a command runs.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow_mwaa_extras.exceptions import UsageError

if TYPE_CHECKING:
    from airflow_mwaa_extras.mwaa.client import MwaaEnvironmentClient

from airflow_mwaa_extras.cli._commands import add_command

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

    run = add_command(
        subparsers,
        "run",
        """run an Airflow CLI command in an MWAA environment
        Run one Airflow CLI command in an MWAA environment through its CLI endpoint and print the
        decoded stdout and stderr. Exits 1 when the command failed. Options go before ENV. Example:
        mwaa-extras run prod -- dags list-runs -d my_dag
        """,
        parents=[common],
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

    trigger = add_command(
        subparsers,
        "trigger",
        """trigger a DAG run in an MWAA environment
        Trigger a DAG in an MWAA environment (dags trigger) and print the run id; or, with
        --from-file, every item of a file (see docs/mwaa-client.md, 'Many triggers').
        """,
        parents=[common],
    )
    trigger.add_argument("dag_id", metavar="DAG_ID", nargs="?")
    trigger.add_argument(
        "--from-file",
        type=Path,
        metavar="FILE",
        help="trigger many runs: a JSON array or JSON lines of {dag_id, conf, run_id, logical_date}; "
        "an item without run_id gets one derived from the item, so a re-run triggers nothing twice",
    )
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
    _transport_option(trigger, "triggers")
    trigger.add_argument(
        "--allow-paused", action="store_true", help="trigger even when the DAG is paused (the run then waits)"
    )
    trigger.set_defaults(func=_trigger)

    variables = add_command(subparsers, "variables", "Airflow variables in an MWAA environment")
    variables_sub = variables.add_subparsers(dest="variables_command", metavar="COMMAND", required=True)
    importer = add_command(
        variables_sub,
        "import",
        """import variables from a JSON file (one `variables set` per key)
        Import a JSON object of variables into an MWAA environment. MWAA has no `variables import`:
        this sets one key at a time, over InvokeRestApi (the REST API's variables endpoint, paced
        under MWAA's ~10 requests a second) or the CLI endpoint (one `variables set` per key).
        Non-string values are stored as JSON. Keys already imported by an earlier, interrupted run
        (same value) are skipped, so a re-run resumes.
        """,
        parents=[common],
    )
    importer.add_argument("file", type=Path, metavar="FILE.json")
    importer.add_argument(
        "--state-file",
        type=Path,
        help="where progress is kept for a resume (default: FILE.json.ENV.progress)",
    )
    _transport_option(importer, "variables")
    importer.set_defaults(func=_variables_import)

    login = add_command(
        subparsers,
        "login-url",
        """print a one-time URL that logs into the environment's Airflow UI
        Create a web login token (valid 60 seconds) and print the Airflow UI login URL.
        """,
        parents=[common],
    )
    login.set_defaults(func=_login_url)


def _transport_option(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "--transport",
        choices=("auto", "rest_api", "cli"),
        default="auto",
        help="InvokeRestApi (rest_api), the CLI endpoint (cli), or auto: InvokeRestApi when botocore has it",
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=9.5,
        help=f"InvokeRestApi requests a second for many {what} (9.5; MWAA allows about 10 per "
        "environment, shared by every caller)",
    )


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

    if args.from_file is not None:
        return _trigger_from_file(args)
    if not args.dag_id:
        raise UsageError("give a DAG_ID, or --from-file FILE")
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


def _trigger_from_file(args: argparse.Namespace) -> int:
    from airflow_mwaa_extras.mwaa.bulk_triggers import load_items, trigger_many
    from airflow_mwaa_extras.mwaa.dag_runs import RemoteDagRuns
    from airflow_mwaa_extras.mwaa.rest_api import MwaaRestApiClient

    given = [
        flag
        for flag, value in (
            ("DAG_ID", args.dag_id),
            ("--conf", args.conf),
            ("--conf-file", args.conf_file),
            ("--run-id", args.run_id),
            ("--logical-date", args.logical_date),
        )
        if value
    ]
    if given:
        raise UsageError(f"--from-file takes each run's DAG, conf and ids from the file; drop {given[0]}")
    if not args.rate > 0:
        raise UsageError(f"--rate must be above 0, got {args.rate}")
    items = load_items(args.from_file)  # every item checked before any call
    client = _client(args)
    rest = MwaaRestApiClient(
        args.environment, mwaa_client=client.mwaa_client, min_interval=1.0 / args.rate, max_attempts=10
    )
    remote = RemoteDagRuns(args.environment, transport=args.transport, cli_client=client, rest_client=rest)
    summary = trigger_many(
        remote,
        items,
        allow_paused=args.allow_paused,
        report=lambda line: print(line, file=sys.stderr, flush=True),
    )
    print(summary.line())
    if not summary.ok:
        print(
            "fix what failed and run the same command again: runs already made are found, not doubled",
            file=sys.stderr,
        )
        return 1
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


def _variables_import(args: argparse.Namespace) -> int:
    from airflow_mwaa_extras.mwaa import variables_import as vi

    variables = vi.load_variables(args.file)
    state_file: Path = args.state_file or vi.default_state_file(args.file, args.environment)

    def say(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    try:
        summary = vi.import_variables(
            args.environment,
            variables,
            state_file=state_file,
            transport=args.transport,
            cli_client=_client(args),
            rate=args.rate,
            report=say,
        )
    except vi.VariablesImportStopped as err:
        print(err.summary.line())
        print(f"progress kept in {state_file}; run the same command again to resume", file=sys.stderr)
        raise err.cause from None
    print(summary.line())
    if not summary.complete:
        print(f"progress kept in {state_file}; run the same command again to resume", file=sys.stderr)
        return 1
    return 0


def _login_url(args: argparse.Namespace) -> int:
    print(_client(args).web_login_url())
    return 0
