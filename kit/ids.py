"""Public ids: what a URL, the APIs and a configuration file name an object by."""

from __future__ import annotations

import secrets
import string

PUBLIC_ID_ALPHABET = string.ascii_lowercase + string.digits


def new_public_id() -> str:
    """Twelve characters of ``[a-z0-9]``, as Statuspage's ids."""
    return "".join(secrets.choice(PUBLIC_ID_ALPHABET) for _ in range(12))
