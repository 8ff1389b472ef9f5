"""The run-time state: everything the admin API can change while the sandbox runs.

Applications and their public keys, the default and per-scope webhook URLs, the scenario
selections and the stateful rules' counters live here and nowhere else. The webhook
builder and the authenticator read the current state; an unscoped reset replaces it
whole (a field added later cannot be forgotten by the reset), a scoped one drops that
scope's part. A scope is named by an application id or an api key.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .auth import load_public_keys
from .config import Application, Settings
from .scenarios import Counters


@dataclass(frozen=True)
class WebhookUrls:
    """Where status and inbound webhooks go when nothing more specific says."""

    status_url: str | None = None
    inbound_url: str | None = None


@dataclass
class RuntimeState:
    """One consistent set of run-time configuration (replaced whole by a full reset)."""

    applications: dict[str, Application]
    public_keys: dict[str, Any]
    defaults: WebhookUrls
    scope_urls: dict[str, WebhookUrls] = field(default_factory=dict)
    selected: dict[str, tuple[str, ...]] = field(default_factory=dict)
    counters: Counters = field(default_factory=Counters)

    @classmethod
    def initial(cls, settings: Settings) -> RuntimeState:
        """The state the sandbox starts with (and returns to on an unscoped reset)."""
        return cls(
            applications=dict(settings.applications),
            public_keys=load_public_keys(settings.applications),
            defaults=WebhookUrls(settings.status_url, settings.inbound_url),
        )

    def urls_for(self, scope: str) -> WebhookUrls:
        """The scope's own webhook URLs, else the defaults."""
        return self.scope_urls.get(scope) or self.defaults

    def forget(self, scope: str) -> None:
        """Drop one scope's URLs, selection and counters."""
        self.scope_urls.pop(scope, None)
        self.selected.pop(scope, None)
        self.counters.reset(scope)


class Runtime:
    """Holds the current ``RuntimeState``; every change goes through here, under one lock."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.state = RuntimeState.initial(settings)
        self.lock = threading.Lock()

    def reset(self, scope: str | None = None) -> None:
        """No scope: a new initial state; a scope: that scope's part of the state."""
        with self.lock:
            if scope is None:
                self.state = RuntimeState.initial(self.settings)
            else:
                self.state.forget(scope)

    def put_application(self, app: Application) -> None:
        """Register or replace an application (a bad public key raises ConfigError first)."""
        with self.lock:
            applications = {**self.state.applications, app.application_id: app}
            self.state.public_keys = load_public_keys(applications)
            self.state.applications = applications

    def set_urls(self, urls: WebhookUrls, scope: str = "") -> None:
        """The default webhook URLs ('' scope), or one scope's own."""
        with self.lock:
            if scope:
                self.state.scope_urls[scope] = urls
            else:
                self.state.defaults = urls

    def select(self, names: tuple[str, ...], scope: str = "") -> None:
        with self.lock:
            self.state.selected[scope] = names

    def public_keys(self) -> Mapping[str, Any]:
        return self.state.public_keys
