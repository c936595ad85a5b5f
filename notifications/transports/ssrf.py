"""Where subscriber URLs may lead: the address rules and the sign-up check.

Anyone can sign a URL up, so a URL is a way for strangers to make this server send
requests. Notifications only go to public addresses; ``check_url`` refuses others
at sign-up, and ``net`` applies the same rules to the address actually connected
to, at every send. ``NOTIFICATIONS_ALLOW_PRIVATE_TARGETS`` (development and tests)
lets private and loopback addresses through, never the cloud metadata ones.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import ValidationError
from yarl import URL

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolve = Callable[[str, int], list[str]]

URL_MAX_LENGTH = 2000

# Where clouds hand out credentials: AWS, GCP, Azure and OCI at 169.254.169.254,
# ECS and EKS at 169.254.170.2/.23 and fd00:ec2::23, AWS IPv6 at fd00:ec2::254,
# Alibaba at 100.100.100.200. Refused even when private targets are allowed.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",
        "169.254.170.2",
        "169.254.170.23",
        "fd00:ec2::254",
        "fd00:ec2::23",
        "100.100.100.200",
    )
)
CGNAT = ipaddress.IPv4Network("100.64.0.0/10")
UNIQUE_LOCAL = ipaddress.IPv6Network("fc00::/7")
NAT64 = (ipaddress.IPv6Network("64:ff9b::/96"), ipaddress.IPv6Network("64:ff9b:1::/48"))
# The last label of a host that is a number (decimal, octal or hex): browsers and
# C's inet_aton read such a host as an IPv4 address however it is spelled.
NUMERIC_LABEL = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$", re.IGNORECASE)


class TargetRefused(OSError):
    """Notifications may not be sent there; retrying cannot change that.

    An OSError so that aiohttp passes it up from a resolver like a failed lookup.
    """


def embedded_ipv4(address: Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries, which it may be routed to:
    IPv4-mapped and -compatible, 6to4, Teredo (server and client) and NAT64."""
    if isinstance(address, ipaddress.IPv4Address):
        return []
    found = [address.ipv4_mapped, address.sixtofour]
    if address.teredo:
        found += address.teredo
    low32 = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if int(address) >> 32 == 0 and int(address) > 1:  # ::a.b.c.d, not :: or ::1
        found.append(low32)
    if int(address) >> 32 == 0xFFFF0000:  # ::ffff:0:a.b.c.d (SIIT)
        found.append(low32)
    if any(address in network for network in NAT64):
        found.append(low32)
    return [a for a in found if a is not None]


def address_problem(address: Address, *, allow_private: bool) -> str | None:
    """Why notifications may not go to this address ("is a loopback address"), or
    None. The IPv4 addresses an IPv6 address leads to are judged first."""
    embedded = embedded_ipv4(address)
    checks = [_always_refused] if allow_private else [_always_refused, _not_public]
    for check in checks:
        for candidate in embedded:
            if problem := check(candidate):
                return f"leads to {candidate}, {problem}"
        if problem := check(address):
            return f"is {problem}"
    return None


def _always_refused(address: Address) -> str | None:
    if address in METADATA_ADDRESSES:
        return "a cloud metadata address"
    if address.is_link_local:  # where the metadata services live
        return "a link-local address"
    if address.is_multicast:
        return "a multicast address"
    return None


def _not_public(address: Address) -> str | None:
    checks = [
        (address.is_loopback, "a loopback address"),
        (address.is_unspecified, "an unspecified address"),
        (address in CGNAT, "a carrier-grade NAT address (100.64.0.0/10)"),
        (address in UNIQUE_LOCAL, "a unique-local address"),
        (address.is_private, "a private address"),
        (address.is_reserved, "a reserved address"),
        (not address.is_global, "not a public address"),
    ]
    return next((reason for refused, reason in checks if refused), None)


def literal_address(host: str) -> Address | None:
    """The address a host spells in the usual way (``203.0.113.7``, ``::1``)."""
    try:
        return ipaddress.ip_address(host.strip("[]").split("%")[0])
    except ValueError:
        return None


def is_odd_ipv4(host: str) -> bool:
    """``2130706433``, ``0177.0.0.1``, ``0x7f.1``, ``127.1``, ``127.0.0.1.``: hosts
    that some software reads as an IPv4 address and others as a name. Refused
    outright rather than guessing which reading a library will make."""
    if literal_address(host) is not None:
        return False
    last = host.lower().removesuffix(".").rsplit(".", 1)[-1]
    return bool(NUMERIC_LABEL.match(last))


def refuse_address(address: str, *, name: str, allow_private: bool) -> None:
    """Raise TargetRefused unless notifications may go to this address."""
    parsed = literal_address(address)
    if parsed is None:
        raise TargetRefused(f"{name} resolves to {address}, which is not an address")
    problem = address_problem(parsed, allow_private=allow_private)
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
    if literal_address(host) is not None:
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
        if literal_address(host) is None:
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
