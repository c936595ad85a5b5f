"""A TCP relay, run as ``python -m tests.probes.relay BIND UPSTREAM [UPSTREAM...]``.

The test's PostgreSQL and Redis listen on loopback, which a network namespace
cannot reach: the relay listens on BIND (an address the namespaces route to), one
free port per UPSTREAM (``host:port``), and passes every connection through. It
prints the ports it took, one line, space-separated, in the order given, and exits
when its standard input closes, so it never outlives the test that started it,
even one killed outright.
"""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import Awaitable, Callable

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except OSError:
        pass
    finally:
        # Either side hanging up ends the pair: neither protocol half-closes.
        writer.close()


def _relay_to(host: str, port: int) -> Handler:
    async def handle(
        client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter
    ) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(host, port)
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(
            _pipe(client_reader, upstream_writer),
            _pipe(upstream_reader, client_writer),
        )

    return handle


async def _serve(bind: str, upstreams: list[str]) -> None:
    loop = asyncio.get_running_loop()
    closed = asyncio.Event()
    # A thread blocks on stdin; its end (the parent gone) stops the relay.
    threading.Thread(
        target=lambda: (sys.stdin.buffer.read(), loop.call_soon_threadsafe(closed.set)),
        daemon=True,
    ).start()
    servers = []
    for upstream in upstreams:
        host, _, port = upstream.rpartition(":")
        servers.append(await asyncio.start_server(_relay_to(host, int(port)), bind, 0))
    ports = [str(server.sockets[0].getsockname()[1]) for server in servers]
    print(" ".join(ports), flush=True)
    await closed.wait()


if __name__ == "__main__":
    asyncio.run(_serve(sys.argv[1], sys.argv[2:]))
