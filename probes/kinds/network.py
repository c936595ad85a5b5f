"""Connections for probes: the client session, address guard and error wording.

Probe targets are chosen by staff, so private and loopback hosts are fine; cloud
metadata endpoints (they hand out credentials), link-local and multicast addresses
are not, in any spelling, unless PROBE_ALLOWED_NETWORKS allows them (the probe
policy of ``kit.addresses``). The rule is applied where a config names a
literal address (``host_problem``, when it is saved) and to the address actually
connected to: every name resolved, the host of every request and redirect, and
each socket as it connects, so neither DNS nor a redirect can lead a probe there.
"""

from __future__ import annotations

import asyncio
import os
import socket
import ssl
from functools import lru_cache
from typing import Any

import aiohttp
from aiohttp.abc import AbstractCookieJar, ResolveResult
from aiohttp.resolver import ThreadedResolver
from django.conf import settings
from yarl import URL

from kit.addresses import parse_host, probe_problem, standard_address

USER_AGENT = "Heliograph-probe/1.0"
ALLOW_HINT = "probes may not reach it unless PROBE_ALLOWED_NETWORKS allows it"


class TargetRefused(OSError):
    """The target is an address probes must not reach."""


def _problem(host: str) -> tuple[str, str] | None:
    """The host as shown and why probes may not reach it, or None for a name or an
    address they may reach."""
    address = parse_host(host)
    if address is None:
        return None
    problem = probe_problem(address, allowed=settings.PROBE_ALLOWED_NETWORKS)
    if problem is None:
        return None
    shown = host.strip().removeprefix("[").removesuffix("]")
    if standard_address(host) is None:  # 0xa9fea9fe: say which address it is
        shown = f"{shown} ({address})"
    return shown, problem


def host_problem(host: str) -> str | None:
    """What a config field naming this host must be told, or None: "must not point
    at 169.254.169.254, which is a cloud metadata address (...); probes may..."."""
    found = _problem(host)
    if found is None:
        return None
    shown, problem = found
    return f"must not point at {shown}, which {problem}; {ALLOW_HINT}"


def refuse_forbidden(host: str, *, name: str | None = None) -> None:
    """Raise TargetRefused if probes may not connect to ``host``, an address that
    ``name`` resolved to (or a literal host when ``name`` is None)."""
    found = _problem(host)
    if found is None:
        return
    shown, problem = found
    if name is not None and name != host:
        shown = f"{name} resolves to {shown}, which"
    raise TargetRefused(f"{shown} {problem}; {ALLOW_HINT}")


class GuardedResolver(ThreadedResolver):
    """Checks every resolved address, so DNS cannot lead a probe where it may not
    go; one refused address refuses the whole answer."""

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await super().resolve(host, port, family)
        for result in results:
            refuse_forbidden(result["host"], name=host)
        return results


def guarded_socket(addr_info: aiohttp.AddrInfoType) -> socket.socket:
    """aiohttp's socket factory: the last check, on the very address a connection
    is about to be made to (literal hosts skip the resolver)."""
    family, type_, proto, _, address = addr_info
    refuse_forbidden(str(address[0]))
    return socket.socket(family=family, type=type_, proto=proto)


async def _refuse_forbidden_start(
    session: aiohttp.ClientSession,
    context: Any,
    params: aiohttp.TraceRequestStartParams,
) -> None:
    # Literal IP hosts skip the resolver: refuse them before anything is sent.
    refuse_forbidden(params.url.raw_host or "")


async def _refuse_forbidden_redirect(
    session: aiohttp.ClientSession,
    context: Any,
    params: aiohttp.TraceRequestRedirectParams,
) -> None:
    # A redirect chooses its own host; check it before aiohttp follows it.
    headers = params.response.headers
    location = headers.get("Location") or headers.get("URI")
    if location:
        refuse_forbidden(params.url.join(URL(location)).raw_host or "")


def client_session(
    *, cookie_jar: AbstractCookieJar | None = None, limit: int = 100
) -> aiohttp.ClientSession:
    """The session probes use; the runner builds the shared one with this too.

    No cookie jar by default: simple probes must not carry state between runs.
    """
    connector = aiohttp.TCPConnector(
        resolver=GuardedResolver(), limit=limit, socket_factory=guarded_socket
    )
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
        refuse_forbidden(address, name=host)
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
