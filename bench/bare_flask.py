"""The baseline: a bare Flask route on the same WSGI server settings, validating nothing.

python bench/bare_flask.py PORT
"""

from __future__ import annotations

import logging
import sys
import uuid

from flask import Flask
from waitress.server import create_server

app = Flask("bare")


@app.post("/v0.1/messages")
def send():
    return {"message_uuid": str(uuid.uuid4())}, 202


@app.get("/_sandbox/health")
def health():
    return {"status": "ok"}


if __name__ == "__main__":
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # as messages-sandbox does
    sys.setswitchinterval(0.001)  # the same interpreter setting as messages-sandbox serve
    create_server(app, host="127.0.0.1", port=int(sys.argv[1]), threads=8).run()
