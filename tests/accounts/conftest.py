"""Staff users, sign-ins through the real forms, and codes computed from a secret."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import struct
import time
from typing import Any

from django.contrib.auth.models import Group, User
from django.test import Client
from django.urls import reverse

PASSWORD = "correct horse battery staple"


def make_staff(
    username: str = "ada", *, roles: tuple[str, ...] = (), **fields: Any
) -> User:
    user = User.objects.create_user(
        username, password=PASSWORD, is_staff=True, **fields
    )
    for role in roles:
        user.groups.add(Group.objects.get_or_create(name=role)[0])
    return user


def sign_in(
    client: Client,
    username: str = "ada",
    password: str = PASSWORD,
    *,
    address: str = "127.0.0.1",
    **extra: Any,
) -> Any:
    """POST the sign-in form, as a browser at ``address`` would."""
    return client.post(
        reverse("account_login"),
        {"login": username, "password": password},
        REMOTE_ADDR=address,
        **extra,
    )


def enter_code(client: Client, code: str, *, address: str = "127.0.0.1") -> Any:
    return client.post(reverse("mfa_authenticate"), {"code": code}, REMOTE_ADDR=address)


def signed_in_user(client: Client) -> str | None:
    """The username the session is signed in as, or None."""
    user_id = client.session.get("_auth_user_id")
    return User.objects.get(pk=user_id).username if user_id else None


def totp(secret: str, at: float | None = None) -> str:
    """The RFC 6238 code (SHA-1, 6 digits, 30 s) of a base32 secret, computed
    here rather than by the library under test."""
    key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
    counter = int((time.time() if at is None else at) // 30)
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    number = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{number % 1_000_000:06d}"


def enrol(client: Client) -> tuple[str, list[str]]:
    """Set up an authenticator app through the pages, as staff do: read the
    secret off the page, confirm a code, and read the recovery codes shown once."""
    page = client.get(reverse("mfa_activate_totp"))
    assert page.status_code == 200, page
    match = re.search(r'id="totp-secret">([A-Z2-7]+)<', page.content.decode())
    assert match, page.content.decode()
    secret = match[1]
    activated = client.post(reverse("mfa_activate_totp"), {"code": totp(secret)})
    assert activated.status_code == 302, activated.content.decode()
    assert activated["Location"] == reverse("mfa_view_recovery_codes")
    codes_page = client.get(activated["Location"]).content.decode()
    codes = re.findall(r"<li><code>([0-9]+)</code></li>", codes_page)
    assert len(codes) == 10, codes_page
    return secret, codes


def sign_out(client: Client) -> None:
    client.post(reverse("account_logout"))
    assert signed_in_user(client) is None
