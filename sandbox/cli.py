"""The messages-sandbox command (click): serve, scenarios check/list, errors, inbound, messages.

`serve` has one flag per row of ``config.OPTIONS``, parsed by that row's own parser; the
flags the user gave go to ``config.load_settings``, which adds SANDBOX_* variables, the
config file and the defaults (the same path the pytest plugin takes). click's own
``envvar=`` is not used: config stays the one reader of the environment, and pair options
merge key by key across the sources.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import click

from .config import (
    OPTIONS,
    ConfigError,
    Option,
    Settings,
    client_defaults,
    load_settings,
    parse_bool,
)
from .exposure import warn_if_exposed
from .version import __version__

PROG = "messages-sandbox"
TYPE_NAMES = {"str": "text", "int": "integer", "float": "number"}


class OptionType(click.ParamType):
    """A click type that parses with an option's own parser (the one its env var uses)."""

    def __init__(self, option: Option) -> None:
        self.option = option
        name = getattr(option.parse, "__name__", "value")
        self.name = TYPE_NAMES.get(name, name)

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        try:
            return self.option.parse(value)
        except (TypeError, ValueError) as exc:
            self.fail(str(exc), param, ctx)


def click_option(option: Option) -> Callable[[Any], Any]:
    """The flag of one OPTIONS row; a repeatable one collects its values, parsed together.

    Its default is shown by --help, but only values given on the command line are passed
    on (``given_flags``): the environment and the config file come before a default.
    """
    kwargs: dict[str, Any] = {
        "help": f"{option.help}  [env: {option.env}]",
        "show_default": True,
        "metavar": option.metavar,
    }
    if option.repeatable:
        kwargs.update(multiple=True, callback=lambda ctx, param, raw: parse_repeated(option, raw))
    elif hasattr(option.parse, "choices"):
        kwargs.update(type=click.Choice(option.parse.choices), default=option.default)
    elif option.parse is parse_bool:  # `--tls` alone means true; `--tls false` still works
        kwargs.update(type=OptionType(option), default=option.default, is_flag=False)
        kwargs.update(flag_value="true")
    else:
        kwargs.update(type=OptionType(option), default=option.default)
    return click.option(option.flag, option.name, **kwargs)


def given_flags(ctx: click.Context) -> dict[str, Any]:
    """The settings given as flags (not click's defaults)."""
    source = click.core.ParameterSource.COMMANDLINE
    return {k: v for k, v in ctx.params.items() if ctx.get_parameter_source(k) is source}


def parse_repeated(option: Option, raw: Sequence[str]) -> Any:
    if not raw:
        return None
    try:
        return option.parse(list(raw))
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def with_options(options: Sequence[Option]) -> Callable[[Any], Any]:
    def decorate(function: Any) -> Any:
        for option in reversed(options):
            function = click_option(option)(function)
        return function

    return decorate


@click.group(
    context_settings={"help_option_names": ["-h", "--help"], "show_default": True},
    help="An offline stand-in for the Nexmo (Vonage) Messages API v0.1.",
)
@click.version_option(__version__, prog_name=PROG, message="%(prog)s %(version)s")
def command() -> None:
    pass


# serve ---------------------------------------------------------------------------------


def serve_settings(flags: Sequence[str], environ: Mapping[str, str] | None = None) -> Settings:
    """The Settings `serve FLAGS` would run with (flags > env > config file > defaults)."""
    with serve.make_context("serve", list(flags)) as ctx:
        return load_settings(given_flags(ctx), environ)


@command.command(help="Start the sandbox (POST /v0.1/messages).")
@with_options(OPTIONS)
@click.pass_context
def serve(ctx: click.Context, **_: Any) -> None:
    from .scenarios import ScenarioError
    from .server import Server

    try:
        settings = load_settings(given_flags(ctx))
        configure_logging(settings.log_level)
        warn_if_exposed(settings.host, settings.admin_token)
        server = Server(settings)
    except ScenarioError as exc:
        report_scenario_problems(exc.problems)
        raise SystemExit(2) from None
    except OSError as exc:
        click.echo(f"{PROG}: cannot listen: {exc}", err=True)
        raise SystemExit(2) from None
    server.serve_forever()
    exit_after_stop()


def exit_after_stop() -> None:
    """Leave the process at once once the server has stopped and its journal is closed.

    ``Server.close`` waits for granian's worker to stop, but granian never joins the
    threads that ran Python (they end when their queue closes, re-taking the GIL on the
    way): an interpreter shutdown racing them aborts (SIGABRT, "panic in a function that
    cannot unwind"), seen about one stop in ten on a loaded machine. Nothing is left to
    run at this point, so skip the shutdown.
    """
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def report_scenario_problems(problems: Sequence[str]) -> None:
    click.echo(f"{PROG}: {len(problems)} problem(s) in scenario files:", err=True)
    for problem in problems:
        click.echo(f"  {problem}", err=True)


# scenarios and errors ------------------------------------------------------------------

spec_option = click.option(
    "--spec", metavar="PATH", help="OpenAPI document  [default: the shipped 0.3.1]"
)


def load_spec(path: str | None):
    from .spec import Spec

    return Spec.load(path)


@command.group(help="Check or list scenario files.")
def scenarios() -> None:
    pass


@scenarios.command(help="Validate scenario files; every problem in one run (exit 1 if any).")
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@spec_option
def check(paths: tuple[str, ...], spec: str | None) -> None:
    from .scenario_files import check_files
    from .versions import catalogues

    document = load_spec(spec)
    found, problems = check_files(paths, document, catalogues(document))
    if problems:
        report_scenario_problems([str(p) for p in problems])
        raise SystemExit(1)
    click.echo(f"ok: {len(found)} scenario(s): {', '.join(s.name for s in found)}")


@scenarios.command(name="list", help="List loaded scenarios, built-in ones included.")
@click.argument("paths", nargs=-1, metavar="[PATH...]")
@spec_option
def list_scenarios(paths: tuple[str, ...], spec: str | None) -> None:
    from .scenario_files import load_library
    from .scenarios import ScenarioError
    from .versions import catalogues

    try:
        document = load_spec(spec)
        library = load_library(paths, document, catalogues(document))
    except ScenarioError as exc:
        report_scenario_problems(exc.problems)
        raise SystemExit(1) from None
    for scenario in library.scenarios.values():
        kind = "fallback" if scenario.fallback else scenario.select
        click.echo(f"{scenario.name:<18} {kind:<11} {scenario.description}")


@command.command(help="The error codes and their magic recipients (Markdown).")
@spec_option
@click.option(
    "--api",
    type=click.Choice(["v0.1", "v1"]),
    default="v0.1",
    show_default=True,
    help="whose x-errors catalogue: v1's document has codes v0.1's has not",
)
def errors(spec: str | None, api: str) -> None:
    from .error_table import markdown
    from .scenario_files import load_library
    from .versions import catalogues
    from .versions.v1_document import load_v1

    document = load_spec(spec)
    own = load_v1().spec if api == "v1" else document
    library = load_library([], document, catalogues(document))
    click.echo(markdown(library, own, api), nl=False)


# helpers over a running sandbox --------------------------------------------------------


def client_options(function: Any) -> Any:
    defaults = client_defaults()
    url = click.option("--url", default=defaults["url"], help="the sandbox  [env: SANDBOX_URL]")
    token = click.option(
        "--admin-token",
        default=defaults["admin_token"],
        show_default=False,
        help="its admin token  [env: SANDBOX_ADMIN_TOKEN]",
    )
    return url(token(function))


def client(url: str, admin_token: str | None):
    from .client import SandboxClient

    return SandboxClient(url, admin_token)


@command.command(help="Send a customer message to a running sandbox; prints its message_uuid.")
@client_options
@click.option(
    "--channel",
    default="whatsapp",
    help="whatsapp, messenger or mms; v1 also sms, rcs, viber_service",
)
@click.option(
    "--webhook-version",
    type=click.Choice(["v0.1", "v1"]),
    help="the webhook's shape  [default: that of the last message you sent the customer, "
    "else v0.1]",
)
@click.option("--from", "from_", help="the customer  [default: the sandbox's]")
@click.option("--to", help="your number or page id  [default: the sandbox's]")
@click.option(
    "--type",
    "type_",
    default="text",
    help="text, image, audio, video, file, location; v1 also vcard, sticker, reply, button…",
)
@click.option("--text", help="the text  [default: a generated sentence]")
@click.option("--url-of-media", "media_url", help="media URL  [default: generated]")
def inbound(
    url: str,
    admin_token: str | None,
    channel: str,
    webhook_version: str | None,
    from_: str | None,
    to: str | None,
    **content: Any,
):
    body: dict[str, Any] = {"type": content["type_"]}
    if content["text"] is not None:
        body["text"] = content["text"]
    if content["media_url"]:
        body[content["type_"]] = {"url": content["media_url"]}
    fields = {"channel": channel, "to": to, "content": body, "from": from_}
    if webhook_version:
        fields["webhook_version"] = webhook_version
    uuid = client(url, admin_token).inbound(**fields)
    click.echo(uuid)


@command.command(help="A webhook receiver that prints every request it gets (Ctrl-C stops).")
@click.option("--host", default="127.0.0.1", show_default=True, help="interface to listen on")
@click.option("--port", default=9000, show_default=True, help="TCP port to listen on")
def receive(host: str, port: int) -> None:
    from .receive import receive as receive_webhooks

    receive_webhooks(host, port)


FILTERS = ("to", "from", "channel", "status", "client_ref", "api_key", "direction")


def filter_options(function: Any) -> Any:
    for name in reversed(FILTERS):
        flag = f"--{name.replace('_', '-')}"
        function = click.option(flag, f"filter_{name}", help=f"only this {name}")(function)
    return function


@command.command(help="List what a running sandbox received, newest first.")
@client_options
@filter_options
@click.option("--limit", type=int, default=20, help="how many")
@click.option("--json", "as_json", is_flag=True, help="print the JSON page as it came")
def messages(url: str, admin_token: str | None, limit: int, as_json: bool, **filters: Any):
    import json

    wanted = {k.removeprefix("filter_"): v for k, v in filters.items() if v}
    items = client(url, admin_token).messages(limit=limit, **wanted)
    if as_json:
        click.echo(json.dumps(items, indent=2))
        return
    for m in items:
        click.echo(message_line(m))
    if not items:
        click.echo("(no messages)")


def message_line(m: dict[str, Any]) -> str:
    """One message as a line: time, direction, API version, channel, route, status, uuid,
    client_ref."""
    answered = m["response_status"]
    status = m["status"] or (f"HTTP {answered}" if answered and answered != 202 else "-")
    route = f"{m['from']} -> {m['to']}"
    ref = f"  ref={m['client_ref']}" if m["client_ref"] else ""
    version = m.get("api_version") or "-"
    return (
        f"{m['received_at']}  {m['direction']:<8} {version:<5} {m['channel'] or '-':<17} "
        f"{route:<32} {status:<13} {m['message_uuid']}{ref}"
    )


# entry point ---------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; the exit code (2: bad usage or configuration, 1: a failed check)."""
    try:
        return command.main(args=argv, prog_name=PROG, standalone_mode=False) or 0
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except SystemExit as exc:
        return int(exc.code or 0)
    except click.Abort:  # Ctrl-C outside the server's own handling
        return 130
    except Exception as exc:
        code, message = failure(exc)
        click.echo(f"{PROG}: {message}", err=True)
        return code


def failure(exc: Exception) -> tuple[int, str]:
    """(exit code, message) for an expected failure; anything else is a bug and raises."""
    # Imported here: `--version` and `--help` should not load the spec machinery.
    from .client import SandboxError
    from .migrations import SchemaError
    from .spec import SpecError

    if isinstance(exc, ConfigError | SpecError | SchemaError):
        return 2, str(exc)
    if isinstance(exc, SandboxError):
        return 1, f"the sandbox answered {exc}"
    if isinstance(exc, OSError):
        return 1, f"cannot reach the sandbox: {exc}"
    raise exc
