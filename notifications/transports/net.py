"""The guarded HTTP client the URL channels (webhook, Slack, Teams) send with.

It connects only to addresses checked by the rules of ``ssrf`` when the connection
is made, so a name that resolves elsewhere after sign-up (DNS rebinding) is refused;
it follows no redirect, bounds every request by
``NOTIFICATIONS_WEBHOOK_TIMEOUT_SECONDS`` and reads only the start of an answer.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import socket
import time
from abc import abstractmethod
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver
from django.conf import settings

from notifications.models import Delivery
from notifications.rendering import Message

from .base import RESPONSE_MAX_CHARS, Result, Transport
from .ssrf import TargetRefused, refuse_address, target_url

USER_AGENT = "Heliograph-Notifications/1.0"
# What is read of an answer: enough for the recorded 300 characters, and a receiver
# cannot make us download a large body.
READ_LIMIT = 4096
# Threads for name lookups (getaddrinfo blocks): asyncio's default of a few would
# queue a batch's lookups behind one slow name server.
LOOKUP_THREADS = 32


class GuardedResolver(AbstractResolver):
    """Resolves with another resolver and refuses the whole answer if any address
    in it is forbidden. aiohttp connects only to addresses this returns."""

    def __init__(
        self, resolver: AbstractResolver | None = None, *, allow_private: bool
    ) -> None:
        self._resolver = resolver or ThreadedResolver()
        self._allow_private = allow_private

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._resolver.resolve(host, port, family)
        for result in results:
            refuse_address(result["host"], name=host, allow_private=self._allow_private)
        return results

    async def close(self) -> None:
        await self._resolver.close()


def guarded_session(
    *, resolver: AbstractResolver | None = None, allow_private: bool
) -> aiohttp.ClientSession:
    """A session that connects only to checked addresses and follows no redirect.

    Hosts that are addresses skip resolvers in aiohttp, so every request's URL is
    checked as it starts too. Proxies from the environment are not used.
    """

    async def check_start(
        session: aiohttp.ClientSession,
        context: Any,
        params: aiohttp.TraceRequestStartParams,
    ) -> None:
        target_url(str(params.url), allow_private=allow_private)

    async def refuse_redirect(
        session: aiohttp.ClientSession,
        context: Any,
        params: aiohttp.TraceRequestRedirectParams,
    ) -> None:
        raise TargetRefused("redirects are not followed")

    guard = aiohttp.TraceConfig()
    guard.on_request_start.append(check_start)
    guard.on_request_redirect.append(refuse_redirect)
    connector = aiohttp.TCPConnector(
        resolver=GuardedResolver(resolver, allow_private=allow_private),
        # A batch is sent wholly at once (its size is the bound), so a receiver
        # that hangs holds only its own connection and delays no one else.
        limit=0,
    )
    return aiohttp.ClientSession(
        connector=connector,
        trace_configs=[guard],
        cookie_jar=aiohttp.DummyCookieJar(),
        headers={"User-Agent": USER_AGENT},
        trust_env=False,
    )


@dataclass(frozen=True)
class Request:
    url: str
    body: bytes
    headers: dict[str, str]


def post_all(
    requests: list[Request | Result], *, resolver: AbstractResolver | None = None
) -> list[Result]:
    """POST every request at once and answer for each, in order; a Result given in
    place of a request (it could not be built) is passed through."""
    return asyncio.run(_post_all(requests, resolver))


async def _post_all(
    requests: list[Request | Result], resolver: AbstractResolver | None
) -> list[Result]:
    allow_connections(len(requests))
    timeout = float(settings.NOTIFICATIONS_WEBHOOK_TIMEOUT_SECONDS)
    allow_private = settings.NOTIFICATIONS_ALLOW_PRIVATE_TARGETS
    asyncio.get_running_loop().set_default_executor(
        ThreadPoolExecutor(LOOKUP_THREADS, thread_name_prefix="lookup")
    )

    async def one(request: Request | Result) -> Result:
        if isinstance(request, Result):
            return request
        return await post(session, request, timeout)

    async with guarded_session(
        resolver=resolver, allow_private=allow_private
    ) as session:
        return list(await asyncio.gather(*(one(r) for r in requests)))


def allow_connections(count: int) -> None:
    """Raise this process's open-file limit to the hard one when a batch's
    connections might not fit (many systems start processes at 1,024, and
    thread-pool workers send several batches at once)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    # Linux's usual ceiling (fs.nr_open) when the hard limit is unlimited.
    ceiling = 1 << 20 if hard == resource.RLIM_INFINITY else hard
    if soft == resource.RLIM_INFINITY or soft >= ceiling or soft >= count * 4 + 256:
        return
    resource.setrlimit(resource.RLIMIT_NOFILE, (ceiling, hard))


async def post(
    session: aiohttp.ClientSession, request: Request, timeout: float
) -> Result:
    """POST once, within ``timeout`` seconds, and sort the answer; never raise for
    what the receiver (or the way to it) does."""
    started = time.monotonic()
    try:
        async with asyncio.timeout(timeout):
            status, answer = await _exchange(session, request)
        result = answer_result(status, answer)
    except Exception as error:  # any failure is this delivery's, not the batch's
        result = error_result(error, timeout)
    duration_ms = (time.monotonic() - started) * 1000
    return replace(result, duration_ms=round(duration_ms, 1))


async def _exchange(
    session: aiohttp.ClientSession, request: Request
) -> tuple[int, bytes]:
    async with session.post(
        request.url, data=request.body, headers=request.headers, allow_redirects=False
    ) as response:
        answer = bytearray()
        while len(answer) < READ_LIMIT:
            chunk = await response.content.read(READ_LIMIT - len(answer))
            if not chunk:
                break
            answer += chunk
        if not response.content.at_eof():
            response.close()  # the rest is not wanted: do not reuse the connection
        return response.status, bytes(answer)


def answer_result(status: int, answer: bytes) -> Result:
    """2xx delivered; 410 the receiver is gone for good; anything else (a redirect
    included) is a failure worth retrying."""
    text = answer.decode("utf-8", "replace")[:RESPONSE_MAX_CHARS]
    if 200 <= status < 300:
        return Result(ok=True, status_code=status, response=text)
    if 300 <= status < 400:
        error = f"answered {status}: redirects are not followed"
    elif status == 410:
        error = "answered 410 Gone: the receiver is gone"
    else:
        error = f"answered {status}"
    return Result(
        ok=False,
        status_code=status,
        response=text,
        error=error,
        permanent=status == 410,
    )


def error_result(error: BaseException, timeout: float) -> Result:
    refused = _refusal(error)
    if refused is not None:
        return Result(ok=False, error=str(refused), permanent=True)
    if isinstance(error, aiohttp.InvalidURL):
        return Result(ok=False, error=f"invalid URL: {error}", permanent=True)
    return Result(ok=False, error=describe(error, timeout)[:RESPONSE_MAX_CHARS])


def _refusal(error: BaseException | None) -> TargetRefused | None:
    """The TargetRefused behind an error, however aiohttp wrapped it."""
    while error is not None:
        if isinstance(error, TargetRefused):
            return error
        error = getattr(error, "os_error", None) or error.__cause__
    return None


def describe(error: BaseException, timeout: float) -> str:
    if isinstance(error, TimeoutError):
        return f"timed out after {timeout:g} s"
    if isinstance(error, aiohttp.ClientConnectorDNSError):
        return "could not resolve the host"
    if isinstance(error, aiohttp.ClientConnectorCertificateError):
        return f"TLS certificate not accepted: {error.certificate_error}"
    if isinstance(error, aiohttp.ClientConnectorError):
        errno = error.os_error.errno
        reason = os.strerror(errno).lower() if errno else str(error.os_error)
        return f"could not connect to {error.host}:{error.port}: {reason}"
    if isinstance(error, aiohttp.ServerDisconnectedError):
        return "the receiver closed the connection without answering"
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


def json_body(body: object) -> bytes:
    """Compact UTF-8 JSON, the bytes that are sent (and signed)."""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


class HttpTransport(Transport):
    """A channel that POSTs one JSON document per delivery through the guarded
    client, the whole batch at once. ``resolver`` stands in for DNS in tests."""

    def __init__(self, *, resolver: AbstractResolver | None = None) -> None:
        self.resolver = resolver

    def send(self, batch: list[tuple[Delivery, Message]]) -> list[Result]:
        if not batch:
            return []
        requests = [self.request(delivery, message) for delivery, message in batch]
        return post_all(requests, resolver=self.resolver)

    @abstractmethod
    def request(self, delivery: Delivery, message: Message) -> Request | Result:
        """What to POST where, or the failure that stops it from being sent."""
