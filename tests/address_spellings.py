"""Spellings of addresses no probe or notification may reach, shared by the tests of
``kit.addresses``, the probe kinds and the subscriber URL check; and the
real-machine tricks those tests use: names in /etc/hosts, addresses on loopback.
"""

from __future__ import annotations

import fcntl
import ipaddress
import subprocess
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

import pytest

METADATA = "cloud metadata"
LINK_LOCAL = "link-local"
MULTICAST = "multicast"


class Spelling(NamedTuple):
    host: str  # as a config or URL would name it (without a URL's brackets)
    address: str  # the address it names
    reason: str  # what the refusal says it is

    def url_host(self) -> str:
        """The host as a URL writes it: IPv6 in brackets, a zone id as %25."""
        if ":" not in self.host or self.host.startswith("["):
            return self.host
        return "[" + self.host.replace("%25", "%").replace("%", "%25") + "]"


def _spellings(address: str, reason: str, *hosts: str) -> list[Spelling]:
    return [Spelling(host, address, reason) for host in (address, *hosts)]


REFUSED = [
    # 169.254.169.254 in every IPv4 spelling some parser reads, and inside IPv6
    *_spellings(
        "169.254.169.254",
        METADATA,
        "169.254.169.254.",  # trailing dot
        "2852039166",  # one decimal number
        "0xa9fea9fe",  # one hex number
        "0XA9FEA9FE",
        "0251.0376.0251.0376",  # octal parts
        "0xa9.0xfe.0xa9.0xfe",  # hex parts
        "0251.254.0xa9.254",  # mixed
        "169.254.43518",  # last part fills two bytes
        "169.16689662",  # last part fills three bytes
        "::ffff:169.254.169.254",  # IPv4-mapped
        "::ffff:a9fe:a9fe",
        "0:0:0:0:0:ffff:a9fe:a9fe",
        "[::ffff:169.254.169.254]",
        "::169.254.169.254",  # IPv4-compatible
        "::ffff:0:169.254.169.254",  # SIIT
        "2002:a9fe:a9fe::1",  # 6to4
        "2001:0:4136:e378:8000:63bf:5601:5601",  # Teredo client
        "64:ff9b::169.254.169.254",  # NAT64, well-known prefix
        "64:ff9b::a9fe:a9fe",
        "64:ff9b:1::a9fe:a9fe",  # NAT64, local-use prefix
    ),
    # the other credential services
    *_spellings("169.254.170.2", METADATA, "2852039170", "::ffff:169.254.170.2"),
    *_spellings("169.254.170.23", METADATA),
    *_spellings("100.100.100.200", METADATA, "0x646464c8", "::ffff:100.100.100.200"),
    *_spellings("192.0.0.192", METADATA, "64:ff9b::c000:c0"),
    *_spellings("168.63.129.16", METADATA, "0xa83f8110", "2002:a83f:8110::"),
    *_spellings(
        "fd00:ec2::254",
        METADATA,
        "[fd00:ec2::254]",
        "FD00:EC2:0:0:0:0:0:254",
        "fd00:0ec2:0000::0254",
    ),
    *_spellings("fd00:ec2::23", METADATA),
    *_spellings("fd20:ce::254", METADATA, "[fd20:ce::254]"),
    # link-local, both families
    *_spellings(
        "169.254.1.1",
        LINK_LOCAL,
        "2851995905",
        "0xa9fe0101",
        "0251.0376.01.01",
        "169.254.257",
        "169.254.1.1.",
        "::ffff:169.254.1.1",
        "64:ff9b::a9fe:101",
        "2001:0:4136:e378:8000:63bf:5601:fefe",
    ),
    *_spellings("169.254.0.23", LINK_LOCAL),  # Tencent Cloud's metadata
    *_spellings(
        "fe80::1",
        LINK_LOCAL,
        "[fe80::1]",
        "FE80::1",
        "fe80:0:0:0:0:0:0:1",
        "fe80::1%eth0",  # zone id
        "fe80::1%25eth0",  # zone id as URLs write it
        "[fe80::1%25lo]",
    ),
    *_spellings("febf:ffff::1", LINK_LOCAL),  # the end of fe80::/10
    # multicast
    *_spellings("224.0.0.1", MULTICAST, "3758096385", "::ffff:224.0.0.1"),
    *_spellings("ff02::1", MULTICAST, "[ff02::1]"),
]

# Targets staff may give probes: private and loopback, however spelled.
PROBE_ALLOWED = [
    "127.0.0.1",
    "127.1.2.3",
    "::1",
    "::ffff:127.0.0.1",
    "10.0.0.1",
    "172.16.0.1",
    "192.168.1.1",
    "100.64.0.1",
    "fd00::1",
    "fc00::1",
    "2130706433",
    "0x7f.1",
    "93.184.216.34",
    "2606:2800:220:1:248:1893:25c8:1946",
]


def ids(spelling: Spelling) -> str:
    return spelling.host


# --- names in /etc/hosts -------------------------------------------------------------

HOSTS = Path("/etc/hosts")
HOSTS_LOCK = Path("/tmp/heliograph-tests-etc-hosts.lock")


@contextmanager
def names_in_hosts_file(addresses: list[str]) -> Iterator[dict[str, str]]:
    """Real names for addresses: lines appended to /etc/hosts (read by the system
    resolver on every lookup), removed afterwards. Address -> name."""
    marker = uuid.uuid4().hex[:12]
    names = {a: f"a{n}-{marker}.heliograph.test" for n, a in enumerate(addresses)}
    lines = "".join(
        f"{a} {name}  # heliograph-test {marker}\n" for a, name in names.items()
    )
    try:
        _edit_hosts(lambda text: text + ("" if text.endswith("\n") else "\n") + lines)
    except PermissionError:
        pytest.skip("needs root to add test names to /etc/hosts")
    try:
        yield names
    finally:
        _edit_hosts(
            lambda text: "".join(
                line for line in text.splitlines(True) if marker not in line
            )
        )


def _edit_hosts(change: Callable[[str], str]) -> None:
    """Rewrite /etc/hosts in place (it may be a bind mount that cannot be renamed
    over), under a lock other test runs on this machine share."""
    with HOSTS_LOCK.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        with HOSTS.open("r+") as hosts:
            text = change(hosts.read())
            hosts.seek(0)
            hosts.write(text)
            hosts.truncate()


# --- addresses on the loopback interface ---------------------------------------------


@contextmanager
def address_on_loopback(address: str) -> Iterator[str]:
    """Make ``address`` one of this machine's own (``ip addr add ... dev lo``), so
    a real server can listen there; removed afterwards."""
    network = ipaddress.ip_network(address)
    command = ["ip", "addr", "add", str(network), "dev", "lo"]
    try:
        subprocess.run(command, check=True, capture_output=True, timeout=10)
    except (OSError, subprocess.CalledProcessError) as failed:
        reason = getattr(failed, "stderr", b"") or str(failed)
        pytest.skip(f"cannot add {network} to the loopback interface: {reason!r}")
    try:
        yield str(network.network_address)
    finally:
        command[2] = "del"
        subprocess.run(command, check=True, capture_output=True, timeout=10)
