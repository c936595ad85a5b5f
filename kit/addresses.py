"""Where Heliograph may connect: one reading of addresses, two policies.

Probes (targets chosen by staff) and notifications (URLs anyone can sign up) both
make this server open connections to hosts someone else named. This module holds
what both need and imports no app:

- ``parse_host``: the address a host names, in every spelling some software reads
  as one (brackets, zone ids, trailing dots, legacy IPv4 numbers such as
  ``2852039166``, ``0xa9fea9fe``, ``0251.0376.0251.0376``, ``169.254.43518``);
- ``embedded_ipv4``: the IPv4 addresses an IPv6 address is routed to;
- the cloud metadata addresses and the link-local ranges they live in;
- ``notification_problem`` and ``probe_problem``: why a policy refuses an address.

An address is judged together with every IPv4 address it carries, so
``::ffff:169.254.169.254`` or ``64:ff9b::a9fe:a9fe`` is refused like
``169.254.169.254``.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# Where clouds hand out credentials (instance roles, tokens, user data) to whatever
# on the machine asks: a request there from a probe or a webhook would read them.
# Refused by both policies, whatever the settings.
METADATA_ADDRESSES: dict[Address, str] = {
    ipaddress.ip_address(address): why
    for address, why in (
        # Instance metadata of AWS (IMDS), GCP, Azure (IMDS), Oracle (OCI), IBM,
        # DigitalOcean, Hetzner, Linode, Scaleway, OpenStack and most others.
        ("169.254.169.254", "the instance metadata service of most clouds"),
        # AWS ECS task credentials (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI).
        ("169.254.170.2", "the ECS task credentials endpoint"),
        # AWS EKS Pod Identity agent, IPv4 and IPv6.
        ("169.254.170.23", "the EKS Pod Identity agent"),
        ("fd00:ec2::23", "the EKS Pod Identity agent"),
        # AWS IMDS on IPv6 (Nitro instances with the IPv6 endpoint enabled).
        ("fd00:ec2::254", "the AWS instance metadata service"),
        # GCP metadata server for IPv6-only instances.
        ("fd20:ce::254", "the GCP metadata server"),
        # Alibaba Cloud ECS metadata (inside CGNAT space, so private targets
        # allowed for probes would otherwise let it through).
        ("100.100.100.200", "the Alibaba Cloud metadata service"),
        # Oracle Cloud Classic metadata (192.0.0.0/24, private to Python).
        ("192.0.0.192", "the Oracle Cloud Classic metadata service"),
        # Azure WireServer: a public address that serves VM agent configuration,
        # extension settings and certificates to the VM.
        ("168.63.129.16", "the Azure WireServer"),
    )
}
# The whole link-local ranges: the metadata services above (and new ones any cloud
# adds, such as Tencent's 169.254.0.23) live in them, and nothing a status page
# checks or notifies does.
LINK_LOCAL = (
    ipaddress.IPv4Network("169.254.0.0/16"),
    ipaddress.IPv6Network("fe80::/10"),
)
CGNAT = ipaddress.IPv4Network("100.64.0.0/10")
UNIQUE_LOCAL = ipaddress.IPv6Network("fc00::/7")
# NAT64 prefixes, which translate to the IPv4 address in their low 32 bits: the
# well-known one (RFC 6052) and the local-use block (RFC 8215), read with the /96
# layout that DNS64 deployments use.
NAT64 = (ipaddress.IPv6Network("64:ff9b::/96"), ipaddress.IPv6Network("64:ff9b:1::/48"))
# A host whose last label is a number (decimal, octal or hex): browsers (the URL
# standard) and C's inet_aton read such a host as an IPv4 address.
NUMERIC_LABEL = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$", re.IGNORECASE)
LEGACY_PART = re.compile(r"^(0x[0-9a-f]*|0[0-7]*|[1-9][0-9]*)$", re.IGNORECASE)


def _unbracketed(host: str) -> str:
    """The host without brackets and zone id (``%eth0``, or ``%25eth0`` as URLs
    write it)."""
    host = host.strip()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host.split("%", 1)[0]


def standard_address(host: str) -> Address | None:
    """The address a host spells in the usual way (``203.0.113.7``, ``[::1]``,
    ``fe80::1%eth0``), or None."""
    try:
        return ipaddress.ip_address(_unbracketed(host))
    except ValueError:
        return None


def parse_host(host: str) -> Address | None:
    """The address a host names in any spelling read as one, or None for a name.

    Beyond the usual ones: trailing dots (``169.254.169.254.``), and IPv4 in the
    legacy forms of inet_aton and the URL standard, one to four parts each
    decimal, octal (``0``-prefixed) or hex (``0x``), the last filling the
    remaining bytes (``169.254.43518``).
    """
    bare = _unbracketed(host).rstrip(".")
    return standard_address(bare) or _legacy_ipv4(bare)


def ends_in_number(host: str) -> bool:
    """Whether software may read the host as an IPv4 address however it is spelled
    (its last label is a number), so it can never be taken for a name."""
    last = host.strip().lower().rstrip(".").rsplit(".", 1)[-1]
    return bool(NUMERIC_LABEL.match(last))


def _legacy_ipv4(host: str) -> ipaddress.IPv4Address | None:
    parts = host.split(".")
    if not 1 <= len(parts) <= 4 or not all(LEGACY_PART.match(p) for p in parts):
        return None
    numbers = [_legacy_number(part) for part in parts]
    *leading, last = numbers
    if any(n > 255 for n in leading) or last >= 256 ** (5 - len(numbers)):
        return None
    value = last
    for position, number in enumerate(leading):
        value += number << (8 * (3 - position))
    return ipaddress.IPv4Address(value)


def _legacy_number(part: str) -> int:
    if part.lower().startswith("0x"):
        return int(part[2:] or "0", 16)
    if part.startswith("0"):
        return int(part, 8)
    return int(part)


def embedded_ipv4(address: Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries, which it may be routed to:
    IPv4-mapped and -compatible, SIIT, 6to4, Teredo (server and client) and NAT64."""
    if isinstance(address, ipaddress.IPv4Address):
        return []
    found = [address.ipv4_mapped, address.sixtofour]
    found += address.teredo or ()
    value = int(address)
    low32 = ipaddress.IPv4Address(value & 0xFFFFFFFF)
    if value >> 32 == 0 and value > 1:  # ::a.b.c.d, not :: or ::1
        found.append(low32)
    if value >> 32 == 0xFFFF0000:  # ::ffff:0:a.b.c.d (SIIT)
        found.append(low32)
    if any(address in network for network in NAT64):
        found.append(low32)
    return list(dict.fromkeys(a for a in found if a is not None))


def always_refused(address: Address) -> str | None:
    """What this address is, if no connection of ours may go there: a cloud
    metadata address, a link-local one (where those live) or a multicast one."""
    if service := METADATA_ADDRESSES.get(address):
        return f"a cloud metadata address ({service})"
    if any(address in network for network in LINK_LOCAL):
        return "a link-local address"
    if address.is_multicast:
        return "a multicast address"
    return None


def not_public(address: Address) -> str | None:
    """What this address is, if it is not on the public internet."""
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


def notification_problem(address: Address, *, allow_private: bool) -> str | None:
    """Why notifications may not go to this address ("is a loopback address"), or
    None: only public addresses, or with ``allow_private`` any but the metadata,
    link-local and multicast ones. The IPv4 addresses it carries are judged first."""
    embedded = embedded_ipv4(address)
    checks = [always_refused] if allow_private else [always_refused, not_public]
    for check in checks:
        for candidate in embedded:
            if problem := check(candidate):
                return f"leads to {candidate}, {problem}"
        if problem := check(address):
            return f"is {problem}"
    return None


def probe_problem(address: Address, *, allowed: Sequence[Network] = ()) -> str | None:
    """Why probes may not reach this address, or None.

    Staff choose probe targets, so private and loopback addresses are fine; the
    metadata, link-local and multicast ones are not, unless ``allowed``
    (PROBE_ALLOWED_NETWORKS) holds them. A metadata address is let through only by
    an entry of that one address: allowing 169.254.0.0/16 for devices on a
    link-local network does not open the credential service in it.
    """
    for candidate in embedded_ipv4(address):
        if (problem := always_refused(candidate)) and not _allowed(candidate, allowed):
            return f"leads to {candidate}, {problem}"
    if (problem := always_refused(address)) and not _allowed(address, allowed):
        return f"is {problem}"
    return None


def _allowed(address: Address, allowed: Sequence[Network]) -> bool:
    single = address in METADATA_ADDRESSES
    return any(
        address in network and (network.num_addresses == 1 or not single)
        for network in allowed
    )
