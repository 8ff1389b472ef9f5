"""The messages-sandbox command: serve, and (later) scenarios, errors, inbound, messages."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from typing import Any

from .config import OPTIONS, ConfigError, Option, load_settings, parse_bool
from .version import __version__


def add_option(parser: argparse.ArgumentParser, option: Option) -> None:
    """A flag for one setting; its value is parsed by the same function as the env var."""
    kwargs: dict[str, Any] = {"help": f"{option.help} [env {option.env}]", "default": None}
    if option.metavar:
        kwargs["metavar"] = option.metavar
    if option.repeatable:
        kwargs["action"] = "append"
    elif option.parse is parse_bool:  # `--tls` alone means true; `--tls false` still works
        kwargs.update(type=parse_bool, nargs="?", const=True)
    else:
        kwargs["type"] = option.parse
    parser.add_argument(option.flag, dest=option.name, **kwargs)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="messages-sandbox",
        description="An offline stand-in for the Nexmo (Vonage) Messages API v0.1.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_serve_command(commands)
    add_scenario_commands(commands)
    add_helper_commands(commands)
    return parser


def add_serve_command(commands: Any) -> None:
    serve = commands.add_parser("serve", help="start the sandbox (POST /v0.1/messages)")
    for option in OPTIONS:
        add_option(serve, option)
    serve.set_defaults(run=run_serve)


def add_scenario_commands(commands: Any) -> None:
    """`scenarios check`, `scenarios list` and `errors`: about the scenario files."""
    scenarios = commands.add_parser("scenarios", help="check or list scenario files")
    actions = scenarios.add_subparsers(dest="action", required=True, metavar="ACTION")
    check = actions.add_parser("check", help="validate scenario files (exit 1 on problems)")
    check.add_argument("paths", nargs="+", metavar="PATH", help="scenario files or directories")
    listing = actions.add_parser("list", help="list loaded scenarios, built-in ones included")
    listing.add_argument("paths", nargs="*", metavar="PATH", help="extra scenario files or dirs")
    errors = commands.add_parser("errors", help="the error codes and their magic recipients")
    for command, run in (
        (check, run_scenarios_check),
        (listing, run_scenarios_list),
        (errors, run_errors),
    ):
        command.add_argument("--spec", help="OpenAPI document (default: the shipped 0.3.1)")
        command.set_defaults(run=run)


def add_helper_commands(commands: Any) -> None:
    """`inbound` and `messages`: helpers over a running sandbox's admin API."""
    inbound = commands.add_parser("inbound", help="send a customer message to a running sandbox")
    add_client_options(inbound)
    inbound.add_argument("--channel", default="whatsapp", help="whatsapp (default), messenger, mms")
    inbound.add_argument("--from", dest="from_", default="447700900000", help="the customer")
    inbound.add_argument("--to", default="14157386170", help="your number or page id")
    inbound.add_argument("--type", default="text", help="text, image, audio, video, file, location")
    inbound.add_argument("--text", help="the text (default: a generated sentence)")
    inbound.add_argument("--url-of-media", dest="media_url", help="media URL (default: generated)")
    inbound.set_defaults(run=run_inbound)

    listing = commands.add_parser("messages", help="list what a running sandbox received")
    add_client_options(listing)
    for name in ("to", "from", "channel", "status", "client_ref", "api_key", "direction"):
        flag = f"--{name.replace('_', '-')}"
        listing.add_argument(flag, dest=f"filter_{name}", help=f"only this {name}")
    listing.add_argument("--limit", type=int, default=20, help="how many (newest first)")
    listing.add_argument("--json", action="store_true", help="print the JSON page as it came")
    listing.set_defaults(run=run_messages)


def add_client_options(parser: argparse.ArgumentParser) -> None:
    from .config import client_defaults

    defaults = client_defaults()
    parser.add_argument("--url", default=defaults["url"], help="the sandbox [env SANDBOX_URL]")
    parser.add_argument(
        "--admin-token", default=defaults["admin_token"], help="[env SANDBOX_ADMIN_TOKEN]"
    )


def cli_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The flags the user gave, parsed (repeatable ones through their option's parser)."""
    values = {}
    for option in OPTIONS:
        raw = getattr(args, option.name, None)
        if raw is None:
            continue
        try:
            values[option.name] = option.parse(raw) if option.repeatable else raw
        except ValueError as exc:
            raise ConfigError(f"{option.flag}: {exc}") from None
    return values


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def run_serve(args: argparse.Namespace) -> int:
    from .scenarios import ScenarioError
    from .server import Server
    from .spec import SpecError

    try:
        settings = load_settings(cli_settings(args))
        configure_logging(settings.log_level)
        server = Server(settings)
    except (ConfigError, SpecError) as exc:
        print(f"messages-sandbox: {exc}", file=sys.stderr)
        return 2
    except ScenarioError as exc:
        report_scenario_problems(exc.problems)
        return 2
    except OSError as exc:
        print(f"messages-sandbox: cannot listen: {exc}", file=sys.stderr)
        return 2
    server.serve_forever()
    return 0


def report_scenario_problems(problems: Sequence[str]) -> None:
    print(f"messages-sandbox: {len(problems)} problem(s) in scenario files:", file=sys.stderr)
    for problem in problems:
        print(f"  {problem}", file=sys.stderr)


def load_spec(path: str | None):
    from .spec import Spec

    return Spec.load(path)


def run_scenarios_check(args: argparse.Namespace) -> int:
    from .scenario_files import check_files

    scenarios, problems = check_files(args.paths, load_spec(args.spec))
    if problems:
        report_scenario_problems([str(p) for p in problems])
        return 1
    names = ", ".join(s.name for s in scenarios)
    print(f"ok: {len(scenarios)} scenario(s): {names}")
    return 0


def run_scenarios_list(args: argparse.Namespace) -> int:
    from .scenario_files import load_library
    from .scenarios import ScenarioError

    try:
        library = load_library(args.paths, load_spec(args.spec))
    except ScenarioError as exc:
        report_scenario_problems(exc.problems)
        return 1
    for scenario in library.scenarios.values():
        kind = "fallback" if scenario.fallback else scenario.select
        print(f"{scenario.name:<18} {kind:<11} {scenario.description}")
    return 0


def run_errors(args: argparse.Namespace) -> int:
    from .error_table import markdown
    from .scenario_files import load_library

    spec = load_spec(args.spec)
    print(markdown(load_library([], spec), spec), end="")
    return 0


def run_inbound(args: argparse.Namespace) -> int:
    from .client import SandboxClient

    content: dict[str, Any] = {"type": args.type}
    if args.text is not None:
        content["text"] = args.text
    if args.media_url:
        content[args.type] = {"url": args.media_url}
    client = SandboxClient(args.url, args.admin_token)
    message_uuid = client.inbound(
        channel=args.channel, to=args.to, content=content, **{"from": args.from_}
    )
    print(message_uuid)
    return 0


def run_messages(args: argparse.Namespace) -> int:
    import json

    from .client import SandboxClient

    filters = {
        k.removeprefix("filter_"): v for k, v in vars(args).items() if k.startswith("filter_")
    }
    client = SandboxClient(args.url, args.admin_token)
    items = client.messages(limit=args.limit, **{k: v for k, v in filters.items() if v})
    if args.json:
        print(json.dumps(items, indent=2))
        return 0
    for m in items:
        print(message_line(m))
    if not items:
        print("(no messages)")
    return 0


def message_line(m: dict[str, Any]) -> str:
    """One message as a line: time, direction, channel, route, status, uuid, client_ref."""
    answered = m["response_status"]
    status = m["status"] or (f"HTTP {answered}" if answered and answered != 202 else "-")
    route = f"{m['from']} -> {m['to']}"
    ref = f"  ref={m['client_ref']}" if m["client_ref"] else ""
    return (
        f"{m['received_at']}  {m['direction']:<8} {m['channel'] or '-':<17} {route:<32} "
        f"{status:<13} {m['message_uuid']}{ref}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from .client import SandboxError
    from .spec import SpecError

    try:
        return args.run(args)
    except (ConfigError, SpecError) as exc:
        print(f"messages-sandbox: {exc}", file=sys.stderr)
        return 2
    except SandboxError as exc:
        print(f"messages-sandbox: the sandbox answered {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"messages-sandbox: cannot reach the sandbox: {exc}", file=sys.stderr)
        return 1
