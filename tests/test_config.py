"""Settings precedence: CLI flags > SANDBOX_* environment > config file > defaults.

Every row of ``OPTIONS`` is checked through all three sources (the flags through the real
click command), so a new row cannot be forgotten by one of them or dropped on the way to
``Settings``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from sandbox.cli import serve_settings
from sandbox.clock import CLOCKS, make_clock
from sandbox.config import (
    COLLECTED,
    OPTION_BY_NAME,
    OPTIONS,
    ConfigError,
    Option,
    Settings,
    load_settings,
    reference_markdown,
)

PEM = "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n"
pytest_plugins = ["pytester"]


def test_defaults_come_from_the_option_table():
    settings = load_settings({}, {})
    assert settings == Settings()
    for option in OPTIONS:
        if option.name not in COLLECTED:
            assert getattr(settings, option.name) == option.default, option.name


def test_settings_has_one_field_per_option_and_nothing_else():
    fields = {f.name for f in dataclasses.fields(Settings)}
    plain = {o.name for o in OPTIONS if o.name not in COLLECTED}
    assert fields == plain | set(COLLECTED.values())
    assert set(COLLECTED) <= set(OPTION_BY_NAME)


def samples(option: Option, tmp_path) -> tuple[str, str, str]:
    """Three raw values (file, environment, flag): first and second differ from each other
    and from the default, the third from the second."""
    choices = getattr(option.parse, "choices", None)
    if choices:
        others = [c for c in choices if c != option.default]
        return others[0], others[1 % len(others)], option.default
    if option.name == "application_key":
        keys = []
        for n in range(3):
            path = tmp_path / f"key{n}.pem"
            path.write_text(PEM.format(n))
            keys.append(f"app={path}")
        return tuple(keys)
    if option.name == "application_webhook_version":  # checked at start: v0.1 | v1
        return "app=v1", "app=v0.1", "app=v1"
    if option.name.endswith("_url"):  # webhook URLs are checked at start
        prefix = "app=" if option.repeatable else ""
        return tuple(f"{prefix}http://{n}.example/hook" for n in ("one", "two", "three"))
    if option.repeatable and option.metavar and "=" in option.metavar:
        return "app=one", "app=two", "app=three"
    if option.parse in (int, float):
        return "11", "22", "33"
    if isinstance(option.default, bool):  # two values: the file's differs from the default
        flipped, default = str(not option.default).lower(), str(option.default).lower()
        return flipped, default, flipped
    return "one", "two", "three"


def observed(settings: Settings, option: Option):
    """The value of ``option`` as Settings holds it (gathered options: app/key 'app')."""
    if option.name == "api_key":
        return settings.api_keys.get("app")
    if option.name in COLLECTED:
        attribute = {"application_key": "public_key"}.get(option.name, option.name[12:])
        app = settings.applications.get("app")
        return getattr(app, attribute) if app else None
    return getattr(settings, option.name)


def expected(option: Option, raw: str):
    if option.name == "application_key":
        return open(raw.split("=", 1)[1]).read()
    if option.repeatable and "=" in raw:
        return raw.split("=", 1)[1]
    return option.parse([raw] if option.repeatable else raw)


SETTABLE = [o for o in OPTIONS if o.name != "config"]  # the file cannot name itself


@pytest.mark.parametrize("option", SETTABLE, ids=lambda o: o.name)
def test_every_option_by_flag_env_and_file_with_precedence(option, tmp_path):
    in_file, in_env, in_flag = samples(option, tmp_path)
    config = tmp_path / "sandbox.yaml"
    config.write_text(f"{option.name.replace('_', '-')}: {in_file!r}\n")
    environ = {"SANDBOX_CONFIG": str(config), option.env: in_env}
    flags = [option.flag, in_flag]

    assert observed(serve_settings(flags, environ), option) == expected(option, in_flag)
    assert observed(serve_settings([], environ), option) == expected(option, in_env)
    del environ[option.env]
    from_file = observed(serve_settings([], environ), option)
    assert from_file == expected(option, in_file)
    assert from_file != observed(Settings(), option)


def test_config_file_is_found_by_flag_or_environment(tmp_path):
    config = tmp_path / "sandbox.yaml"
    config.write_text("port: 1111\n")
    other = tmp_path / "other.yaml"
    other.write_text("port: 2222\n")
    assert serve_settings(["--config", str(config)], {}).port == 1111
    assert serve_settings([], {"SANDBOX_CONFIG": str(config)}).port == 1111
    assert serve_settings(["--config", str(other)], {"SANDBOX_CONFIG": str(config)}).port == 2222


def test_cli_beats_environment_beats_file(tmp_path):
    config = tmp_path / "sandbox.yaml"
    config.write_text("port: 1111\nhost: 10.0.0.1\nthreads: 3\nwebhook-timeout: 2.5\n")
    environ = {"SANDBOX_CONFIG": str(config), "SANDBOX_PORT": "2222", "SANDBOX_HOST": "0.0.0.0"}
    settings = load_settings({"port": 3333}, environ)
    assert (settings.port, settings.host, settings.threads) == (3333, "0.0.0.0", 3)
    assert settings.webhook_timeout == 2.5


def test_repeated_flags_and_sources_merge_key_by_key(tmp_path):
    config = tmp_path / "sandbox.yaml"
    config.write_text("api_keys:\n  k1: s1\n  k2: file\n")
    environ = {"SANDBOX_CONFIG": str(config), "SANDBOX_API_KEY": "k2=env,k3=s3"}
    settings = serve_settings(["--api-key", "k3=flag", "--api-key", "k4=s4"], environ)
    assert settings.api_keys == {"k1": "s1", "k2": "env", "k3": "flag", "k4": "s4"}


def test_applications_merge_across_sources(tmp_path):
    pem = tmp_path / "app.pem"
    pem.write_text(PEM.format("abc"))
    config = tmp_path / "sandbox.yaml"
    config.write_text(
        "applications:\n  app-1:\n    public_key: app.pem\n    status_url: http://file/status\n"
        "api_keys:\n  k1: s1\n"
    )
    environ = {"SANDBOX_APPLICATION_STATUS_URL": "app-1=http://env/status,app-2=http://env/2"}
    settings = load_settings({"config": str(config)}, environ)
    app1, app2 = settings.applications["app-1"], settings.applications["app-2"]
    assert app1.public_key == PEM.format("abc")  # relative to the config file
    assert app1.status_url == "http://env/status"
    assert app2.status_url == "http://env/2" and app2.public_key is None
    assert settings.api_keys == {"k1": "s1"}


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"SANDBOX_PORT": "http"}, "SANDBOX_PORT: invalid literal"),
        ({"SANDBOX_CLOCK": "slow"}, "SANDBOX_CLOCK: must be one of real, manual, fast"),
        ({"SANDBOX_API_KEY": "nosecret"}, "SANDBOX_API_KEY: expected NAME=VALUE"),
        ({"SANDBOX_CONFIG": "/nonexistent/sandbox.yaml"}, "config file /nonexistent"),
        ({"SANDBOX_APPLICATION_KEY": "app=/nonexistent.pem"}, "public key /nonexistent.pem"),
    ],
)
def test_bad_values_name_their_source(environ, message):
    with pytest.raises(ConfigError, match=message):
        load_settings({}, environ)


def test_unknown_config_file_key_and_override_are_refused(tmp_path):
    config = tmp_path / "sandbox.yaml"
    config.write_text("prot: 1\n")
    with pytest.raises(ConfigError, match="unknown setting 'prot'"):
        load_settings({"config": str(config)}, {})
    with pytest.raises(ConfigError, match="unknown setting.*: prot"):
        load_settings({"prot": 1}, {})


def test_one_clock_vocabulary():
    assert OPTION_BY_NAME["clock"].parse.choices == tuple(CLOCKS)
    assert serve_settings(["--clock", "fast"], {}).clock == "fast"
    assert make_clock("fast", 2.0).speed == 200.0 and not make_clock("fast", 1.0).manual
    assert make_clock("manual", 1.0).manual and make_clock("real", 3.0).speed == 3.0
    with pytest.raises(ValueError, match="must be one of real, manual, fast"):
        make_clock("slow", 1.0)


def test_the_docs_list_every_setting_as_the_table_declares_it():
    docs = (Path(__file__).resolve().parent.parent / "docs" / "configuration.md").read_text()
    table = docs.split("<!-- BEGIN OPTIONS (generated) -->\n")[1].split("<!-- END OPTIONS")[0]
    assert table == reference_markdown(), "regenerate the table in docs/configuration.md"


PLUGIN_TEST = """
import pytest
from sandbox.config import load_settings


def test_settings_reach_the_sandbox(messages_sandbox, messages_sandbox_settings):
    assert messages_sandbox_settings.seed == 7
    assert messages_sandbox_settings.port == 0 and messages_sandbox_settings.clock == "manual"
    assert messages_sandbox_settings.scenarios == ({scenarios!r},)
    status, body = messages_sandbox.send({{
        "to": {{"type": "sms", "number": "15550009999"}},
        "from": {{"type": "sms", "number": "Acme"}},
        "message": {{"content": {{"type": "text", "text": "hi"}}}},
    }})
    assert status == 418, body
"""

TEAPOT = "name: teapot\nrules:\n  - match: {to: '15550009999'}\n    answer: {status: 418}\n"

OVERRIDE = """
import pytest
from sandbox.config import load_settings


@pytest.fixture(scope="session")
def messages_sandbox_settings():
    return load_settings({"port": 0, "clock": "manual", "seed": 7, "scenarios": [%r]})
"""


@pytest.mark.parametrize("how", ["environment", "overridden fixture"])
def test_plugin_settings_come_from_the_environment_or_an_override(pytester, monkeypatch, how):
    scenario = pytester.path / "teapot.yaml"
    scenario.write_text(TEAPOT)
    pytester.makepyfile(test_app=PLUGIN_TEST.format(scenarios=str(scenario)))
    env = {"SANDBOX_SEED": "7", "SANDBOX_SCENARIOS": str(scenario)}
    if how == "overridden fixture":
        pytester.makeconftest(OVERRIDE % str(scenario))
        env = {}
    for name in ("SANDBOX_SEED", "SANDBOX_SCENARIOS", "SANDBOX_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
