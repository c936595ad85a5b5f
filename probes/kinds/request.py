"""Describing, validating and sending one HTTP request (http kind, journey steps)."""

from __future__ import annotations

import ssl
import time
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from .assertions import Reply
from .config import FieldChecker
from .network import host_problem, refuse_forbidden, tls_context
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
    return url


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


async def send(
    session: aiohttp.ClientSession,
    request: dict[str, Any],
    *,
    tls: ssl.SSLContext | bool,
    timeout: float,
) -> Reply:
    """Send a (rendered) request and read its answer; raises on network failure."""
    refuse_forbidden(urlsplit(request["url"]).hostname or "")
    started = time.perf_counter()
    async with session.request(
        request["method"],
        request["url"],
        headers=request.get("headers") or None,
        data=request.get("form") or request.get("body"),
        json=request.get("json"),
        allow_redirects=request.get("follow_redirects", False),
        ssl=tls,
        timeout=aiohttp.ClientTimeout(total=max(timeout, 0.001)),
    ) as response:
        raw = await _read_capped(response)
        latency_ms = (time.perf_counter() - started) * 1000
        return Reply(
            status=response.status,
            text=raw.decode(_charset(response), errors="replace"),
            latency_ms=latency_ms,
            headers=response.headers,
        )


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
