"""Real receivers on 127.0.0.1 for the URL channels (webhook, Slack, Teams), and DNS
answers tests choose. The fixtures are made available through ``conftest.py``.

Nothing here reaches beyond 127.0.0.1: public addresses only ever appear as literals
that are checked, never connected to.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult

from incidents.models import Page
from notifications.models import (
    Delivery,
    Event,
    Subscriber,
    SubscriberState,
    new_signing_secret,
)
from notifications.rendering import Message, message_for
from notifications.services.subscribers import subscriber_subscribe


@dataclass(frozen=True)
class Hit:
    path: str
    headers: dict[str, str]
    body: bytes


class Receiver:
    """An aiohttp server in its own thread that records every request and answers
    by the first part of the path:

    ``/gone`` 410, ``/fail`` 500, ``/redirect`` 307 to ``/target``, ``/hang`` never
    (until the test ends), ``/flaky`` 500 the first time and 200 after, ``/big`` a
    megabyte; anything else 200 ``ok``.
    """

    def __init__(self) -> None:
        self.hits: list[Hit] = []
        self._seen: set[str] = set()
        self.hanging = 0  # /hang requests open now, and the most open at once
        self.most_hanging = 0
        self._loop = asyncio.new_event_loop()
        self._release = asyncio.Event()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def hits_on(self, path: str) -> list[Hit]:
        return [hit for hit in self.hits if hit.path == path]

    def start(self) -> None:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._release.set)
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{path:.*}", self._answer)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def _hang(self, request: web.Request) -> None:
        """Until the test ends or the client gives up (its timeout closes the
        connection; aiohttp need not cancel the handler when it does)."""
        while not self._release.is_set():
            transport = request.transport
            if transport is None or transport.is_closing():
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._release.wait(), 0.05)

    async def _answer(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.hits.append(Hit(request.path, dict(request.headers), body))
        kind = request.path.split("/")[1]
        if kind == "gone":
            return web.Response(status=410, text="this hook was deleted")
        if kind == "fail":
            return web.Response(status=500, text="boom")
        if kind == "redirect":
            raise web.HTTPTemporaryRedirect("/target")
        if kind == "hang":
            self.hanging += 1
            self.most_hanging = max(self.most_hanging, self.hanging)
            try:
                await self._hang(request)
            finally:
                self.hanging -= 1
        if kind == "flaky" and request.path not in self._seen:
            self._seen.add(request.path)
            return web.Response(status=500, text="try again")
        if kind == "big":
            return web.Response(text="x" * 1_000_000)
        return web.Response(text="ok")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver()
    running.start()
    yield running
    running.stop()


class Listener:
    """A bare TCP listener on 127.0.0.1 that counts the connections it accepts:
    proof of whether anything reached it at all (TLS or not)."""

    def __init__(self) -> None:
        self.connections = 0
        self._socket = socket.create_server(("127.0.0.1", 0))
        self.port = self._socket.getsockname()[1]
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self._socket.accept()
            except OSError:
                return  # closed at the end of the test
            self.connections += 1
            connection.close()

    def close(self) -> None:
        self._socket.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        self._socket.close()
        self._thread.join(5)


@pytest.fixture
def listener() -> Iterator[Listener]:
    running = Listener()
    yield running
    running.close()


class ScriptedDns:
    """A name server whose answers the test writes: each lookup takes the next
    answer, and the last one stays. ``lookup`` serves ``check_url``; ``resolver()``
    serves the sending session through aiohttp's resolver interface."""

    def __init__(self, *answers: list[str]) -> None:
        self.answers = list(answers)
        self.asked: list[str] = []

    def lookup(self, host: str, port: int) -> list[str]:
        self.asked.append(host)
        if not self.answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]

    def resolver(self) -> AbstractResolver:
        return _ScriptedResolver(self)


class _ScriptedResolver(AbstractResolver):
    def __init__(self, dns: ScriptedDns) -> None:
        self.dns = dns

    async def resolve(
        self, host: str, port: int = 0, family: Any = socket.AF_INET
    ) -> list[ResolveResult]:
        return [
            ResolveResult(
                hostname=host,
                host=address,
                port=port,
                family=socket.AF_INET6 if ":" in address else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
            for address in self.dns.lookup(host, port)
        ]

    async def close(self) -> None:
        pass


@pytest.fixture
def allow_private_targets(settings: Any) -> Any:
    """Receivers live on 127.0.0.1, which real subscribers may not use."""
    settings.NOTIFICATIONS_ALLOW_PRIVATE_TARGETS = True
    return settings


def make_url_subscriber(
    url: str, channel: str = "webhook", **fields: Any
) -> tuple[Subscriber, str | None]:
    """Sign a URL up the way the public form does; returns it and its secret."""
    fields.setdefault("email", "ops@example.com")
    return subscriber_subscribe(channel=channel, url=url, **fields)


def stored_subscriber(url: str, channel: str = "webhook") -> Subscriber:
    """A subscriber stored as is, its URL unchecked: names tests answer with
    ScriptedDns, or a URL that rules made at sign-up no longer allow."""
    return Subscriber.objects.create(
        channel=channel,
        url=url,
        email="ops@example.com",
        signing_secret=new_signing_secret(),
        state=SubscriberState.ACTIVE,
    )


def event_of(kind: str, *, newest: bool = False) -> Event:
    events = Event.objects.filter(kind=kind).order_by("-pk")
    return events[0] if newest else events.get()


def make_delivery(event: Event, subscriber: Subscriber) -> Delivery:
    delivery = Delivery.objects.create(event=event, subscriber=subscriber)
    return Delivery.objects.select_related("event", "subscriber").get(pk=delivery.pk)


def batch_of(*deliveries: Delivery) -> list[tuple[Delivery, Message]]:
    page = Page.get()
    return [(delivery, message_for(delivery, page)) for delivery in deliveries]
