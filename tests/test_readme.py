"""The README's commands and examples are the ones that work: each example runs here."""

from __future__ import annotations

import json
import re
import shlex
import time
from pathlib import Path
from typing import Any

import pytest

from sandbox.config import OPTIONS

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
BLOCK = re.compile(r"```(\w+)\n(.*?)```", re.S)
HEX32 = re.compile(r"[0-9a-f]{32}")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
VOLATILE = {
    "message_uuid": UUID,
    "instance": HEX32,
    **dict.fromkeys(("now", "timestamp", "due_at", "occurred_at", "received_at"), TIMESTAMP),
}


def blocks() -> list[tuple[str, str, int, int]]:
    return [(m.group(1), m.group(2), m.start(), m.end()) for m in BLOCK.finditer(README)]


SERVE = "messages-sandbox serve"


def examples() -> list[tuple[str, Any, int]]:
    """(sh block, expected JSON text, expected status) for each curl block with an answer.

    A block may start the sandbox with flags first (``messages-sandbox serve --x … &``).
    """
    found = []
    all_blocks = blocks()
    for (lang, text, _, end), (next_lang, answer, start, _) in zip(
        all_blocks, all_blocks[1:], strict=False
    ):
        curl = text.split("\n", 1)[1] if text.startswith(SERVE) else text
        if lang == "sh" and curl.startswith("curl") and next_lang == "json":
            status = re.search(r"answers `(\d{3})", README[end:start])
            found.append((text, answer, int(status.group(1)) if status else None))
    return found


def sandbox_for(block: str, client, start_sandbox):
    """The shared sandbox, or a new one started with the block's own serve flags."""
    if not block.startswith(SERVE):
        return client
    from sandbox.cli import build_parser, cli_settings
    from sandbox.config import load_settings

    flags = shlex.split(block.split("\n", 1)[0].removesuffix("&"))[2:]
    settings = load_settings(cli_settings(build_parser().parse_args(["serve", *flags])), {})
    return start_sandbox(settings)


def curl_commands(block: str) -> list[list[str]]:
    """The arguments of each curl command of a block, after any serve line."""
    body = block.split("\n", 1)[1] if block.startswith(SERVE) else block
    commands: list[list[str]] = []
    for token in shlex.split(body.replace("\\\n", " ")):
        if token == "curl":
            commands.append([])
        else:
            commands[-1].append(token)
    return commands


def curl_to_request(args: list[str], base_url: str) -> dict[str, Any]:
    """The few curl options the README uses (-s -u -H -d -X) -> requests arguments."""
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
            request["url"] = arg.replace("http://127.0.0.1:4010", base_url)
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


def test_readme_opens_with_the_two_commands_and_ci_runs_the_second():
    install, test = [text.strip() for lang, text, _, _ in blocks()[:2]]
    assert install.endswith("messages-sandbox serve") and "pip install ." in install
    assert test.endswith("pytest") and "pip install -e '.[test]'" in test
    assert test in (ROOT / ".ci" / "run").read_text()


@pytest.mark.parametrize("index", range(len(examples())))
def test_readme_example_answers_as_documented(client, start_sandbox, index):
    block, answer, status = examples()[index]
    target = sandbox_for(block, client, start_sandbox)
    for command in curl_commands(block):  # the answer shown is the last command's
        request = curl_to_request(command, target.url)
        response = target.http.request(**request)
    if status is None:  # not stated: what a success of that call is
        status = 202 if request["url"].endswith("/v0.1/messages") else 200
    assert response.status_code == status, response.text
    assert_same_shape(json.loads(answer), response.json())


def test_every_setting_is_documented():
    for option in OPTIONS:
        assert f"`{option.flag}`" in README, option.flag
        assert f"`{option.env}`" in README, option.env


def payload_examples() -> list[dict]:
    """The webhook payloads the Webhooks section shows (JSON blocks with a timestamp)."""
    section = README.split("## Webhooks")[1].split("\n## ")[0]
    return [
        json.loads(text)
        for lang, text, _, _ in blocks()
        if lang == "json" and '"timestamp"' in text and text in section
    ]


def test_readme_webhook_payloads_match_the_spec():
    from sandbox.spec import Spec

    spec, payloads = Spec.load(), payload_examples()
    assert len(payloads) >= 2
    for payload in payloads:
        schema = "MessageStatus" if "status" in payload else "InboundMessage"
        spec.validator(schema).validate(payload)


def lifecycle_row(script: list[dict]) -> str:
    parts = []
    for step in script:
        text = f"`{step['status']}` after {step['after']:g}"
        if step.get("jitter"):
            text += f" (+{step['jitter']:g})"
        if step.get("usage"):
            text += " (with `usage`)"
        parts.append(text)
    return " → ".join(parts)


def test_readme_lifecycle_table_is_the_default_scenario():
    import yaml

    from sandbox.resources import data_dir

    default = yaml.safe_load((data_dir("scenarios") / "default.yaml").read_text())
    for rule in default["rules"]:
        assert lifecycle_row(rule["script"]) in README, rule["name"]


def test_readme_errors_table_is_what_the_command_prints():
    import subprocess
    import sys

    printed = subprocess.run(
        [sys.executable, "-m", "sandbox", "errors"], capture_output=True, text=True, check=True
    ).stdout
    table = README.split("<!-- errors-table:start -->\n")[1].split("<!-- errors-table:end -->")[0]
    assert table == printed


def worked_example() -> str:
    section = README.split("### A worked example")[1]
    return next(text for lang, text, _, _ in blocks() if lang == "yaml" and text in section)


def test_readme_worked_example_does_what_it_says(start_sandbox, tmp_path):
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


def test_readme_pytest_example_passes_as_another_projects_test(pytester):
    section = README.split("### With pytest")[1]
    example = next(text for lang, text, _, _ in blocks() if lang == "python" and text in section)
    pytester.makepyfile(test_notifications=example)
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)
