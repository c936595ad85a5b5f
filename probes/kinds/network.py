"""Connections for probes: the client session, address guard and error wording."""

from __future__ import annotations

import asyncio
import ipaddress
import os
import socket
import ssl
from functools import lru_cache
from typing import Any

import aiohttp
from aiohttp.abc import AbstractCookieJar, ResolveResult
from aiohttp.resolver import ThreadedResolver
from yarl import URL

USER_AGENT = "Heliograph-probe/1.0"

# Probe targets are chosen by staff, so private and loopback hosts are fine, but
# cloud metadata endpoints hand out credentials: never connect there, whatever
# name or spelling (decimal, IPv4-mapped IPv6) leads to them.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254")
)


class TargetRefused(OSError):
    """The target resolves to an address probes must not reach."""


def is_forbidden_address(host: str) -> bool:
    address = _as_address(host.strip("[]").split("%")[0])
    if address is None:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return address in METADATA_ADDRESSES


def _as_address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    try:
        # inet_aton also reads legacy spellings: 2852039166, 0xa9fea9fe, 0251.0376...
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def refuse_forbidden(host: str) -> None:
    if is_forbidden_address(host):
        raise TargetRefused(
            f"{host} is a cloud metadata address; probes may not use it"
        )


class GuardedResolver(ThreadedResolver):
    """Checks every resolved address, so DNS cannot lead a probe to metadata."""

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await super().resolve(host, port, family)
        for result in results:
            refuse_forbidden(result["host"])
        return results


async def _refuse_forbidden_start(
    session: aiohttp.ClientSession,
    context: Any,
    params: aiohttp.TraceRequestStartParams,
) -> None:
    # Literal IP hosts skip the resolver: check the host of every request.
    refuse_forbidden(params.url.host or "")


async def _refuse_forbidden_redirect(
    session: aiohttp.ClientSession,
    context: Any,
    params: aiohttp.TraceRequestRedirectParams,
) -> None:
    # A redirect chooses its own host; check it before aiohttp follows it.
    location = params.response.headers.get("Location")
    if location:
        refuse_forbidden(params.url.join(URL(location)).host or "")


def client_session(
    *, cookie_jar: AbstractCookieJar | None = None, limit: int = 100
) -> aiohttp.ClientSession:
    """The session probes use; the runner builds the shared one with this too.

    No cookie jar by default: simple probes must not carry state between runs.
    """
    connector = aiohttp.TCPConnector(resolver=GuardedResolver(), limit=limit)
    guard = aiohttp.TraceConfig()
    guard.on_request_start.append(_refuse_forbidden_start)
    guard.on_request_redirect.append(_refuse_forbidden_redirect)
    return aiohttp.ClientSession(
        connector=connector,
        trace_configs=[guard],
        cookie_jar=aiohttp.DummyCookieJar() if cookie_jar is None else cookie_jar,
        headers={"User-Agent": USER_AGENT},
    )


@lru_cache(maxsize=64)
def tls_context(ca_file: str | None) -> ssl.SSLContext:
    """A verifying context; cached because building one costs milliseconds."""
    return ssl.create_default_context(cafile=ca_file)


async def resolve_target(host: str, port: int) -> list[str]:
    """Addresses to connect to, checked before use (the address actually used)."""
    refuse_forbidden(host)
    infos = await asyncio.get_running_loop().getaddrinfo(
        host, port, type=socket.SOCK_STREAM
    )
    addresses = [str(info[4][0]) for info in infos]
    for address in addresses:
        refuse_forbidden(address)
    return addresses


def describe_error(exc: BaseException, timeout: float) -> str:
    """A short human sentence for a failed connection or request."""
    if isinstance(getattr(exc, "os_error", None), TargetRefused):
        return str(exc.os_error)  # type: ignore[attr-defined]
    if isinstance(exc, asyncio.TimeoutError):
        return f"timed out after {timeout:g} s"
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return f"TLS certificate not accepted: {_cert_reason(exc.certificate_error)}"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS certificate not accepted: {_cert_reason(exc)}"
    if isinstance(exc, aiohttp.ClientConnectorDNSError | socket.gaierror):
        return f"could not resolve host: {_os_reason(exc)}"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return f"could not connect to {exc.host}:{exc.port}: {_os_reason(exc)}"
    if isinstance(exc, TargetRefused):
        return str(exc)
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, ssl.SSLError | aiohttp.ClientSSLError):
        return f"TLS error: {exc}"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _cert_reason(exc: Any) -> str:
    return str(getattr(exc, "verify_message", "") or exc)


def _os_reason(exc: BaseException) -> str:
    inner = getattr(exc, "os_error", exc)
    # aiohttp words a refusal "Connect call failed"; the errno says it plainly.
    if isinstance(inner, OSError) and inner.errno:
        return os.strerror(inner.errno).lower()
    return getattr(inner, "strerror", None) or str(inner) or type(inner).__name__
