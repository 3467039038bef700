"""``arbiter-server deploy | status | destroy``: the AWS subcommands.

Exit codes: 0 done (or nothing to do), 1 an AWS or build error, 2 bad usage, 3 the user
declined the confirmation.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

__all__ = ["COMMANDS", "add_subcommands", "run"]

COMMANDS = ("deploy", "status", "destroy")
"The subcommands this module adds."


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--region",
        default=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"),
        help="AWS region (default: AWS_REGION / AWS_DEFAULT_REGION)",
    )
    parser.add_argument(
        "--prefix", default="arbiter", help="name prefix of every resource (default arbiter)"
    )
    parser.add_argument(
        "--state-file",
        type=Path,
        default=None,
        help="where the deployment is recorded (default .arbiter/aws/<prefix>-<region>.json)",
    )


def add_subcommands(subparsers: Any) -> None:
    """Add ``deploy``, ``status`` and ``destroy`` to the ``arbiter-server`` parser."""
    deploy = subparsers.add_parser(
        "deploy",
        help="deploy to AWS (API Gateway, Lambda, DynamoDB, ECS Fargate, NLB)",
        description="Create or update the AWS deployment. Shows the plan, asks before "
        "changing anything (unless --yes), and changes nothing when run twice.",
    )
    _common(deploy)
    deploy.add_argument("--dry-run", action="store_true", help="show the plan and stop")
    deploy.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    deploy.add_argument(
        "--skip-images", action="store_true", help="do not build and push container images"
    )
    deploy.add_argument("--sfu-cpu", type=int, default=1024, help="SFU task CPU units (1024)")
    deploy.add_argument("--sfu-memory", type=int, default=2048, help="SFU task MiB (2048)")
    deploy.add_argument("--turn-cpu", type=int, default=256, help="coturn task CPU units (256)")
    deploy.add_argument("--turn-memory", type=int, default=512, help="coturn task MiB (512)")
    deploy.add_argument("--turn-count", type=int, default=1, help="coturn tasks (1)")
    deploy.add_argument("--pool-size", type=int, default=1, help="ready rooms kept (1)")
    deploy.add_argument("--max-rooms", type=int, default=20, help="most SFU tasks at once (20)")
    deploy.add_argument(
        "--max-participants", type=int, default=16, help="most participants per room (16)"
    )
    deploy.add_argument("--log-retention", type=int, default=14, help="log retention days (14)")
    deploy.add_argument(
        "--log-level",
        default="info",
        choices=["debug", "info", "warning", "error"],
        help="log level of the functions and SFU tasks (info)",
    )
    deploy.add_argument("--vpc-id", default=None, help="VPC (default: the default VPC)")
    deploy.add_argument(
        "--subnets", default="", help="comma-separated public subnets (default: the VPC's)"
    )
    deploy.add_argument(
        "--open-rooms",
        action="store_true",
        help="anyone may create rooms (default: POST /rooms needs the deployment's API key "
        "in the x-api-key header; the key is in SSM at /arbiter/<prefix>/api-key)",
    )
    deploy.add_argument(
        "--public-rooms",
        action="store_true",
        help="rooms made without saying take plain joins (default: private, joining needs "
        "a grant minted by the app's backend with the API key)",
    )
    deploy.add_argument(
        "--webhook-url",
        default=None,
        metavar="URL",
        help="post signed room events (room started/ended, participant joined/left, track "
        "published) to this URL; PUT /v1/webhook changes it later",
    )
    status = subparsers.add_parser(
        "status",
        help="show the AWS deployment: endpoints, SFU and TURN tasks, health",
        description="Show the endpoints, the functions, and the running SFU and TURN tasks.",
    )
    _common(status)
    status.add_argument("--json", action="store_true", help="print JSON")
    status.add_argument(
        "--api-key",
        action="store_true",
        help="print only the deployment's API key (the x-api-key that creating rooms needs)",
    )
    destroy = subparsers.add_parser(
        "destroy",
        help="delete everything a deployment made",
        description="Delete every resource of the deployment in reverse order.",
    )
    _common(destroy)
    destroy.add_argument("--dry-run", action="store_true", help="show the plan and stop")
    destroy.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")


def run(args: argparse.Namespace, aws: Any = None) -> int:
    """Run ``args.command``; returns the exit code.

    ``aws`` replaces the :class:`~.awsclient.AwsClient` the command would make (tests
    inject faults through it).
    """
    from rich.console import Console

    from .awsclient import AwsError, NoCredentials
    from .images import ImageError

    console = Console(stderr=True)
    if not args.region:
        console.print(
            "[red]No AWS region: pass --region or set AWS_REGION / AWS_DEFAULT_REGION.[/]"
        )
        return 2
    if not re.fullmatch(r"[a-z][a-z0-9-]{0,19}", args.prefix):
        console.print("[red]--prefix must be 1-20 of a-z 0-9 - and start with a letter.[/]")
        return 2
    try:
        if args.command == "status":
            return _status(args, aws)
        return _change(args, console, aws)
    except NoCredentials as exc:
        console.print(f"[red]{exc}[/]")
        return 1
    except (AwsError, ImageError, RuntimeError) as exc:
        console.print(f"[red]arbiter-server {args.command}: {exc}[/]")
        return 1


def _config(args: argparse.Namespace) -> Any:
    from .models import DeployConfig

    if args.command != "deploy":
        return DeployConfig(region=args.region, prefix=args.prefix)
    return DeployConfig(
        region=args.region,
        prefix=args.prefix,
        sfu_cpu=args.sfu_cpu,
        sfu_memory=args.sfu_memory,
        turn_cpu=args.turn_cpu,
        turn_memory=args.turn_memory,
        turn_count=args.turn_count,
        pool_size=args.pool_size,
        max_rooms=args.max_rooms,
        max_participants=args.max_participants,
        log_retention_days=args.log_retention,
        open_room_creation=args.open_rooms,
        vpc_id=args.vpc_id,
        subnets=tuple(s for s in args.subnets.split(",") if s),
        skip_images=args.skip_images,
        log_level=args.log_level,
        private_rooms=not args.public_rooms,
        webhook_url=args.webhook_url,
    )


def _status(args: argparse.Namespace, aws: Any) -> int:
    from rich.console import Console
    from rich.table import Table

    from .awsclient import AwsClient
    from .deployer import status
    from .planner import Names

    aws = aws or AwsClient(args.region)
    if args.api_key:
        aws.check_credentials()
        key = aws.get_parameter(Names(args.prefix).api_key_param)
        if key is None:
            Console(stderr=True).print(f"[red]No deployment '{args.prefix}' in {args.region}.[/]")
            return 1
        print(key)
        return 0
    info = status(aws, _config(args))
    if args.json:
        print(json.dumps(info, indent=2, default=str))
        return 0
    console = Console()
    if not info["deployed"]:
        console.print(f"No deployment '{args.prefix}' in {args.region}.")
        return 0
    for key, value in info["endpoints"].items():
        console.print(f"[bold]{key:<10}[/] {value}")
    console.print(
        "functions  "
        + ", ".join(f"{k}: {v}" for k, v in info["functions"].items())
        + f"; table: {info['table']}"
    )
    svc = info["turn_service"]
    if svc:
        console.print(
            f"turn       {svc['running']}/{svc['desired']} running ({svc['pending']} pending)"
        )
    table = Table("kind", "room", "status", "health", "ip", "task")
    for task in info["tasks"]:
        table.add_row(
            task["kind"],
            task["room"] or "",
            str(task["status"]),
            str(task["health"]),
            str(task["ip"] or ""),
            str(task["arn"]).rsplit("/", 1)[-1],
        )
    console.print(table)
    return 0


def _change(args: argparse.Namespace, console: Any, aws: Any) -> int:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from .deployer import create_deployer
    from .executor import format_plan

    config = _config(args)
    deployer = create_deployer(config, state_path=args.state_file, aws=aws)
    destroying = args.command == "destroy"
    with console.status("Reading the current state from AWS..."):
        plan = deployer.plan_destroy() if destroying else deployer.plan_deploy()
    for message in plan.messages:
        console.print(f"[yellow]{message}[/]")
    out = _stdout()
    out.print(format_plan(plan, verbose=args.dry_run))
    if args.dry_run:
        return 0
    if plan.empty:
        if not destroying:
            _print_outputs(deployer, plan.values, args.prefix)
        return 0
    if not args.yes:
        if not sys.stdin.isatty():
            console.print("[red]Refusing to change AWS without --yes (stdin is not a terminal).[/]")
            return 3
        verb = "Delete these resources" if destroying else "Apply these changes"
        answer = input(f"{verb}? [y/N] ").strip().lower()
        if answer not in ("y", "yes"):
            console.print("Nothing changed.")
            return 3
    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        task = progress.add_task("starting", total=len(plan.changes))
        current = [""]

        def started(index: int, change: Any) -> None:
            current[0] = f"{change.action} {change.kind} {change.name}"
            progress.update(task, description=current[0])

        def done(index: int, change: Any) -> None:
            progress.advance(task)

        def waiting(line: str) -> None:
            progress.update(task, description=f"{current[0]}: {line}")

        values = deployer.apply(
            plan, on_start=started, on_done=done, on_progress=waiting, destroying=destroying
        )
    if destroying:
        if deployer.failures:
            return _report_left(deployer, console, out)
        out.print(f"Destroyed deployment '{config.prefix}' in {config.region}.")
    else:
        _print_outputs(deployer, values, args.prefix)
    return 0


def _report_left(deployer: Any, console: Any, out: Any) -> int:
    """After a destroy that could not delete everything: why, and exactly what is left."""
    from .executor import format_plan

    console.print("[red]destroy did not finish: AWS refused to delete[/]")
    for change, exc in deployer.failures:
        console.print(f"[red]  {change.kind} {change.name}: {exc}[/]")
    left = deployer.plan_destroy()
    out.print("Still in the account:")
    out.print(format_plan(left))
    out.print(
        "Run 'arbiter-server destroy' again once AWS has released them (network interfaces "
        "of Fargate tasks and load balancers can take several minutes)."
    )
    return 1


def _stdout() -> Any:
    from rich.console import Console

    return Console(highlight=False)


def _print_outputs(deployer: Any, values: dict[str, str], prefix: str) -> None:
    outputs = deployer.outputs(values)
    region = deployer.config.region
    out = _stdout()
    out.print(f"Room API:  {outputs.room_api}")
    out.print(f"Rooms:     {outputs.room_api}/rooms/<room id>  (a browser gets the room page)")
    out.print(f"Signaling: {outputs.signaling}")
    out.print(f"TURN:      {outputs.turn_host}")
    out.print(
        "Creating rooms needs the API key (x-api-key header), unless deployed with --open-rooms:"
        f"\n  arbiter-server status --region {region} --prefix {prefix} --api-key"
    )
    out.print(f"Check it end to end:\n  arbiter-server smoke --region {region} --prefix {prefix}")
