"""A fast local target for the benchmark: answers every GET with 200 "ok".

Run as its own process so the client under test does not share an event loop with
the server. Listens on 127.0.0.1 only, on a free port it prints as its first line.
"""

from __future__ import annotations

import asyncio
import signal
import socket

from aiohttp import web


async def ok(request: web.Request) -> web.Response:
    return web.Response(text="ok")


async def serve() -> None:
    app = web.Application()
    app.router.add_get("/{tail:.*}", ok)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    # Many workers connect at once: a short backlog would show up as client latency.
    sock.listen(1024)
    await web.SockSite(runner, sock).start()
    print(sock.getsockname()[1], flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(serve())
