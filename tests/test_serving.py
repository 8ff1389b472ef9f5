"""The server under hostile connection patterns (loopback only, bounded in count and time).

Idle keep-alive connections, clients that trickle their headers, and long-polls must never
keep a normal client's sends from being answered promptly.
"""

from __future__ import annotations

import signal
import socket
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, suppress

import pytest
import requests

from sandbox.config import Settings
from sandbox.server import Server, StopSignals

from .conftest import BASIC
from .samples import VALID

P99_LIMIT = 0.2


def timed_sends(url: str, seconds: float) -> list[float]:
    """Send for ``seconds`` on one keep-alive connection; each latency (all must be 202)."""
    session, latencies = requests.Session(), []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        started = time.perf_counter()
        response = session.post(
            url + "/v0.1/messages", json=VALID["sms-text"], headers={"Authorization": BASIC}
        )
        latencies.append(time.perf_counter() - started)
        assert response.status_code == 202, response.text
    return latencies


def p99(latencies: list[float]) -> float:
    return statistics.quantiles(latencies, n=100)[98]


def address(url: str) -> tuple[str, int]:
    host, port = url.split("://")[1].rsplit(":", 1)
    return host, int(port)


def trickle(sockets: list[socket.socket], stop: threading.Event) -> None:
    """One header line a second on each socket, never finishing the request."""
    line = 0
    while not stop.wait(1.0):
        line += 1
        for sock in sockets:
            with suppress(OSError):
                sock.sendall(f"X-Slow-{line}: y\r\n".encode())


def test_idle_and_slow_header_connections_do_not_delay_sends(start_sandbox):
    client = start_sandbox(header_timeout=60)
    target = address(client.url)
    stop = threading.Event()
    with ExitStack() as stack:
        idle = [stack.enter_context(socket.create_connection(target)) for _ in range(200)]
        slow = [stack.enter_context(socket.create_connection(target)) for _ in range(100)]
        for sock in slow:
            sock.sendall(b"POST /v0.1/messages HTTP/1.1\r\nHost: x\r\n")
        trickler = threading.Thread(target=trickle, args=(slow, stop))
        trickler.start()
        try:
            latencies = timed_sends(client.url, 15)
        finally:
            stop.set()
            trickler.join()
        assert len(idle) == 200
    assert len(latencies) > 100
    assert p99(latencies) < P99_LIMIT, f"p99 {p99(latencies) * 1000:.0f} ms"


def test_a_client_too_slow_with_its_headers_is_cut_off(start_sandbox):
    client = start_sandbox(header_timeout=1)
    with socket.create_connection(address(client.url), timeout=5) as sock:
        sock.sendall(b"POST /v0.1/messages HTTP/1.1\r\nHost: x\r\n")
        started = time.monotonic()
        answer = sock.recv(4096)  # the server closes (perhaps after a 408) within the timeout
        assert time.monotonic() - started < 3
        assert answer == b"" or answer.startswith(b"HTTP/1.1 408")


def long_poll(url: str, seconds: float = 12) -> requests.Response:
    return requests.get(
        url + "/_sandbox/wait",
        params={"for": "message", "client_ref": "never", "timeout": str(seconds)},
        timeout=20,
    )


def test_long_polls_do_not_take_the_threads_that_answer_sends(start_sandbox):
    client = start_sandbox(max_waits=32)
    with ThreadPoolExecutor(32) as pool:
        waits = [pool.submit(long_poll, client.url) for _ in range(32)]
        deadline = time.monotonic() + 9  # a loaded 2-core machine gathers 32 slowly
        while True:  # every slot taken: one more long-poll is refused at once
            extra = long_poll(client.url, seconds=0)  # (admitted while they gather: a 408)
            if extra.status_code == 503 or time.monotonic() > deadline:
                break
        assert extra.status_code == 503, extra.text
        assert extra.headers["Retry-After"] == "1"
        assert extra.json()["title"] == "Too many waits"
        assert extra.elapsed.total_seconds() < 1
        latencies = timed_sends(client.url, 4)
        assert all(not w.done() for w in waits)  # they were all still waiting meanwhile
        assert {w.result().status_code for w in waits} == {408}
    assert p99(latencies) < P99_LIMIT, f"p99 {p99(latencies) * 1000:.0f} ms"


SLOW = """
name: slow
select: always
rules:
  - name: slow
    match: {}
    answer: {latency: 2}
    script: [{status: submitted}]
"""


def test_scripted_latency_past_its_budget_is_not_delayed(start_sandbox, tmp_path):
    path = tmp_path / "slow.yaml"
    path.write_text(SLOW)
    client = start_sandbox(max_delayed=2, scenarios=(str(path),))

    def send() -> float:
        started = time.perf_counter()
        assert client.send(VALID["sms-text"]).status_code == 202
        return time.perf_counter() - started

    with ThreadPoolExecutor(2) as pool:
        held = [pool.submit(send) for _ in range(2)]
        time.sleep(0.5)  # both are inside their 2 s of scripted latency by now
        assert send() < 1  # a third finds the budget spent: answered without the delay
        assert all(f.result() >= 2 for f in held)


def test_server_lifecycle_start_once_context_manager_and_close():
    with Server(Settings(port=0, log_level="warning")) as server:
        assert requests.get(server.url + "/_sandbox/health", timeout=5).status_code == 200
        with pytest.raises(RuntimeError, match="already started"):
            server.start()
        assert server.sandbox.transport.own_port == server.port
    with pytest.raises(requests.ConnectionError):
        requests.get(server.url + "/_sandbox/health", timeout=2)
    assert server.sandbox.store.closed
    assert server._granian.stopped.is_set()  # close() waited for granian's worker to stop
    server.close()  # a second close does nothing


def test_close_lets_a_request_in_progress_finish(start_sandbox, tmp_path):
    path = tmp_path / "slow.yaml"
    path.write_text(SLOW.replace("latency: 2", "latency: 1"))
    client = start_sandbox(scenarios=(str(path),))
    with ThreadPoolExecutor(1) as pool:
        sending = pool.submit(client.send, VALID["sms-text"])
        time.sleep(0.3)  # the send is inside its scripted second
        client.server.close()
        assert sending.result().status_code == 202


def test_a_server_that_cannot_build_its_app_closes_its_sandbox_and_socket(monkeypatch):
    """No real app fails to build, so create_app is replaced by one that raises."""
    made = []

    def failing_app(sandbox, tls_cert):
        made.append(sandbox)
        raise RuntimeError("no app")

    monkeypatch.setattr("sandbox.server.create_app", failing_app)
    with pytest.raises(RuntimeError, match="no app"):
        Server(Settings(port=0, log_level="warning"))
    (sandbox,) = made
    assert sandbox.store.closed
    assert not sandbox.dispatcher._thread.is_alive()
    port = sandbox.transport.own_port
    with socket.create_server(("127.0.0.1", port)):  # the port is free again
        pass


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_stop_signal_landing_on_another_thread_wakes_serve_forever(signum):
    """Signals may land on any thread (granian's Rust ones too): the main thread still wakes."""
    previous = signal.getsignal(signum)
    parked = threading.Event()
    other = threading.Thread(target=parked.wait, args=(10,), daemon=True)
    other.start()
    with StopSignals() as signals:
        threading.Timer(0.1, signal.pthread_kill, (other.ident, signum)).start()
        started = time.monotonic()
        assert signals.wait() == signum
        assert time.monotonic() - started < 2
    parked.set()
    assert signal.getsignal(signum) is previous
