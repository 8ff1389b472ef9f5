"""Signed webhooks: Authorization: Bearer <HS256 JWT> over the exact body bytes."""

from __future__ import annotations

import hashlib
import time
import uuid


def signature_header(
    secret: str, body: bytes, api_key: str | None, application_id: str | None
) -> dict[str, str]:
    """The header Vonage added to signed webhooks (payload_hash = SHA-256 of the body)."""
    import jwt

    claims = {
        "iat": int(time.time()),
        "jti": str(uuid.uuid4()),
        "iss": "Vonage",
        "api_key": api_key,
        "application_id": application_id,
        "payload_hash": hashlib.sha256(body).hexdigest(),
    }
    return {"Authorization": "Bearer " + jwt.encode(claims, secret, algorithm="HS256")}
