"""Messages Sandbox: an offline, faithful stand-in for the Nexmo (Vonage) Messages API v0.1."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .config import Settings
from .version import __version__

__all__ = ["Settings", "__version__", "create_app"]

if TYPE_CHECKING:
    from .web import create_app


def __getattr__(name: str) -> Any:
    # Flask is imported only when an application is asked for, not by `import sandbox`.
    if name == "create_app":
        from .web import create_app

        return create_app
    raise AttributeError(name)
