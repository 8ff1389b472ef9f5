"""Settings: CLI flags > SANDBOX_* environment variables > config file > defaults.

This module is the only reader of ``os.environ``. One table (``OPTIONS``) describes every
setting once; the CLI builds its flags from it and the environment/config file use the
same names, so the three sources can never drift apart.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any


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
    Option("threads", int, 8, "WSGI worker threads"),
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
    Option("clock", parse_choice("real", "manual"), "real", "real, or manual (advanced by API)"),
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


def _default(name: str) -> Any:
    return OPTION_BY_NAME[name].default


@dataclass(frozen=True)
class Application:
    """A Vonage application: who may sign JWTs for it and where its webhooks go."""

    application_id: str
    public_key: str | None = None
    status_url: str | None = None
    inbound_url: str | None = None


@dataclass(frozen=True)
class Settings:
    """Everything the sandbox can be told; built by ``load_settings`` or directly in tests."""

    host: str = _default("host")
    port: int = _default("port")
    db: str | None = _default("db")
    config: str | None = _default("config")
    threads: int = _default("threads")
    max_body: int = _default("max_body")
    log_level: str = _default("log_level")
    spec: str | None = _default("spec")
    applications: Mapping[str, Application] = field(default_factory=dict)
    api_keys: Mapping[str, str] = field(default_factory=dict)
    status_url: str | None = _default("status_url")
    inbound_url: str | None = _default("inbound_url")
    webhook_timeout: float = _default("webhook_timeout")
    retry_base: float = _default("retry_base")
    retry_cap: float = _default("retry_cap")
    retry_for: float = _default("retry_for")
    signature_secret: str | None = _default("signature_secret")
    seed: int | None = _default("seed")
    speed: float = _default("speed")
    clock: str = _default("clock")
    scenarios: tuple[str, ...] = _default("scenarios")
    admin_token: str | None = _default("admin_token")
    journal_limit: int = _default("journal_limit")
    max_waits: int = _default("max_waits")
    max_delayed: int = _default("max_delayed")
    backlog: int = _default("backlog")
    header_timeout: float = _default("header_timeout")
    keep_alive: bool = _default("keep_alive")
    tls: bool = _default("tls")
    tls_host: tuple[str, ...] = _default("tls_host")
    tls_cert: str | None = _default("tls_cert")
    tls_key: str | None = _default("tls_key")

    def with_overrides(self, **changes: Any) -> Settings:
        return replace(self, **changes)


_APPLICATION_OPTIONS = {
    "application_key": "public_key",
    "application_status_url": "status_url",
    "application_inbound_url": "inbound_url",
}


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
    cli: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Merge the sources, highest first: CLI flags, SANDBOX_* variables, config file."""
    cli = {k: v for k, v in (cli or {}).items() if v is not None and v != [] and v != ()}
    env = read_environment(os.environ if environ is None else environ)
    config_path = cli.get("config") or env.get("config")
    layers = [read_config_file(config_path) if config_path else {}, env, cli]
    values: dict[str, Any] = {o.name: o.default for o in OPTIONS}
    for layer in layers:
        for name, value in layer.items():
            merge_value(values, name, value)
    return build_settings(values, base_dir=Path(config_path).parent if config_path else Path())


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
    return values


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


def build_settings(values: Mapping[str, Any], base_dir: Path = Path()) -> Settings:
    """Turn merged option values into Settings (reading public keys from disk)."""
    plain = {f.name for f in fields(Settings)} - {"applications", "api_keys"}
    kwargs = {name: values[name] for name in plain if name in values}
    kwargs["applications"] = build_applications(values, base_dir)
    kwargs["api_keys"] = dict(values.get("api_key") or {})
    kwargs["scenarios"] = tuple(values.get("scenarios") or ())
    kwargs["tls_host"] = tuple(values.get("tls_host") or ())
    return Settings(**kwargs)


def build_applications(values: Mapping[str, Any], base_dir: Path) -> dict[str, Application]:
    ids = set()
    for option_name in _APPLICATION_OPTIONS:
        ids.update((values.get(option_name) or {}).keys())
    apps = {}
    for app_id in sorted(ids):
        key_ref = (values.get("application_key") or {}).get(app_id)
        apps[app_id] = Application(
            application_id=app_id,
            public_key=read_public_key(key_ref, base_dir) if key_ref else None,
            status_url=(values.get("application_status_url") or {}).get(app_id),
            inbound_url=(values.get("application_inbound_url") or {}).get(app_id),
        )
    return apps


def read_public_key(ref: str, base_dir: Path) -> str:
    """A PEM given inline, or the path of a PEM file (relative to the config file)."""
    if "-----BEGIN" in ref:
        return ref
    path = Path(ref) if Path(ref).is_absolute() else base_dir / ref
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"public key {ref}: {exc.strerror or exc}") from None
