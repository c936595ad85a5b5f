"""Describing, validating and sending one HTTP request (http kind, journey steps)."""

from __future__ import annotations

import ssl
import time
from dataclasses import replace
from typing import Any
from urllib.parse import SplitResult, urlsplit

import aiohttp
from yarl import URL

from .assertions import Reply
from .bindings import NO_SECRETS, SecretGuard, SecretRefused
from .config import FieldChecker
from .network import describe_error, host_problem, refuse_forbidden, tls_context
from .placeholders import PLACEHOLDER, render

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
REQUEST_FIELDS = (
    "method",
    "url",
    "headers",
    "body",
    "form",
    "json",
    "follow_redirects",
)
TLS_FIELDS = ("verify_tls", "ca_file")
BODY_FIELDS = ("body", "form", "json")
# Enough for any status or login page; protects the worker from huge downloads.
MAX_BODY_BYTES = 1024 * 1024


def validate_request(check: FieldChecker) -> dict[str, Any]:
    method = check.text("method", default="GET")
    if method.upper() not in METHODS:
        check.error("method", f"must be one of {', '.join(METHODS)}")
    bodies = [name for name in BODY_FIELDS if check.has(name)]
    if len(bodies) > 1:
        check.error(bodies[1], f"cannot be combined with {bodies[0]}; send one body")
    return {
        "method": method.upper(),
        "url": validate_url(check),
        "headers": check.string_map("headers"),
        "body": check.text("body"),
        "form": check.string_map("form") or None,
        "json": check.raw("json"),
        "follow_redirects": check.boolean("follow_redirects", False),
    }


def validate_url(check: FieldChecker) -> str | None:
    url = check.text("url", required=True)
    if url is None:
        return None
    # Placeholders may fill the path or query, never the scheme or host.
    try:
        parts = urlsplit(PLACEHOLDER.sub("x", url))
    except ValueError:  # an unclosed "[" of an IPv6 address, for one
        check.error("url", "is not a valid URL, e.g. https://example.com/health")
        return url
    if parts.scheme not in ("http", "https"):
        check.error("url", "must start with http:// or https://")
    elif not parts.hostname or PLACEHOLDER.search(url.split("/")[2]):
        check.error("url", "must name a host, e.g. https://example.com/health")
    elif problem := host_problem(parts.hostname):
        check.error("url", problem)
    elif not _port_valid(parts):
        check.error("url", "has a port out of range: use 1-65535, or none")
    return url


def _port_valid(parts: SplitResult) -> bool:
    """urlsplit reads ``:99999`` and ``:0`` without a word, and raises only when
    the port is asked for; the run would fail on every check instead."""
    try:
        port = parts.port
    except ValueError:  # out of 0-65535, or not a number
        return False
    return port is None or port >= 1


def render_request(
    request: dict[str, Any], variables: dict[str, str]
) -> dict[str, Any]:
    """The request fields with placeholders filled; assertions stay as written."""
    rendered = {name: request.get(name) for name in REQUEST_FIELDS}
    for name in ("url", "headers", "body", "form", "json"):
        rendered[name] = render(rendered[name], variables)
    return rendered


def validate_tls(check: FieldChecker) -> dict[str, Any]:
    # ca_file is only checked for shape: it must exist on the workers, which
    # may not be the machine that saves the probe.
    ca_file = check.text("ca_file")
    if ca_file is not None and not ca_file.startswith("/"):
        check.error(
            "ca_file", "must be an absolute path to a PEM file of CA certificates"
        )
    return {"verify_tls": check.boolean("verify_tls", True), "ca_file": ca_file}


def ssl_option(config: dict[str, Any]) -> ssl.SSLContext | bool:
    if not config.get("verify_tls", True):
        return False
    if config.get("ca_file"):
        return tls_context(config["ca_file"])
    return True


REDIRECTS = (301, 302, 303, 307, 308)
MAX_REDIRECTS = 10
# Headers a redirect to another origin must not take along (as browsers do).
CREDENTIAL_HEADERS = ("authorization", "cookie", "proxy-authorization")


class RedirectFailed(ValueError):
    """A redirect that cannot be followed (no http URL, too many of them)."""


async def send(
    session: aiohttp.ClientSession,
    request: dict[str, Any],
    *,
    tls: ssl.SSLContext | bool,
    timeout: float,
    guard: SecretGuard = NO_SECRETS,
) -> Reply:
    """Send a (rendered) request and read its answer; raises on network failure.

    Redirects are followed here rather than by aiohttp, which would re-send custom
    headers and 307/308 bodies to any host: each hop is checked by ``guard`` first,
    so a secret never follows a redirect to a host it is not bound to.
    """
    started = time.perf_counter()
    deadline = time.monotonic() + max(timeout, 0.001)
    hop = request
    for hops in range(MAX_REDIRECTS + 1):
        try:
            guard.check(hop)
        except SecretRefused as exc:
            raise SecretRefused(_redirect_refused(exc) if hops else str(exc)) from None
        refuse_forbidden(urlsplit(hop["url"]).hostname or "")
        budget = max(deadline - time.monotonic(), 0.001)
        reply, location = await _send_once(session, hop, tls=tls, timeout=budget)
        if not (hop.get("follow_redirects") and reply.status in REDIRECTS and location):
            latency_ms = (time.perf_counter() - started) * 1000
            return replace(reply, latency_ms=latency_ms)
        hop = next_hop(hop, reply.status, location)
    raise RedirectFailed(f"more than {MAX_REDIRECTS} redirects")


def _redirect_refused(exc: SecretRefused) -> str:
    return f"redirect not followed: it {str(exc).removeprefix('not sent: ')}"


async def _send_once(
    session: aiohttp.ClientSession,
    request: dict[str, Any],
    *,
    tls: ssl.SSLContext | bool,
    timeout: float,
) -> tuple[Reply, str | None]:
    async with session.request(
        request["method"],
        request["url"],
        headers=request.get("headers") or None,
        data=request.get("form") or request.get("body"),
        json=request.get("json"),
        allow_redirects=False,
        ssl=tls,
        timeout=aiohttp.ClientTimeout(total=timeout),
    ) as response:
        location = response.headers.get("Location")
        redirect = request.get("follow_redirects") and response.status in REDIRECTS
        raw = b"" if redirect and location else await _read_capped(response)
        reply = Reply(
            status=response.status,
            text=raw.decode(_charset(response), errors="replace"),
            latency_ms=0,
            headers=response.headers,
        )
        return reply, location


def next_hop(request: dict[str, Any], status: int, location: str) -> dict[str, Any]:
    """The request a redirect asks for, as browsers (and aiohttp) make it."""
    current = URL(request["url"])
    try:
        target = current.join(URL(location))
    except ValueError:
        raise RedirectFailed("redirected to a location that is not a URL") from None
    if target.scheme not in ("http", "https") or not target.raw_host:
        raise RedirectFailed("redirected to a location that is not an http(s) URL")
    hop = {**request, "url": str(target)}
    if (status == 303 and request["method"] != "HEAD") or (
        status in (301, 302) and request["method"] == "POST"
    ):
        hop.update(method="GET", body=None, form=None, json=None)
    if target.origin() != current.origin():
        hop["headers"] = {
            name: value
            for name, value in (request.get("headers") or {}).items()
            if name.lower() not in CREDENTIAL_HEADERS
        }
    return hop


def describe_failure(exc: BaseException, timeout: float) -> str:
    """``describe_error`` without the words of the response: aiohttp's parse errors
    quote the bytes they choked on and a disconnect its partial answer, where a
    reflected secret may sit in a spelling the Redactor does not know."""
    if isinstance(exc, aiohttp.ClientResponseError):
        return "the response was not valid HTTP"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "the server closed the connection before answering in full"
    if isinstance(exc, aiohttp.ClientPayloadError):
        return "the response body was cut off or malformed"
    if isinstance(exc, aiohttp.InvalidURL):
        return "the URL is not valid"
    if isinstance(exc, RedirectFailed):
        return str(exc)
    return describe_error(exc, timeout)


async def _read_capped(response: aiohttp.ClientResponse) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(64 * 1024):
        chunks.append(chunk)
        size += len(chunk)
        if size >= MAX_BODY_BYTES:
            break
    return b"".join(chunks)[:MAX_BODY_BYTES]


def _charset(response: aiohttp.ClientResponse) -> str:
    charset = response.charset or "utf-8"
    try:
        "".encode(charset)
    except LookupError:
        return "utf-8"
    return charset
