"""A warning at start when the admin API is open to other machines.

Listening beyond loopback without ``--admin-token`` (the Docker image listens on 0.0.0.0)
lets anyone who reaches the port read every journaled message and reset or reconfigure
the sandbox; that is a choice to make knowingly, so serve says so once, before it listens.
"""

from __future__ import annotations

import ipaddress
import logging

log = logging.getLogger("sandbox.server")
LOOPBACK_NAMES = {"localhost"}


def exposure_warning(host: str, admin_token: str | None) -> str | None:
    """The warning for listening on ``host`` with (or without) an admin token, or None."""
    if admin_token or is_loopback(host):
        return None
    return (
        f"--host {host or '(every interface)'} without --admin-token: the admin API "
        "(/_sandbox/) is open to every machine that can reach this port, to read every message "
        "and to reset or reconfigure the sandbox. Set --admin-token T (SANDBOX_ADMIN_TOKEN), "
        "or listen on 127.0.0.1."
    )


def is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # any other name may resolve to a public interface


def warn_if_exposed(host: str, admin_token: str | None) -> None:
    if warning := exposure_warning(host, admin_token):
        log.warning(warning)
