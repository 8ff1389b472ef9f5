"""Run `messages-sandbox serve` as a real process and read its log as it runs."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence

import requests

LISTENING = re.compile(r"listening on (http://\S+)")


class ServeProcess:
    """A sandbox process started with ``args``; its stderr lines are collected as they come."""

    def __init__(self, args: Sequence[str], env: dict[str, str] | None = None, cwd=None) -> None:
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            list(args),
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            text=True,
            env={**os.environ, **(env or {})},
            cwd=cwd,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.log: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stderr:
            self.lines.put(line)

    def wait_for_line(self, pattern: str | re.Pattern, timeout: float = 10.0) -> re.Match:
        deadline = time.monotonic() + timeout
        regex = re.compile(pattern) if isinstance(pattern, str) else pattern
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            self.log.append(line)
            if match := regex.search(line):
                return match
        raise AssertionError(f"no line matching {regex.pattern!r} in:\n{''.join(self.log)}")

    def wait_until_healthy(self, timeout: float = 10.0) -> str:
        url = self.wait_for_line(LISTENING, timeout).group(1)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if requests.get(url + "/_sandbox/health", timeout=1).status_code == 200:
                    return url
            except requests.ConnectionError:
                time.sleep(0.01)
        raise AssertionError(f"{url} never became healthy")

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 10.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signum)
        try:
            return self.proc.wait(timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()


def serve_command(*flags: str) -> list[str]:
    return [sys.executable, "-m", "sandbox", "serve", "--port", "0", *flags]
