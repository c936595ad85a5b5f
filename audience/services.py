"""Changing who may view a page, and letting a viewer in."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.contrib.auth.password_validation import validate_password
from django.core import signing
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from incidents import events
from incidents.models import Page
from kit.tasks import enqueue

from .models import PageAccess, parse_domains
from .selectors import rules_for

LINK_SALT = "audience.link"


@transaction.atomic
def access_update(
    *,
    page: Page,
    password: str | None = None,
    ip_allowlist: str | None = None,
    email_domains: str | None = None,
    allow_staff: bool | None = None,
) -> PageAccess:
    """Set a page's ways in (None leaves one as it is; an empty password or list
    turns it off). Every pass given before stops working, and the page publishes.
    """
    access, _ = PageAccess.objects.select_for_update().get_or_create(page=page)
    if password is not None:
        if password:
            try:
                validate_password(password)
            except ValidationError as error:
                raise ValidationError({"password": error.messages}) from None
        access.password_hash = make_password(password) if password else ""
    if ip_allowlist is not None:
        access.ip_allowlist = ip_allowlist.strip()
    if email_domains is not None:
        try:
            access.email_domains = "\n".join(parse_domains(email_domains))
        except ValidationError as error:
            raise ValidationError({"email_domains": error.messages}) from None
    if allow_staff is not None:
        access.allow_staff = allow_staff
    access.version += 1
    access.full_clean()
    access.save()
    events.announce_quietly(events.Kind.ACCESS_CHANGED)
    return access


def password_matches(access: PageAccess, password: str) -> bool:
    return bool(access.password_hash) and check_password(password, access.password_hash)


# Sign-in links ---------------------------------------------------------------------


class LinkRefused(Exception):
    """The link cannot let anyone in; the message says why, for the visitor."""


@dataclass(frozen=True)
class Viewer:
    page: Page
    email: str


def link_request(*, page: Page, email: str, link_base: str) -> bool:
    """Mail a sign-in link to an address at one of the page's domains.

    Answers the same whether or not the address may get one (True when mailed), so
    the form never tells which addresses are allowed. At most
    ``AUDIENCE_LINKS_PER_ADDRESS`` links an hour go to one address.
    """
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError({"email": "Enter a valid email address."}) from None
    access, rules = rules_for(page)
    if access is None or rules is None:
        return False
    domain = email.rsplit("@", 1)[1]
    if domain not in access.email_domains.split():
        return False
    key = f"audience:links:{page.pk}:{email}"
    cache.add(key, 0, timeout=3600)
    if cache.incr(key) > settings.AUDIENCE_LINKS_PER_ADDRESS:
        return False
    token = signing.dumps(
        {
            "p": page.public_id,
            "e": email,
            "v": access.version,
            "n": secrets.token_hex(8),
        },
        salt=LINK_SALT,
        compress=True,
    )
    enqueue(
        "audience.tasks.link_send",
        kwargs={
            "page_id": page.pk,
            "email": email,
            "url": f"{link_base}?token={token}",
        },
        queue="notifications",
    )
    return True


def link_redeem(*, token: str, page: Page) -> Viewer:
    """The viewer a link lets into ``page``, once: a used, expired, forged or
    outdated link (the page's rules changed since), or another page's, is refused
    (and another page's is not spent)."""
    try:
        payload = signing.loads(
            token, salt=LINK_SALT, max_age=settings.AUDIENCE_LINK_MAX_AGE_SECONDS
        )
    except signing.SignatureExpired:
        raise LinkRefused("This sign-in link has expired: ask for a new one.") from None
    except signing.BadSignature:
        raise LinkRefused("This sign-in link is not valid.") from None
    if payload.get("p") != page.public_id:
        raise LinkRefused("This sign-in link is for another page.")
    access, rules = rules_for(page)
    if access is None or rules is None:
        raise LinkRefused("This page no longer lets anyone in by email.")
    email = str(payload.get("e", ""))
    if payload.get("v") != access.version or email.rsplit("@", 1)[-1] not in (
        access.email_domains.split()
    ):
        raise LinkRefused("This page's sign-in rules changed: ask for a new link.")
    used = f"audience:link-used:{payload.get('n')}"
    if not cache.add(used, 1, timeout=settings.AUDIENCE_LINK_MAX_AGE_SECONDS + 60):
        raise LinkRefused("This sign-in link was used already: ask for a new one.")
    return Viewer(page, email)
