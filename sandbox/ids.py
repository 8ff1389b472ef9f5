"""Identifiers drawn from a random generator, so a seeded sandbox repeats its ids."""

from __future__ import annotations

import random
import uuid


def uuid_from(rng: random.Random) -> str:
    """A version-4 UUID made of the generator's next 128 bits."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))
