"""The shared address policy: every spelling read, both policies judged alike."""

from __future__ import annotations

import ast
import ipaddress
from pathlib import Path

import pytest

from kit import addresses
from kit.addresses import (
    embedded_ipv4,
    ends_in_number,
    notification_problem,
    parse_host,
    probe_problem,
)
from tests.address_spellings import PROBE_ALLOWED, REFUSED, Spelling, ids


@pytest.mark.parametrize("spelling", REFUSED, ids=ids)
def test_it_reads_every_spelling_as_the_address_it_names(spelling: Spelling) -> None:
    address = parse_host(spelling.host)

    assert address is not None
    judged = {address, *embedded_ipv4(address)}
    assert ipaddress.ip_address(spelling.address) in judged


@pytest.mark.parametrize("spelling", REFUSED, ids=ids)
def test_it_refuses_every_spelling_to_probes(spelling: Spelling) -> None:
    address = parse_host(spelling.host)
    assert address is not None

    problem = probe_problem(address)

    assert problem is not None and spelling.reason in problem


@pytest.mark.parametrize("allow_private", [False, True])
@pytest.mark.parametrize("spelling", REFUSED, ids=ids)
def test_it_refuses_every_spelling_to_notifications(
    spelling: Spelling, allow_private: bool
) -> None:
    address = parse_host(spelling.host)
    assert address is not None

    problem = notification_problem(address, allow_private=allow_private)

    assert problem is not None and spelling.reason in problem


@pytest.mark.parametrize("host", PROBE_ALLOWED)
def test_it_lets_probes_reach_private_loopback_and_public_addresses(
    host: str,
) -> None:
    address = parse_host(host)
    assert address is not None

    assert probe_problem(address) is None


@pytest.mark.parametrize(
    ("host", "reason"),
    [
        ("127.0.0.1", "is a loopback address"),
        ("::ffff:127.0.0.1", "leads to 127.0.0.1, a loopback address"),
        ("10.0.0.1", "is a private address"),
        ("100.64.0.1", "carrier-grade NAT"),
        ("fd00::1", "is a unique-local address"),
    ],
)
def test_it_keeps_notifications_to_public_addresses(host: str, reason: str) -> None:
    address = parse_host(host)
    assert address is not None

    assert reason in (notification_problem(address, allow_private=False) or "")
    assert notification_problem(address, allow_private=True) is None


def networks(*cidrs: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(cidr) for cidr in cidrs]


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("169.254.77.7", "169.254.77.7/32"),
        ("169.254.1.1", "169.254.0.0/16"),
        ("::ffff:169.254.1.1", "169.254.0.0/16"),  # judged by what it leads to
        ("2851995905", "169.254.1.0/24"),
        ("fe80::1%eth0", "fe80::/64"),
        ("224.0.0.251", "224.0.0.251/32"),
        ("169.254.169.254", "169.254.169.254/32"),  # named alone: explicit
    ],
)
def test_it_lets_probes_reach_what_probe_allowed_networks_lists(
    host: str, allowed: str
) -> None:
    address = parse_host(host)
    assert address is not None

    assert probe_problem(address, allowed=networks(allowed)) is None
    assert probe_problem(address) is not None


@pytest.mark.parametrize(
    "host", ["169.254.169.254", "::ffff:169.254.169.254", "169.254.170.2"]
)
def test_it_needs_a_metadata_address_named_alone_to_let_probes_reach_it(
    host: str,
) -> None:
    """Allowing the link-local range for devices there must not quietly open the
    credential service inside it."""
    address = parse_host(host)
    assert address is not None

    problem = probe_problem(address, allowed=networks("169.254.0.0/16", "::/0"))

    assert problem is not None and "cloud metadata" in problem


@pytest.mark.parametrize(
    "host",
    [
        "example.com",
        "status.acme.test",
        "1.2.3.4.5",
        "08",
        "0x1g",
        "256.1.1.1",
        "1.2.3.256",
        "1.2.65536",
        "4294967296",
        "10.0.0.1a",
        "[not-an-address]",
        "",
    ],
)
def test_it_reads_names_and_impossible_numbers_as_no_address(host: str) -> None:
    assert parse_host(host) is None


def test_it_tells_hosts_that_some_software_reads_as_numbers() -> None:
    assert ends_in_number("2852039166")
    assert ends_in_number("example.0x10")
    assert ends_in_number("127.0.0.1.")
    assert not ends_in_number("example.com")
    assert not ends_in_number("1.2.3.example")


def test_it_imports_no_app() -> None:
    """The shared kit sits below every app, so both can use it."""
    tree = ast.parse(Path(addresses.__file__).read_text())
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {
        (node.module or "").split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
    }

    assert imported <= {"__future__", "ipaddress", "re", "collections"}
