"""The baseline: a bare Flask route on granian (1 worker, 8 Python threads), validating nothing.

python bench/bare_flask.py PORT
"""

from __future__ import annotations

import sys
import uuid

from flask import Flask

app = Flask("bare")


@app.post("/v0.1/messages")
def send():
    return {"message_uuid": str(uuid.uuid4())}, 202


@app.get("/_sandbox/health")
def health():
    return {"status": "ok"}


if __name__ == "__main__":
    from granian import Granian

    Granian(
        "bare_flask:app",
        address="127.0.0.1",
        port=int(sys.argv[1]),
        interface="wsgi",
        workers=1,
        runtime_threads=1,
        blocking_threads=8,
        log_enabled=False,
        working_dir=__import__("pathlib").Path(__file__).parent,
    ).serve()
