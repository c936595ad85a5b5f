"""Where subscriber URLs may lead: the sign-up check, by the rules of
``kit.addresses``.

Anyone can sign a URL up, so a URL is a way for strangers to make this server send
requests. Notifications only go to public addresses; ``check_url`` refuses others
at sign-up, and ``net`` applies the same rules to the address actually connected
to, at every send. ``NOTIFICATIONS_ALLOW_PRIVATE_TARGETS`` (development and tests)
lets private and loopback addresses through, never the cloud metadata, link-local
or multicast ones. The address rules themselves (spellings, ranges, the metadata
list) are the shared ones of ``kit.addresses``, which probes use too.
"""

from __future__ import annotations

import socket
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import ValidationError
from yarl import URL

from kit.addresses import (
    ends_in_number,
    notification_problem,
    standard_address,
)

Resolve = Callable[[str, int], list[str]]

URL_MAX_LENGTH = 2000


class TargetRefused(OSError):
    """Notifications may not be sent there; retrying cannot change that.

    An OSError so that aiohttp passes it up from a resolver like a failed lookup.
    """


def is_odd_ipv4(host: str) -> bool:
    """``2130706433``, ``0177.0.0.1``, ``0x7f.1``, ``127.1``, ``127.0.0.1.``: hosts
    that some software reads as an IPv4 address and others as a name. Refused
    outright rather than guessing which reading a library will make."""
    return standard_address(host) is None and ends_in_number(host)


def refuse_address(address: str, *, name: str, allow_private: bool) -> None:
    """Raise TargetRefused unless notifications may go to this address."""
    parsed = standard_address(address)
    if parsed is None:
        raise TargetRefused(f"{name} resolves to {address}, which is not an address")
    problem = notification_problem(parsed, allow_private=allow_private)
    if problem is None:
        return
    shown = name if name == address else f"{name} resolves to {address}, which"
    raise TargetRefused(
        f"{shown} {problem}; notifications are only sent to public addresses."
    )


def target_url(url: str, *, allow_private: bool) -> URL:
    """Parse a subscriber URL and refuse what no lookup could make acceptable:
    another scheme, credentials, no host, an IPv4 address spelled oddly, or a
    literal address notifications may not go to."""
    url = url.strip()
    if len(url) > URL_MAX_LENGTH:
        raise TargetRefused(f"The URL is longer than {URL_MAX_LENGTH} characters.")
    if any(c.isspace() or c == "\\" or ord(c) < 32 for c in url):
        raise TargetRefused("The URL must not contain spaces or backslashes.")
    try:
        parsed = URL(url)
        parsed.port  # noqa: B018 - yarl checks the port when asked for it
    except ValueError:
        raise TargetRefused("This is not a valid URL.") from None
    schemes = ("http", "https") if allow_private else ("https",)
    if parsed.scheme not in schemes:
        raise TargetRefused(
            f"Only {' and '.join(f'{s}://' for s in schemes)} URLs are allowed."
        )
    if parsed.raw_user is not None or parsed.raw_password is not None:
        raise TargetRefused("A URL with a user name or password is not allowed.")
    host = parsed.raw_host
    if not host:
        raise TargetRefused("The URL has no host; enter it like https://example.com/.")
    if is_odd_ipv4(host):
        raise TargetRefused(
            f"{host} is an unusual way to write an IPv4 address; use a host name."
        )
    if standard_address(host) is not None:
        refuse_address(host, name=host, allow_private=allow_private)
    return parsed.with_fragment(None)


def resolve_host(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for a host."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def check_url(url: str, *, resolve: Resolve = resolve_host) -> str:
    """The subscriber URL, normalised, if notifications may be sent there.

    Raises ValidationError({"url": reason}) for a malformed or forbidden URL, or a
    host that does not resolve, or that resolves to any address that is not public.
    """
    allow_private = settings.NOTIFICATIONS_ALLOW_PRIVATE_TARGETS
    try:
        parsed = target_url(url, allow_private=allow_private)
        host = parsed.raw_host or ""
        if standard_address(host) is None:
            for address in _lookup(host, parsed.port or 443, resolve):
                refuse_address(address, name=host, allow_private=allow_private)
    except TargetRefused as refused:
        raise ValidationError({"url": str(refused)}) from None
    return str(parsed)


def _lookup(host: str, port: int, resolve: Resolve) -> list[str]:
    try:
        addresses = resolve(host, port)
    except (OSError, UnicodeError):
        addresses = []
    if not addresses:
        raise TargetRefused(f"{host} could not be found; check the host name.")
    return addresses
