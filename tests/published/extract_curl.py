"""Regenerate tests/published/v1/curl.json from Vonage's curl snippets (a maintainer's tool).

    python tests/published/extract_curl.py <clone of Vonage/vonage-curl-code-snippets>

Each `messages/**.sh` snippet's `-d $'…'` body becomes one case: its source (repository,
commit, path), method, path and body, with the snippet's ${VARIABLES} given sample values.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

REPOSITORY = "Vonage/vonage-curl-code-snippets"
SAMPLES = {
    "MESSAGES_TO_NUMBER": "447700900000",
    "SMS_SENDER_ID": "Acme",
    "MMS_SENDER_ID": "14155550101",
    "RCS_SENDER_ID": "AcmeRCS",
    "WHATSAPP_SENDER_ID": "447700900001",
    "VIBER_SENDER_ID": "Acme",
    "MESSENGER_SENDER_ID": "107083064136738",
    "MESSENGER_RECIPIENT_ID": "2456891981102343",
    "MESSAGES_VIDEO_DURATION": "52",
    "MESSAGES_VIDEO_FILE_SIZE": "3",
    "MESSAGES_EMOJI": "😀",
    "WHATSAPP_TEMPLATE_NAME": "verify_code",
    "WHATSAPP_OTP": "123456",
}
BODY = re.compile(r"-d \$'(.*?)'\s*$", re.S)
VARIABLE = re.compile(r"'\$\{(\w+)\}'")
METHOD = re.compile(r"curl -X (\w+)")


def sample(name: str) -> str:
    if name in SAMPLES:
        return SAMPLES[name]
    if name.endswith("_URL"):
        return f"https://example.com/{name.lower().removeprefix('messages_')}"
    return name.lower()


def case(repo: Path, commit: str, path: str) -> dict | None:
    text = subprocess.run(
        ["git", "-C", str(repo), "show", f"{commit}:{path}"], capture_output=True, text=True
    ).stdout
    found = BODY.search(text)
    if not found:
        return None
    raw = VARIABLE.sub(lambda m: sample(m.group(1)), found.group(1)).replace("\\'", "'")
    try:
        body = json.loads(raw)
    except json.JSONDecodeError as exc:
        body, raw_error = raw, str(exc)
    else:
        raw_error = None
    item = {
        "source": f"https://github.com/{REPOSITORY}/blob/{commit}/{path}",
        "method": METHOD.search(text).group(1),
        "body": body,
    }
    if raw_error:
        item["not_json"] = raw_error
    return item


def main(repo: str) -> None:
    root = Path(repo)
    commit = subprocess.run(
        ["git", "-C", repo, "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    paths = subprocess.run(
        ["git", "-C", repo, "ls-tree", "-r", "--name-only", commit, "messages/"],
        capture_output=True,
        text=True,
    ).stdout.split()
    cases = [c for p in sorted(paths) if p.endswith(".sh") and (c := case(root, commit, p))]
    out = Path(__file__).parent / "v1" / "curl.json"
    out.write_text(json.dumps(cases, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{len(cases)} cases -> {out}")


if __name__ == "__main__":
    main(sys.argv[1])
