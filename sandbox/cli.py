"""The messages-sandbox command: serve, and (later) scenarios, errors, inbound, messages."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from typing import Any

from . import __version__
from .config import OPTIONS, ConfigError, Option, load_settings


def add_option(parser: argparse.ArgumentParser, option: Option) -> None:
    """A flag for one setting; its value is parsed by the same function as the env var."""
    kwargs: dict[str, Any] = {"help": f"{option.help} [env {option.env}]", "default": None}
    if option.metavar:
        kwargs["metavar"] = option.metavar
    if option.repeatable:
        kwargs["action"] = "append"
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
    serve = commands.add_parser("serve", help="start the sandbox (POST /v0.1/messages)")
    for option in OPTIONS:
        add_option(serve, option)
    serve.set_defaults(run=run_serve)
    return parser


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
    # Under load waitress warns at every queued request; that is normal, not news.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)


def run_serve(args: argparse.Namespace) -> int:
    from .server import Server
    from .spec import SpecError

    try:
        settings = load_settings(cli_settings(args))
        configure_logging(settings.log_level)
        server = Server(settings)
    except (ConfigError, SpecError) as exc:
        print(f"messages-sandbox: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"messages-sandbox: cannot listen: {exc}", file=sys.stderr)
        return 2
    server.serve_forever()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except ConfigError as exc:
        print(f"messages-sandbox: {exc}", file=sys.stderr)
        return 2
