"""Where subscriber URLs may lead: refused at sign-up, and again at every connection.

No traffic leaves 127.0.0.1: public addresses appear only as literals, which need no
lookup, and names are answered by a ScriptedDns the test controls.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from notifications.transports.net import GuardedResolver
from notifications.transports.ssrf import TargetRefused, check_url
from notifications.transports.webhook import Webhook
from tests.address_spellings import REFUSED as REFUSED_SPELLINGS
from tests.address_spellings import Spelling, ids
from tests.conftest import make_incident, make_page
from tests.notifications.receivers import (
    Listener,
    Receiver,
    ScriptedDns,
    batch_of,
    event_of,
    make_delivery,
    stored_subscriber,
)

PUBLIC_V4 = "93.184.216.34"
PUBLIC_V6 = "2606:2800:220:1:248:1893:25c8:1946"

REFUSED = [
    # private, loopback and other ranges that are not the public internet
    ("https://10.0.0.1/hook", "private"),
    ("https://10.255.255.254/hook", "private"),
    ("https://172.16.0.1/hook", "private"),
    ("https://172.31.255.255/hook", "private"),
    ("https://192.168.1.1/hook", "private"),
    ("https://127.0.0.1/hook", "loopback"),
    ("https://127.255.0.9:8443/hook", "loopback"),
    ("https://0.0.0.0/hook", "unspecified"),
    ("https://100.64.0.1/hook", "carrier-grade NAT"),
    ("https://100.127.255.254/hook", "carrier-grade NAT"),
    ("https://169.254.169.254/latest/meta-data/", "cloud metadata"),
    ("https://169.254.170.2/v2/credentials", "cloud metadata"),
    ("https://169.254.1.1/hook", "link-local"),
    ("https://224.0.0.1/hook", "multicast"),
    ("https://240.0.0.1/hook", "address"),
    ("https://255.255.255.255/hook", "address"),
    # IPv6 and IPv6 forms of IPv4 addresses
    ("https://[::1]/hook", "loopback"),
    ("https://[::]/hook", "unspecified"),
    ("https://[fe80::1]/hook", "link-local"),
    ("https://[fe80::1%25eth0]/hook", "link-local"),
    ("https://[fc00::1]/hook", "unique-local"),
    ("https://[fd00::1]/hook", "unique-local"),
    ("https://[fd00:ec2::254]/latest/meta-data/", "cloud metadata"),
    ("https://[ff02::1]/hook", "multicast"),
    ("https://[::ffff:127.0.0.1]/hook", "leads to 127.0.0.1, a loopback"),
    ("https://[::ffff:169.254.169.254]/", "leads to 169.254.169.254, a cloud metadata"),
    ("https://[::ffff:10.0.0.1]/hook", "leads to 10.0.0.1, a private"),
    ("https://[::127.0.0.1]/hook", "leads to 127.0.0.1"),
    ("https://[2002:7f00:1::]/hook", "leads to 127.0.0.1"),  # 6to4
    ("https://[2002:a9fe:a9fe::1]/hook", "leads to 169.254.169.254"),  # 6to4
    ("https://[64:ff9b::a9fe:a9fe]/hook", "leads to 169.254.169.254"),  # NAT64
    ("https://[2001:0:4136:e378:8000:63bf:80ff:fffe]/hook", "leads to 127.0.0.1"),
    # IPv4 spelled the ways only some parsers read
    ("https://2130706433/hook", "unusual way to write an IPv4"),
    ("https://0177.0.0.1/hook", "unusual way to write an IPv4"),
    ("https://0x7f.0.0.1/hook", "unusual way to write an IPv4"),
    ("https://0x7f000001/hook", "unusual way to write an IPv4"),
    ("https://127.1/hook", "unusual way to write an IPv4"),
    ("https://127.0.1/hook", "unusual way to write an IPv4"),
    ("https://0/hook", "unusual way to write an IPv4"),
    ("https://127.0.0.1./hook", "unusual way to write an IPv4"),
    ("https://3232235777/hook", "unusual way to write an IPv4"),  # 192.168.1.1
    # names that lead inside
    ("https://localhost/hook", "localhost resolves to"),
    ("https://ⓛocalhost/hook", "localhost resolves to"),  # IDNA maps it to localhost
    # credentials and userinfo tricks
    ("https://example.com@127.0.0.1/hook", "user name or password"),
    ("https://user:secret@93.184.216.34/hook", "user name or password"),
    ("https://user@93.184.216.34/hook", "user name or password"),
    ("https://127.0.0.1\\@example.com/hook", "backslashes"),
    ("https://example.com /hook", "spaces"),
    # schemes and shapes
    ("http://93.184.216.34/hook", "Only https:// URLs"),
    ("ftp://93.184.216.34/hook", "Only https:// URLs"),
    ("file:///etc/passwd", "Only https:// URLs"),
    ("javascript:alert(1)", "Only https:// URLs"),
    ("gopher://127.0.0.1:6379/_INFO", "Only https:// URLs"),
    ("//93.184.216.34/hook", "Only https:// URLs"),
    ("https:///hook", "no host"),
    ("https://", "no host"),
    ("https://[::1/hook", "not a valid URL"),
    ("https://93.184.216.34:99999/hook", "not a valid URL"),
    ("https://" + "a" * 2000 + ".example.com/", "longer than"),
]


@pytest.mark.parametrize(("url", "reason"), REFUSED)
def test_it_refuses_a_url_that_leads_inside(url: str, reason: str) -> None:
    with pytest.raises(ValidationError) as refused:
        check_url(url)

    [message] = refused.value.message_dict["url"]
    assert reason in message


@pytest.mark.parametrize(
    ("url", "normalised"),
    [
        (f"https://{PUBLIC_V4}/hook", f"https://{PUBLIC_V4}/hook"),
        (
            f"  HTTPS://{PUBLIC_V4}:8443/Hook?a=1#part  ",
            f"https://{PUBLIC_V4}:8443/Hook?a=1",
        ),
        (f"https://[{PUBLIC_V6}]/hook", f"https://[{PUBLIC_V6}]/hook"),
        ("https://8.8.8.8/status", "https://8.8.8.8/status"),
    ],
)
def test_it_accepts_a_public_address_and_normalises_the_url(
    url: str, normalised: str
) -> None:
    assert check_url(url) == normalised


def test_it_accepts_a_name_whose_every_address_is_public() -> None:
    dns = ScriptedDns([PUBLIC_V4, PUBLIC_V6])

    url = check_url("https://Hooks.Example.com/status", resolve=dns.lookup)

    assert url == "https://hooks.example.com/status"
    assert dns.asked == ["hooks.example.com"]


def test_it_refuses_a_name_with_one_private_address_among_public_ones() -> None:
    dns = ScriptedDns([PUBLIC_V4, "10.1.2.3"])

    with pytest.raises(ValidationError) as refused:
        check_url("https://hooks.example.com/status", resolve=dns.lookup)

    assert refused.value.message_dict["url"] == [
        "hooks.example.com resolves to 10.1.2.3, which is a private address; "
        "notifications are only sent to public addresses."
    ]


def test_it_says_so_when_the_host_cannot_be_found() -> None:
    with pytest.raises(ValidationError) as refused:
        check_url("https://nowhere.example/hook", resolve=ScriptedDns().lookup)

    assert refused.value.message_dict["url"] == [
        "nowhere.example could not be found; check the host name."
    ]


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/hook",
        "http://localhost:8000/hook",
        "https://10.0.0.5/hook",
        "http://[::1]:8000/hook",
    ],
)
def test_it_allows_private_targets_when_the_setting_says_so(
    url: str, allow_private_targets: Any
) -> None:
    assert check_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/latest/meta-data/",
        "http://[::ffff:169.254.169.254]/",
        "http://[::ffff:a9fe:a9fe]/",
        "http://100.100.100.200/latest/meta-data/",
        "http://2852039166/",  # 169.254.169.254 as one number
    ],
)
def test_it_still_refuses_metadata_when_private_targets_are_allowed(
    url: str, allow_private_targets: Any
) -> None:
    with pytest.raises(ValidationError) as refused:
        check_url(url)

    assert refused.value.message_dict["url"]


def test_it_still_refuses_a_name_resolving_to_metadata_with_private_allowed(
    allow_private_targets: Any,
) -> None:
    dns = ScriptedDns(["169.254.169.254"])

    with pytest.raises(ValidationError) as refused:
        check_url("http://metadata.google.internal/", resolve=dns.lookup)

    assert "cloud metadata address" in refused.value.message_dict["url"][0]


def test_it_refuses_any_forbidden_address_in_a_resolver_answer() -> None:
    async def resolve() -> Any:
        dns = ScriptedDns([PUBLIC_V4, "127.0.0.1"])
        guarded = GuardedResolver(dns.resolver(), allow_private=False)
        return await guarded.resolve("hooks.example.com", 443)

    with pytest.raises(TargetRefused, match="resolves to 127.0.0.1"):
        asyncio.run(resolve())


@pytest.mark.django_db
def test_it_does_not_connect_when_a_checked_name_rebinds_to_a_private_address(
    listener: Listener,
) -> None:
    """Sign-up sees a public address; by the time of sending the same name points
    at 127.0.0.1, where something listens. No connection may reach it."""
    make_page()
    dns = ScriptedDns([PUBLIC_V4], ["127.0.0.1"])
    url = check_url(f"https://rebind.example:{listener.port}/hook", resolve=dns.lookup)
    subscriber = stored_subscriber(url)
    make_incident(name="Outage")
    delivery = make_delivery(event_of("incident.created"), subscriber)

    [result] = Webhook(resolver=dns.resolver()).send(batch_of(delivery))

    assert dns.asked == ["rebind.example", "rebind.example"]
    assert not result.ok and result.permanent
    assert "rebind.example resolves to 127.0.0.1" in result.error
    assert listener.connections == 0


@pytest.mark.django_db
def test_it_reaches_that_listener_when_private_targets_are_allowed(
    listener: Listener, allow_private_targets: Any
) -> None:
    """The control for the test above: only the guard kept the connection out."""
    make_page()
    dns = ScriptedDns(["127.0.0.1"])
    subscriber = stored_subscriber(f"https://rebind.example:{listener.port}/hook")
    make_incident(name="Outage")
    delivery = make_delivery(event_of("incident.created"), subscriber)

    [result] = Webhook(resolver=dns.resolver()).send(batch_of(delivery))

    assert not result.ok and not result.permanent  # no TLS there: try again later
    assert listener.connections == 1


@pytest.mark.django_db
def test_it_refuses_at_sending_a_stored_url_to_a_forbidden_address(
    receiver: Receiver,
) -> None:
    """A URL stored before the rules (or by hand) is checked again at each send."""
    make_page()
    subscriber = stored_subscriber(f"https://{PUBLIC_V4}/hook")
    for url in (receiver.url("/hook"), f"https://127.0.0.1:{receiver.port}/hook"):
        subscriber.url = url
        subscriber.save(update_fields=["url"])
        make_incident(name=f"Outage at {url}")
        delivery = make_delivery(event_of("incident.created", newest=True), subscriber)

        [result] = Webhook().send(batch_of(delivery))

        assert not result.ok and result.permanent
        assert result.error
    assert receiver.hits == []


@pytest.mark.django_db
def test_it_refuses_a_metadata_address_at_sending_even_with_private_allowed(
    allow_private_targets: Any,
) -> None:
    make_page()
    subscriber = stored_subscriber("http://169.254.169.254/latest/meta-data/")
    make_incident(name="Outage")
    delivery = make_delivery(event_of("incident.created"), subscriber)

    [result] = Webhook().send(batch_of(delivery))

    assert result.permanent
    assert "169.254.169.254 is a cloud metadata address" in result.error


def test_it_uses_no_network_to_check_a_literal_address() -> None:
    def no_lookup(host: str, port: int) -> list[str]:
        raise AssertionError(f"looked up {host}")

    assert check_url(f"https://{PUBLIC_V4}/", resolve=no_lookup)
    with pytest.raises(ValidationError):
        check_url("https://[::1]/", resolve=no_lookup)


@pytest.mark.parametrize("spelling", REFUSED_SPELLINGS, ids=ids)
def test_it_refuses_every_spelling_of_a_metadata_link_local_or_multicast_url(
    spelling: Spelling,
) -> None:
    """The shared table of ``kit.addresses``, as subscriber URLs; an IPv4
    address spelled oddly is refused for that before any reading of it."""
    with pytest.raises(ValidationError) as refused:
        check_url(f"https://{spelling.url_host()}/hook")

    [message] = refused.value.message_dict["url"]
    assert spelling.reason in message or "unusual way to write an IPv4" in message


@pytest.mark.parametrize("spelling", REFUSED_SPELLINGS, ids=ids)
def test_it_refuses_every_spelling_even_with_private_targets_allowed(
    spelling: Spelling, allow_private_targets: Any
) -> None:
    with pytest.raises(ValidationError) as refused:
        check_url(f"http://{spelling.url_host()}/hook")

    [message] = refused.value.message_dict["url"]
    assert spelling.reason in message or "unusual way to write an IPv4" in message


@pytest.mark.parametrize(
    "address", ["169.254.170.23", "fd20:ce::254", "192.0.0.192", "168.63.129.16"]
)
def test_it_refuses_a_name_resolving_to_any_metadata_address_at_sending(
    address: str, allow_private_targets: Any
) -> None:
    async def resolve() -> Any:
        guarded = GuardedResolver(ScriptedDns([address]).resolver(), allow_private=True)
        return await guarded.resolve("metadata.example", 443)

    with pytest.raises(TargetRefused, match="is a cloud metadata address"):
        asyncio.run(resolve())
