"""Settings precedence: CLI flags > SANDBOX_* environment > config file > defaults."""

from __future__ import annotations

import pytest

from sandbox.config import OPTIONS, ConfigError, Settings, load_settings


def test_defaults_come_from_the_option_table():
    settings = load_settings({}, {})
    assert settings == Settings()
    for option in OPTIONS:
        if hasattr(settings, option.name):
            assert getattr(settings, option.name) == option.default


def test_cli_beats_environment_beats_file(tmp_path):
    config = tmp_path / "sandbox.yaml"
    config.write_text("port: 1111\nhost: 10.0.0.1\nthreads: 3\nwebhook-timeout: 2.5\n")
    environ = {"SANDBOX_CONFIG": str(config), "SANDBOX_PORT": "2222", "SANDBOX_HOST": "0.0.0.0"}
    settings = load_settings({"port": 3333}, environ)
    assert (settings.port, settings.host, settings.threads) == (3333, "0.0.0.0", 3)
    assert settings.webhook_timeout == 2.5


def test_applications_merge_across_sources(tmp_path):
    pem = tmp_path / "app.pem"
    pem.write_text("-----BEGIN PUBLIC KEY-----\nabc\n-----END PUBLIC KEY-----\n")
    config = tmp_path / "sandbox.yaml"
    config.write_text(
        "applications:\n  app-1:\n    public_key: app.pem\n    status_url: http://file/status\n"
        "api_keys:\n  k1: s1\n"
    )
    environ = {"SANDBOX_APPLICATION_STATUS_URL": "app-1=http://env/status,app-2=http://env/2"}
    settings = load_settings({"config": str(config)}, environ)
    app1, app2 = settings.applications["app-1"], settings.applications["app-2"]
    assert app1.public_key.startswith("-----BEGIN PUBLIC KEY-----")
    assert app1.status_url == "http://env/status"
    assert app2.status_url == "http://env/2" and app2.public_key is None
    assert settings.api_keys == {"k1": "s1"}


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"SANDBOX_PORT": "http"}, "SANDBOX_PORT: invalid literal"),
        ({"SANDBOX_CLOCK": "fast"}, "SANDBOX_CLOCK: must be one of real, manual"),
        ({"SANDBOX_API_KEY": "nosecret"}, "SANDBOX_API_KEY: expected NAME=VALUE"),
        ({"SANDBOX_CONFIG": "/nonexistent/sandbox.yaml"}, "config file /nonexistent"),
        ({"SANDBOX_APPLICATION_KEY": "app=/nonexistent.pem"}, "public key /nonexistent.pem"),
    ],
)
def test_bad_values_name_their_source(environ, message):
    with pytest.raises(ConfigError, match=message):
        load_settings({}, environ)


def test_unknown_config_file_key_is_refused(tmp_path):
    config = tmp_path / "sandbox.yaml"
    config.write_text("prot: 1\n")
    with pytest.raises(ConfigError, match="unknown setting 'prot'"):
        load_settings({"config": str(config)}, {})
