"""The README's and docs/'s commands and examples are the ones that work: each one runs here."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from sandbox.config import OPTIONS

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCUMENTS = [README, *sorted((ROOT / "docs").glob("*.md"))]
BIN = Path(sys.executable).parent  # where this venv's `messages-sandbox` command is
BLOCK = re.compile(r"```(\w+)\n(.*?)```", re.S)
LINK = re.compile(r"\]\(([^)\s]*)\)")
LOCAL = re.compile(r"(127\.0\.0\.1:|--port )(\d{4})\b")
HEX32 = re.compile(r"[0-9a-f]{32}")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
# a trace id: 32 hex digits, or (a v1 status webhook's error) a UUID of any version
INSTANCE = re.compile(
    r"[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
)
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
VOLATILE = {
    "message_uuid": UUID,
    "instance": INSTANCE,
    "workflow_id": re.compile(r"[1-9A-HJ-NP-Za-km-z]{55}"),  # v1 failover (docs/v1.md)
    **dict.fromkeys(("now", "timestamp", "due_at", "occurred_at", "received_at"), TIMESTAMP),
}
SERVE = "messages-sandbox serve"
SETUP = (SERVE, "until ", "kill ")  # lines that start, await or stop a sandbox of a snippet


@dataclass(frozen=True)
class Block:
    document: Path
    lang: str
    text: str
    start: int
    end: int


def text(document: Path) -> str:
    return document.read_text()


def blocks(document: Path = README) -> list[Block]:
    return [
        Block(document, m.group(1), m.group(2), m.start(), m.end())
        for m in BLOCK.finditer(text(document))
    ]


def section_span(document: Path, heading: str) -> tuple[int, int]:
    """Where ``heading``'s section is: up to the next heading of the same level."""
    whole, level = text(document), heading.split(" ", 1)[0]
    start = whole.index(f"\n{heading}\n") + 1
    end = whole.find(f"\n{level} ", start)
    return start, len(whole) if end < 0 else end


def section(document: Path, heading: str) -> str:
    start, end = section_span(document, heading)
    return text(document)[start:end]


def blocks_in(document: Path, heading: str) -> list[Block]:
    start, end = section_span(document, heading)
    return [b for b in blocks(document) if start <= b.start < end]


def commands(block: str) -> str:
    """A shell block without the lines that start, await or stop its own sandbox."""
    return "\n".join(line for line in block.splitlines() if not line.startswith(SETUP))


def examples() -> list[tuple[Block, str, int | None]]:
    """(sh block, expected JSON text, stated status) for each curl block with an answer."""
    found = []
    for document in DOCUMENTS:
        found += [
            (block, answer.text, stated_status(text(document)[block.end : answer.start]))
            for block, answer in zip(blocks(document), blocks(document)[1:], strict=False)
            if block.lang == "sh" and commands(block.text).startswith("curl")
            if answer.lang == "json"
        ]
    return found


def stated_status(between: str) -> int | None:
    status = re.search(r"answers `(\d{3})", between)
    return int(status.group(1)) if status else None


def example_id(example: tuple[Block, str, int | None]) -> str:
    block = example[0]
    return f"{block.document.name}:{text(block.document).count(chr(10), 0, block.start) + 1}"


def sandbox_for(block: str, client, start_sandbox):
    """The shared sandbox, or a new one started with the block's own serve flags."""
    if not block.startswith(SERVE):
        return client
    from sandbox.cli import serve_settings

    flags = shlex.split(block.split("\n", 1)[0].removesuffix("&"))[2:]
    settings = serve_settings(flags, {})
    return start_sandbox(settings, port=0)


def curl_commands(block: str) -> list[list[str]]:
    """The arguments of each curl command of a block."""
    found: list[list[str]] = []
    for token in shlex.split(commands(block).replace("\\\n", " ")):
        if token == "curl":
            found.append([])
        else:
            found[-1].append(token)
    return found


def curl_to_request(args: list[str], base_url: str) -> dict[str, Any]:
    """The few curl options the docs use (-s -u -H -d -X) -> requests arguments."""
    args = list(args)
    request: dict[str, Any] = {"method": "GET", "headers": {}}
    while args:
        arg = args.pop(0)
        if arg == "-u":
            request["auth"] = tuple(args.pop(0).split(":", 1))
        elif arg == "-H":
            name, _, value = args.pop(0).partition(":")
            request["headers"][name.strip()] = value.strip()
        elif arg == "-d":
            request["data"] = args.pop(0).encode()
            request["method"] = "POST"
        elif arg == "-X":
            request["method"] = args.pop(0)
        elif arg.startswith("http"):
            request["url"] = re.sub(r"^http://127\.0\.0\.1:\d+", base_url, arg)
    return request


def assert_same_shape(expected: Any, actual: Any, path: str = "") -> None:
    """Equal, except ids and times that differ on every run (those must only look right)."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict) and set(actual) == set(expected), (path, actual)
        for key, value in expected.items():
            if key in VOLATILE:
                assert VOLATILE[key].fullmatch(actual[key]), (path, key, actual[key])
            elif key.endswith("_seconds"):
                assert isinstance(actual[key], int | float)
            else:
                assert_same_shape(value, actual[key], f"{path}.{key}")
    else:
        assert actual == expected, (path, actual, expected)


# running snippets as written -----------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Ports(dict):
    """The docs' fixed ports (4010, 9000…) -> free loopback ports, one each, for this test."""

    def __missing__(self, port: str) -> str:
        self[port] = str(free_port())
        return self[port]

    def localize(self, line: str) -> str:
        return LOCAL.sub(lambda m: m.group(1) + self[m.group(2)], line)

    def env(self) -> dict[str, str]:
        """The environment a snippet runs in: this venv's commands, the default port moved."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("SANDBOX_")}
        env["PATH"] = f"{BIN}{os.pathsep}{env['PATH']}"
        env["SANDBOX_PORT"] = self["4010"]
        env["SANDBOX_URL"] = f"http://127.0.0.1:{self['4010']}"
        return env


def run_script(script: str, env: dict[str, str], timeout: float = 60) -> str:
    """Run a shell snippet; whatever it left running in the background is stopped after."""
    proc = subprocess.Popen(
        ["bash", "-c", script],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
    assert proc.returncode == 0, err
    return out


def last_json(output: str) -> Any:
    """The last of the JSON documents curl printed one after the other."""
    decoder, position, last = json.JSONDecoder(), 0, None
    while position < len(output.rstrip()):
        last, position = decoder.raw_decode(output, position)
        while position < len(output) and output[position].isspace():
            position += 1
    return last


def command(line: str, ports: Ports) -> list[str]:
    """A documented command line as arguments: ports localized, this venv's executable."""
    args = shlex.split(ports.localize(line).replace("\\\n", " "))
    program = args[0].removeprefix(".venv/bin/")
    assert program == "messages-sandbox", line
    executable = BIN / program
    assert executable.exists(), f"{executable}: install the package (pip install -e .)"
    return [str(executable), *args[1:]]


class Printer:
    """A `messages-sandbox receive` process; its stdout lines, as they come."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    def wait_listening(self, port: str) -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", int(port))):
                return
            time.sleep(0.02)
        raise AssertionError(f"the receiver never listened on {port}")

    def next_line(self, timeout: float = 10) -> str:
        try:
            return self.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError("the receiver printed nothing more") from None

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def assert_printed(printer: Printer, shown: str) -> None:
    """The receiver prints, in order, requests shaped like the ``text`` block shows."""
    for expected in shown.splitlines():
        method, path, body = printer.next_line().split(" ", 2)
        assert [method, path] == expected.split(" ", 2)[:2], (method, path, expected)
        assert_same_shape(json.loads(expected.split(" ", 2)[2]), json.loads(body))


def play(block: Block, ports: Ports, sandbox_url: str, printer: Printer) -> None:
    """Do what one README block of the newcomer's path says, or check what it shows."""
    if block.lang == "text":
        assert_printed(printer, block.text)
    elif block.lang == "sh" and block.text.startswith("curl"):
        for args in curl_commands(block.text):
            request = curl_to_request(args, sandbox_url)
            response = requests.request(**request, timeout=10)
            between = text(block.document)[block.end :]
            assert response.status_code == (stated_status(between.split("```", 1)[0]) or 202)
    elif block.lang == "sh":
        done = subprocess.run(
            command(block.text, ports), env=ports.env(), capture_output=True, text=True, timeout=30
        )
        assert done.returncode == 0, done.stderr


# the tests --------------------------------------------------------------------------------


def test_the_two_commands_are_independent_and_ci_runs_the_second():
    install = blocks()[0].text.strip()
    (test,) = [b.text.strip() for b in blocks_in(README, "## Run the sandbox's own tests")]
    serve_venv = re.match(r"python3 -m venv (\S+) ", install).group(1)
    test_venv = re.match(r"python3 -m venv (\S+) ", test).group(1)
    # The test command reinstalls editable; under a running `serve` that would swap its files.
    assert serve_venv != test_venv
    assert f"{serve_venv}/bin/pip install . " in install and " -e " not in install
    assert f"{serve_venv}/bin/messages-sandbox serve" in install
    assert test.endswith(f"{test_venv}/bin/pytest")
    assert f"{test_venv}/bin/pip install -e '.[test]'" in test
    assert (ROOT / ".ci" / "run").read_text().strip().splitlines()[-1] == test
    ignored = (ROOT / ".gitignore").read_text().splitlines()
    assert f"{serve_venv}/" in ignored and f"{test_venv}/" in ignored


def test_the_first_screen_shows_the_port_and_a_webhook_arriving():
    first_screen = "\n".join(text(README).splitlines()[:60])
    assert "--port 8080" in first_screen and "SANDBOX_PORT" in first_screen
    assert "messages-sandbox receive --port 9000" in first_screen
    assert "\nPOST /status {" in first_screen


def anchors(document: Path) -> set[str]:
    """GitHub's ids for a document's headings: lower case, punctuation dropped, - for spaces."""
    headings = re.findall(r"^#+ (.+)$", BLOCK.sub("", text(document)), re.M)
    return {re.sub(r"[^\w\- ]", "", h.lower()).replace(" ", "-") for h in headings}


def test_every_link_between_the_documents_resolves():
    for document in DOCUMENTS:
        for link in LINK.findall(text(document)):
            target, _, anchor = link.partition("#")
            if link.startswith("http"):
                continue
            path = (document.parent / target) if target else document
            assert path.exists(), (document.name, link)
            if anchor and path.suffix == ".md":  # other files' anchors are line numbers
                assert anchor in anchors(path), (document.name, link)


def test_the_newcomers_path_works_as_written(spawn):
    """Quick start and errors: serve, receive, send, see the webhooks the README shows."""
    ports = Ports()
    path = blocks_in(README, "## Quick start: send a message, see its webhooks")
    path += blocks_in(README, "## Reproduce an error")
    serve = command(path[0].text.split("&& ")[-1], ports)
    printer = Printer(command(path[1].text, ports), ports.env())
    try:
        printer.wait_listening(ports["9000"])
        sandbox_url = spawn(serve, env=ports.env()).wait_until_healthy()
        assert sandbox_url == f"http://127.0.0.1:{ports['4010']}"
        for block in path[2:]:
            play(block, ports, sandbox_url, printer)
    finally:
        printer.stop()


@pytest.mark.parametrize("example", examples(), ids=example_id)
def test_example_answers_as_documented(client, start_sandbox, example):
    block, answer, status = example
    target = sandbox_for(block.text, client, start_sandbox)
    for args in curl_commands(block.text):  # the answer shown is the last command's
        request = curl_to_request(args, target.url)
        response = target.http.request(**request)
    if status is None:  # not stated: what a success of that call is
        status = 202 if request["url"].endswith(("/v0.1/messages", "/v1/messages")) else 200
    assert response.status_code == status, response.text
    assert_same_shape(json.loads(answer), response.json())


@pytest.mark.skipif(not shutil.which("curl"), reason="runs the snippets with curl")
@pytest.mark.parametrize(
    "example", [e for e in examples() if e[0].text.startswith(SERVE)], ids=example_id
)
def test_snippet_that_starts_its_own_sandbox_runs_as_written(example):
    """Exactly the documented lines, in bash, on free ports: serve &, wait, curl, kill."""
    block, answer, _ = example
    assert block.text.splitlines()[1].startswith("until curl -sf"), "wait for health first"
    ports = Ports()
    output = run_script(ports.localize(block.text), ports.env())
    assert_same_shape(json.loads(answer), last_json(output))


def test_every_setting_is_documented():
    reference = text(ROOT / "docs" / "configuration.md")
    for option in OPTIONS:
        assert f"`{option.flag}`" in reference, option.flag
        assert f"`{option.env}`" in reference, option.env


def payload_examples() -> list[dict]:
    """The payloads shown: docs/webhooks.md's JSON, and what the README's receiver prints."""
    webhooks = ROOT / "docs" / "webhooks.md"
    shown = [json.loads(b.text) for b in blocks(webhooks) if b.lang == "json"]
    printed = [
        json.loads(line.split(" ", 2)[2])
        for block in blocks()
        if block.lang == "text"
        for line in block.text.splitlines()
        if line.startswith("POST ")
    ]
    return [payload for payload in shown if "timestamp" in payload] + printed


def test_documented_webhook_payloads_match_the_spec():
    from sandbox.spec import Spec

    from .test_v1_webhooks import document_validators

    spec, v1, payloads = Spec.load(), document_validators(), payload_examples()
    v1_payloads = [payload for payload in payloads if "channel" in payload]  # v1's flat shape
    assert len(v1_payloads) >= 5 and len(payloads) - len(v1_payloads) >= 2
    for payload in payloads:
        kind = "status" if "status" in payload else "inbound"
        if payload in v1_payloads:
            v1[kind].validate(payload)
        else:
            spec.validator({"status": "MessageStatus"}.get(kind, "InboundMessage")).validate(
                payload
            )


def lifecycle_row(script: list[dict]) -> str:
    parts = []
    for step in script:
        row = f"`{step['status']}` after {step['after']:g}"
        if step.get("jitter"):
            row += f" (+{step['jitter']:g})"
        if step.get("usage"):
            row += " (with `usage`)"
        parts.append(row)
    return " → ".join(parts)


def test_lifecycle_table_is_the_default_scenario():
    import yaml

    from sandbox.resources import data_dir

    default = yaml.safe_load((data_dir("scenarios") / "default.yaml").read_text())
    table = section(ROOT / "docs" / "webhooks.md", "## The default lifecycle")
    for rule in default["rules"]:
        assert lifecycle_row(rule["script"]) in table, rule["name"]


def test_errors_table_is_what_the_command_prints():
    printed = subprocess.run(
        [sys.executable, "-m", "sandbox", "errors"], capture_output=True, text=True, check=True
    ).stdout
    scenarios = text(ROOT / "docs" / "scenarios.md")
    table = scenarios.split("<!-- errors-table:start -->\n")[1].split("<!-- errors-table:end -->")[
        0
    ]
    assert table == printed


def worked_example() -> str:
    (example,) = [
        b.text
        for b in blocks_in(ROOT / "docs" / "scenarios.md", "## A worked example")
        if b.lang == "yaml"
    ]
    return example


def test_worked_example_does_what_it_says(start_sandbox, tmp_path):
    from .receiver import Receiver
    from .samples import message

    path = tmp_path / "checkout.yaml"
    path.write_text(worked_example())
    receiver = Receiver()
    try:
        client = start_sandbox(
            clock="manual",
            scenarios=(str(path),),
            status_url=receiver.url + "/status",
            inbound_url=receiver.url + "/inbound",
        )
        sms = [client.send(message("sms-text", to__number="447700900123")).json() for _ in range(2)]
        confirm = message("whatsapp-text", message__content__text="Please confirm my table")
        whatsapp = client.send(confirm).json()["message_uuid"]
        started = time.perf_counter()
        burst = client.send(message("sms-text", client_ref="burst-7"))
        elapsed = time.perf_counter() - started
        client.sandbox.advance(30)

        def statuses(message_uuid):
            return [
                r.json for r in receiver.on("/status") if r.json["message_uuid"] == message_uuid
            ]

        first, second = (statuses(s["message_uuid"]) for s in sms)
        assert [p["status"] for p in first] == ["submitted", "undeliverable"]
        assert first[-1]["error"] == {"code": 1180, "reason": "Absent Subscriber Temporary"}
        assert [p["status"] for p in second] == ["submitted", "delivered"]
        assert [p["status"] for p in statuses(whatsapp)] == ["submitted", "delivered", "read"]
        (reply,) = receiver.on("/inbound")
        assert reply.json["message"]["content"]["text"].startswith("YES! See you at ")
        assert burst.status_code == 429 and burst.headers["Retry-After"] == "2"
        assert elapsed >= 0.2 and set(burst.json()) == {"type", "title", "detail", "instance"}
    finally:
        receiver.stop()


def test_pytest_example_passes_as_another_projects_test(pytester):
    (example,) = [
        b.text for b in blocks_in(README, "## Test your app with pytest") if b.lang == "python"
    ]
    pytester.makepyfile(test_notifications=example)
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_the_readmes_v1_channels_are_the_documents():
    from sandbox.versions.v1_document import load_v1

    start, end = section_span(README, "## Messages API v1: channels, SDKs, webhooks")
    row = r"^\| \[`(\w+)`\]\(docs/v1\.md#\w+\)(?: \(beta\))? \| ([\w, ]+) \|$"
    rows = re.findall(row, text(README)[start:end], re.M)
    shown = {channel: types.split(", ") for channel, types in rows}
    assert shown == {channel: list(types) for channel, types in load_v1().message_schemas.items()}


def test_the_readmes_sdk_lines_are_docs_v1s_whose_python_block_is_run():
    """tests/test_sdk_python.py runs docs/v1.md's Python block; the README quotes its table."""
    start, end = section_span(README, "## Messages API v1: channels, SDKs, webhooks")
    rows = [line for line in text(README)[start:end].splitlines() if line.startswith("| ")]
    sdk_rows = [row for row in rows if "127.0.0.1:4010" in row]
    assert len(sdk_rows) == 5
    reference = text(ROOT / "docs" / "v1.md").splitlines()
    assert all(row in reference for row in sdk_rows)
    for configuration in (
        "apiHost",
        "HttpClientOptions(api_host=",
        "apiBaseUri(",
        "base_api_url",
        "Url.Api",
    ):
        assert any(configuration in row for row in sdk_rows), configuration
    assert "--tls" in text(README)[start:end] and "REQUESTS_CA_BUNDLE=" in text(README)[start:end]


def test_every_readme_block_is_run_by_a_test():
    """Each block is played on the newcomer's path, or answered, or is a command CI runs."""
    path = blocks_in(README, "## Quick start: send a message, see its webhooks")
    path += blocks_in(README, "## Reproduce an error")
    run = {b.start for b in path}
    for block, _, _ in examples():
        if block.document == README:
            answer = next(b for b in blocks() if b.start > block.start)
            run |= {block.start, answer.start}
    run |= {b.start for b in blocks_in(README, "## Run the sandbox's own tests")}  # .ci/run
    run |= {b.start for b in blocks_in(README, "## Test your app with pytest")}  # pytester
    not_run = [b.text[:60] for b in blocks() if b.start not in run]
    assert not_run == []
