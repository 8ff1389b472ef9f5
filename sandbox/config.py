"""Settings: CLI flags > SANDBOX_* environment variables > config file > defaults.

This module is the only reader of ``os.environ``. One table (``OPTIONS``) declares every
setting once: ``Settings`` is generated from it, the CLI builds its flags from it, and the
environment and config file use the same names, so no source can drift or drop a setting.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, make_dataclass, replace
from pathlib import Path
from typing import Any

from .webhook_urls import webhook_url_error


class ConfigError(ValueError):
    """A setting that cannot be used; the message names where it came from."""


def parse_bool(text: str) -> bool:
    lowered = str(text).strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"not a boolean: {text!r}")


def parse_pairs(text: str | list[str]) -> dict[str, str]:
    """``A=x,B=y`` (environment) or a list of ``A=x`` (repeated flags) -> {A: x, B: y}."""
    items = text if isinstance(text, list) else [p for p in str(text).split(",") if p.strip()]
    pairs: dict[str, str] = {}
    for item in items:
        key, sep, value = str(item).partition("=")
        if not sep or not key.strip() or not value.strip():
            raise ValueError(f"expected NAME=VALUE, got {item!r}")
        pairs[key.strip()] = value.strip()
    return pairs


def parse_list(text: str | list[str]) -> tuple[str, ...]:
    items = text if isinstance(text, list) else str(text).split(os.pathsep)
    return tuple(str(i) for i in items if str(i).strip())


def parse_choice(*choices: str) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if text not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}, got {text!r}")
        return text

    parse.__name__ = "choice"
    parse.choices = choices  # type: ignore[attr-defined]  # the CLI lists them in --help
    return parse


@dataclass(frozen=True)
class Option:
    """One setting: its attribute name, how to parse it, its default and its help."""

    name: str
    parse: Callable[[Any], Any]
    default: Any
    help: str
    repeatable: bool = False
    metavar: str | None = None

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def env(self) -> str:
        return "SANDBOX_" + self.name.upper()


OPTIONS: tuple[Option, ...] = (
    Option("host", str, "127.0.0.1", "interface to listen on"),
    Option("port", int, 4010, "TCP port to listen on (0 picks a free one)"),
    Option("db", str, None, "SQLite journal file (default: in memory, lost at exit)"),
    Option("config", str, None, "YAML config file (applications, api keys, any setting)"),
    Option(
        "threads",
        int,
        8,
        "threads that answer sends and admin calls (long-polls, delays and streams have their own)",
    ),
    Option("max_body", int, 102_400, "largest request body accepted, in bytes (413 above)"),
    Option("log_level", parse_choice("debug", "info", "warning", "error"), "info", "log level"),
    Option("spec", str, None, "OpenAPI document to serve (default: the shipped 0.3.1)"),
    Option(
        "application_key",
        parse_pairs,
        {},
        "APP_ID=path/to/public.pem: verify that application's JWTs (repeatable)",
        repeatable=True,
        metavar="APP_ID=PEM",
    ),
    Option(
        "api_key",
        parse_pairs,
        {},
        "KEY=SECRET: accept only these Basic credentials (repeatable; default: any)",
        repeatable=True,
        metavar="KEY=SECRET",
    ),
    Option("status_url", str, None, "default status webhook URL"),
    Option("inbound_url", str, None, "default inbound webhook URL"),
    Option(
        "application_status_url",
        parse_pairs,
        {},
        "APP_ID=URL: that application's status webhook (repeatable)",
        repeatable=True,
        metavar="APP_ID=URL",
    ),
    Option(
        "application_webhook_version",
        parse_pairs,
        {},
        "APP_ID=VERSION (v0.1 or v1): the webhook shape of that application's v1 messages "
        "that do not give webhook_version (default v1), as Vonage's application settings choose",
        repeatable=True,
        metavar="APP_ID=VERSION",
    ),
    Option(
        "application_inbound_url",
        parse_pairs,
        {},
        "APP_ID=URL: that application's inbound webhook (repeatable)",
        repeatable=True,
        metavar="APP_ID=URL",
    ),
    Option("webhook_timeout", float, 5.0, "seconds to wait for a webhook receiver"),
    Option("retry_base", float, 5.0, "first webhook retry delay in seconds (doubles)"),
    Option("retry_cap", float, 900.0, "longest delay between webhook retries, seconds"),
    Option("retry_for", float, 86_400.0, "stop retrying a webhook after this many seconds"),
    Option("signature_secret", str, None, "sign webhooks (HS256 JWT) with this secret"),
    Option("seed", int, None, "seed for generated content and jitter (same seed, same run)"),
    Option("speed", float, 1.0, "run scripted delays and retry backoffs N times faster"),
    Option(
        "clock",
        parse_choice("real", "manual", "fast"),  # clock.CLOCKS; a test keeps them equal
        "real",
        "real; manual (moves only when told to); fast (real, scripts 100x faster)",
    ),
    Option(
        "scenarios",
        parse_list,
        (),
        "directory or file of scenario YAML (repeatable)",
        repeatable=True,
        metavar="PATH",
    ),
    Option("admin_token", str, None, "require 'Authorization: Bearer T' on /_sandbox/"),
    Option("journal_limit", int, 5_000, "messages kept by the in-memory journal (oldest go)"),
    Option("max_waits", int, 64, "concurrent /_sandbox/wait long-polls (503 above)"),
    Option("max_delayed", int, 64, "concurrent answers held by scripted latency (undelayed above)"),
    Option("max_streams", int, 16, "concurrent /_sandbox/changes/stream event streams (503 above)"),
    Option("backlog", int, 1024, "pending TCP connections the listener queues"),
    Option("header_timeout", float, 10.0, "seconds a client may take to send request headers"),
    Option("keep_alive", parse_bool, True, "keep client connections open between requests"),
    Option("tls", parse_bool, False, "serve HTTPS with a self-signed certificate kept on disk"),
    Option(
        "tls_host",
        parse_list,
        (),
        "extra name in the certificate, e.g. a Docker service name (repeatable)",
        repeatable=True,
        metavar="NAME",
    ),
    Option("tls_cert", str, None, "serve HTTPS with this certificate (PEM; needs --tls-key)"),
    Option("tls_key", str, None, "the private key (PEM) of --tls-cert"),
)

OPTION_BY_NAME = {o.name: o for o in OPTIONS}


@dataclass(frozen=True)
class Application:
    """A Vonage application: who may sign JWTs for it and where its webhooks go."""

    application_id: str
    public_key: str | None = None
    status_url: str | None = None
    inbound_url: str | None = None
    webhook_version: str | None = None  # for its v1 messages that do not ask (None: v1)


WEBHOOK_VERSIONS = ("v0.1", "v1")

# Options gathered into one Settings field each (per-application pairs, the key table).
_APPLICATION_OPTIONS = {
    "application_key": "public_key",
    "application_status_url": "status_url",
    "application_inbound_url": "inbound_url",
    "application_webhook_version": "webhook_version",
}
COLLECTED = {"api_key": "api_keys", **dict.fromkeys(_APPLICATION_OPTIONS, "applications")}


def _settings_field(option: Option) -> tuple[str, Any, Any]:
    default = option.default
    if isinstance(default, dict | list):  # a fresh one per instance
        return option.name, Any, field(default_factory=lambda: type(default)(default))
    return option.name, Any, field(default=default)


def _with_overrides(self: Any, **changes: Any) -> Any:
    return replace(self, **changes)


Settings = make_dataclass(
    "Settings",
    [
        *(_settings_field(o) for o in OPTIONS if o.name not in COLLECTED),
        ("applications", Mapping[str, Application], field(default_factory=dict)),
        ("api_keys", Mapping[str, str], field(default_factory=dict)),
    ],
    frozen=True,
    namespace={"with_overrides": _with_overrides},
)
Settings.__doc__ = """Everything the sandbox can be told: one field per row of OPTIONS (the
per-application and key options gathered into ``applications`` and ``api_keys``); built by
``load_settings`` or directly in tests."""
Settings.__module__ = __name__


def client_defaults(environ: Mapping[str, str] | None = None) -> dict[str, str | None]:
    """Where the CLI helpers find a running sandbox: SANDBOX_URL and SANDBOX_ADMIN_TOKEN."""
    environ = os.environ if environ is None else environ
    return {
        "url": environ.get("SANDBOX_URL", "http://127.0.0.1:4010"),
        "admin_token": environ.get("SANDBOX_ADMIN_TOKEN"),
    }


def cache_home(environ: Mapping[str, str] | None = None) -> Path:
    """The per-user cache directory ($XDG_CACHE_HOME, else ~/.cache) for generated files."""
    environ = os.environ if environ is None else environ
    return Path(environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "messages-sandbox"


def load_settings(
    overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Settings from, highest first: ``overrides`` (the CLI's flags, the pytest plugin's
    choices; already parsed), SANDBOX_* variables, the config file, the OPTIONS defaults.

    The config file is ``overrides["config"]``, else ``SANDBOX_CONFIG``. Pair options
    (``--api-key``, ``--application-*``) merge key by key across the sources.
    """
    given = overrides_layer(overrides or {})
    env = read_environment(os.environ if environ is None else environ)
    config_path = given.get("config") or env.get("config")
    values: dict[str, Any] = {o.name: o.default for o in OPTIONS}
    for layer in (read_config_file(config_path) if config_path else {}, env, given):
        for name, value in layer.items():
            merge_value(values, name, value)
    return build_settings(values)


def overrides_layer(overrides: Mapping[str, Any]) -> dict[str, Any]:
    """The overrides that say something (not None, not empty), by known option names."""
    given = {k: v for k, v in overrides.items() if v is not None and v != [] and v != ()}
    unknown = set(given) - set(OPTION_BY_NAME)
    if unknown:
        raise ConfigError(f"unknown setting(s): {', '.join(sorted(unknown))}")
    return {name: as_parsed(OPTION_BY_NAME[name], value) for name, value in given.items()}


def as_parsed(option: Option, value: Any) -> Any:
    """A repeatable option given as a Python list (``["A=x"]``, paths) is parsed as flags are."""
    if option.repeatable and isinstance(value, list):
        return parse_option(option, value, option.name)
    return value


def merge_value(values: dict[str, Any], name: str, value: Any) -> None:
    """Repeatable pair options merge key by key; everything else is replaced."""
    if isinstance(values.get(name), dict) and isinstance(value, dict):
        values[name] = {**values[name], **value}
    else:
        values[name] = value


def read_environment(environ: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for option in OPTIONS:
        if option.env in environ:
            values[option.name] = parse_option(option, environ[option.env], option.env)
    return values


def parse_option(option: Option, raw: Any, source: str) -> Any:
    try:
        return option.parse(raw)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{source}: {exc}") from None


def read_config_file(path: str) -> dict[str, Any]:
    """A YAML mapping of option names (plus ``applications:``) -> merged values."""
    import yaml

    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"config file {path}: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path}: expected a mapping at the top level")
    values: dict[str, Any] = {}
    for key, raw in data.items():
        name = str(key).replace("-", "_")
        if name == "applications":
            values.update(applications_from_file(raw, path))
        elif name == "api_keys" and isinstance(raw, dict):
            values["api_key"] = {str(k): str(v) for k, v in raw.items()}
        elif name in OPTION_BY_NAME:
            values[name] = config_file_value(OPTION_BY_NAME[name], raw, f"{path}: {key}")
        else:
            raise ConfigError(f"config file {path}: unknown setting {key!r}")
    return relative_to_file(values, Path(path).parent)


def relative_to_file(values: dict[str, Any], base_dir: Path) -> dict[str, Any]:
    """Public key paths in a config file are relative to that file (flags: to the cwd)."""
    keys = values.get("application_key") or {}
    values["application_key"] = {
        app: ref if "-----BEGIN" in ref or Path(ref).is_absolute() else str(base_dir / ref)
        for app, ref in keys.items()
    }
    return {k: v for k, v in values.items() if v != {}}


def config_file_value(option: Option, raw: Any, source: str) -> Any:
    if option.repeatable and isinstance(raw, dict):
        return {str(k): str(v) for k, v in raw.items()}
    if option.repeatable and not isinstance(raw, list):
        raw = [raw]
    if isinstance(raw, bool | int | float) and option.parse in (int, float):
        return option.parse(raw)
    return parse_option(option, raw if isinstance(raw, list) else str(raw), source)


def applications_from_file(raw: Any, path: str) -> dict[str, dict[str, str]]:
    """``applications: {APP_ID: {public_key, status_url, inbound_url}}`` -> pair options."""
    if not isinstance(raw, dict):
        raise ConfigError(f"config file {path}: applications must be a mapping of APP_ID: {{...}}")
    pairs: dict[str, dict[str, str]] = {name: {} for name in _APPLICATION_OPTIONS}
    for app_id, entry in raw.items():
        for option_name, attribute in _APPLICATION_OPTIONS.items():
            if isinstance(entry, dict) and entry.get(attribute):
                pairs[option_name][str(app_id)] = str(entry[attribute])
        if not isinstance(entry, dict):
            raise ConfigError(f"config file {path}: applications.{app_id} must be a mapping")
    return {k: v for k, v in pairs.items() if v}


def build_settings(values: Mapping[str, Any]) -> Settings:
    """Merged option values -> Settings (reading public keys from disk); drops nothing."""
    kwargs = {o.name: values[o.name] for o in OPTIONS if o.name not in COLLECTED}
    kwargs["applications"] = build_applications(values)
    kwargs["api_keys"] = dict(values.get("api_key") or {})
    settings = Settings(**kwargs)
    check_webhook_urls(settings)
    return settings


def check_webhook_urls(settings: Settings) -> None:
    """A webhook URL the sandbox must never call stops the start, naming its setting."""
    found = [("", name, getattr(settings, name)) for name in ("status_url", "inbound_url")]
    for app in settings.applications.values():
        found.append((f"application {app.application_id} ", "status_url", app.status_url))
        found.append((f"application {app.application_id} ", "inbound_url", app.inbound_url))
    for owner, name, url in found:
        reason = webhook_url_error(url) if url else None  # "" is no URL
        if reason:
            option = OPTION_BY_NAME[f"application_{name}" if owner else name]
            where = f"{option.flag} / {option.env} / config file"
            raise ConfigError(f"{owner}{name} ({where}): {reason}")


def build_applications(values: Mapping[str, Any]) -> dict[str, Application]:
    ids = set()
    for option_name in _APPLICATION_OPTIONS:
        ids.update((values.get(option_name) or {}).keys())
    apps = {}
    for app_id in sorted(ids):
        key_ref = (values.get("application_key") or {}).get(app_id)
        apps[app_id] = Application(
            application_id=app_id,
            public_key=read_public_key(key_ref) if key_ref else None,
            status_url=(values.get("application_status_url") or {}).get(app_id),
            inbound_url=(values.get("application_inbound_url") or {}).get(app_id),
            webhook_version=webhook_version(values, app_id),
        )
    return apps


def webhook_version(values: Mapping[str, Any], app_id: str) -> str | None:
    """An application's webhook version setting (v0.1 | v1), checked."""
    version = (values.get("application_webhook_version") or {}).get(app_id)
    if version is not None and version not in WEBHOOK_VERSIONS:
        option = OPTION_BY_NAME["application_webhook_version"]
        raise ConfigError(
            f"application {app_id} webhook_version ({option.flag} / {option.env} / config "
            f"file): must be one of {', '.join(WEBHOOK_VERSIONS)}; got {version!r}"
        )
    return version


def read_public_key(ref: str) -> str:
    """A PEM given inline, or the path of a PEM file."""
    if "-----BEGIN" in ref:
        return ref
    try:
        return Path(ref).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"public key {ref}: {exc.strerror or exc}") from None


def reference_markdown() -> str:
    """The table of every setting (flag, variable, config key, default, help) for the docs."""
    lines = [
        "| flag | environment | config file key | default | meaning |",
        "|---|---|---|---|---|",
    ]
    for o in OPTIONS:
        lines.append(f"| `{o.flag}` | `{o.env}` | `{o.name}` | {shown(o.default)} | {o.help} |")
    return "\n".join(lines) + "\n"


def shown(default: Any) -> str:
    if default in (None, {}, ()):
        return "none"
    return f"{default:g}" if isinstance(default, float) else str(default)
