"""How Heliograph keeps a secret it must recognise but never show again."""

from __future__ import annotations

import hashlib


def secret_digest(secret: str) -> str:
    """The SHA-256 of an API token, an integration secret or a heartbeat token.

    A plain digest is enough, with no salt or slow hash: these secrets are long random
    strings (256 bits for tokens and integration secrets), so there is nothing to
    guess, and finding a row by its digest needs a deterministic function.
    """
    return hashlib.sha256(secret.encode()).hexdigest()
