"""Where webhooks may go: one check for every way a URL comes in.

A per-message ``callback``, an application's URLs, the default URLs (admin API, flags,
environment, config file) all pass here when they arrive, not when a webhook is due.
Only ``http``/``https`` with a host; and never the sandbox's admin API: a webhook to
``/_sandbox/reset`` would let any sender wipe every tenant's journal. The sandbox cannot
know every name it is reachable by (Docker service names, port mappings), so a path under
``/_sandbox/`` is refused on any host, except the webhook sink ``/_sandbox/sink/…``.
"""

from __future__ import annotations

import posixpath
import re
from typing import Any
from urllib.parse import unquote, urlsplit

SCHEMES = ("http", "https")
ADMIN_SEGMENT = "_sandbox"
SINK_SEGMENT = "sink"
SHOWN = 60


def webhook_url_error(url: Any) -> str | None:
    """Why ``url`` cannot receive webhooks ("must …; got …"), or None when it can."""
    try:
        parts = urlsplit(url) if isinstance(url, str) else None
        host = parts and parts.hostname
    except ValueError:  # e.g. an unclosed IPv6 bracket
        parts = host = None
    if parts is None or parts.scheme.lower() not in SCHEMES or not host:
        return f"must be an absolute http or https URL; {got(url)}"
    if targets_admin_api(parts.path):
        return (
            "must not point at the sandbox's admin API (/_sandbox/…; only /_sandbox/sink/… "
            f"may receive webhooks); {got(url)}"
        )
    return None


def targets_admin_api(path: str) -> bool:
    """Whether ``path``, as a server would route it, is under /_sandbox/ but not the sink."""
    # Decoded and normalised first: /%5Fsandbox/reset and /x/../_sandbox/reset route there too.
    normal = posixpath.normpath(re.sub("/+", "/", "/" + unquote(path)))
    segments = normal.split("/")[1:]
    return segments[:1] == [ADMIN_SEGMENT] and segments[1:2] != [SINK_SEGMENT]


def got(value: Any) -> str:
    shown = repr(value)
    return f"got {shown}" if len(shown) <= SHOWN else f"got {shown[: SHOWN - 3]}...'"
