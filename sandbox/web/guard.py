"""Who may use the admin surface (admin API, change feed, UI), and from which web sites.

One check for all of them: with ``--admin-token``, ``Authorization: Bearer <token>`` (the
scheme is case-insensitive, RFC 7235 §2.1, as on /v0.1/messages) or a valid UI session
cookie. The cookie is ``<issued>.<HMAC(token, issued)>``: never the token itself, stateless,
good for SESSION_LIFETIME seconds, and named after the port the browser used, so that two
sandboxes on one host keep their own sessions (browsers share cookies across ports).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any
from urllib.parse import urlsplit

from flask import current_app, request

from .. import problems

COOKIE = "sandbox_ui_session"
SESSION_LIFETIME = 12 * 3600
CLOCK_SKEW = 60  # seconds a session's issue time may lie ahead (restarted machine clock)
CROSS_SITE = {"cross-site", "same-site"}  # Sec-Fetch-Site values from another origin


def admin_token() -> str | None:
    return current_app.extensions["sandbox"].settings.admin_token


def is_admin() -> bool:
    """Does this request carry the admin token (header or session)? True when none is set."""
    token = admin_token()
    if not token:
        return True
    return bearer_matches(request.headers.get("Authorization", ""), token) or session_valid(
        request.cookies.get(cookie_name(), ""), token, time.time()
    )


def require_admin() -> None:
    """401 in the admin error shape unless this request carries the admin token."""
    if not is_admin():
        raise problems.unauthorized(
            "The admin API needs 'Authorization: Bearer <admin token>' (see --admin-token)."
        )


def bearer_matches(header: str, token: str) -> bool:
    scheme, _, given = header.strip().partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode(), token.encode()
    )


def cookie_name() -> str:
    """The session cookie's name for the port this request came in on (from its Host)."""
    try:
        port = urlsplit(f"//{request.host}").port
    except ValueError:
        port = None
    return f"{COOKIE}_{port or (443 if request.is_secure else 80)}"


def session_value(token: str, issued: int) -> str:
    """A session issued at ``issued`` (epoch seconds) for the admin ``token``."""
    mac = hmac.new(token.encode(), f"messages-sandbox ui session {issued}".encode(), hashlib.sha256)
    return f"{issued}.{mac.hexdigest()}"


def session_valid(value: str, token: str, now: float) -> bool:
    """Was ``value`` issued for ``token``, and is it still within its lifetime at ``now``?"""
    issued, _, _ = value.partition(".")
    if not issued.isascii() or not issued.isdigit() or len(issued) > 12:
        return False
    if not now - SESSION_LIFETIME < int(issued) <= now + CLOCK_SKEW:
        return False
    return hmac.compare_digest(value.encode(), session_value(token, int(issued)).encode())


def cross_site_reason(headers: Any) -> str | None:
    """Why the browser's own headers show the request came from another site, or None."""
    fetch_site = headers.get("Sec-Fetch-Site")
    if fetch_site and fetch_site.lower() in CROSS_SITE:
        return f"the browser sent it with Sec-Fetch-Site: {fetch_site}"
    origin, host = headers.get("Origin"), headers.get("Host", "")
    if origin is not None and origin_host(origin) != host.lower():
        return f"its Origin {origin!r} is not this sandbox ({host})"
    return None


def origin_host(origin: str) -> str | None:
    """host[:port] of an Origin header ('' for "null"; None if it cannot be parsed)."""
    try:
        return urlsplit(origin).netloc.lower()
    except ValueError:
        return None
