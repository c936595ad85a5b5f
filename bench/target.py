"""A fast local target for the benchmark: answers every GET with 200 "ok".

Run as its own process so the client under test does not share an event loop with
the server. Listens on 127.0.0.1 only, on a free port it prints as its first line.
"""

from __future__ import annotations

import asyncio

from aiohttp import web
from common import listening_socket, until_terminated


async def ok(request: web.Request) -> web.Response:
    return web.Response(text="ok")


async def serve() -> None:
    app = web.Application()
    app.router.add_get("/{tail:.*}", ok)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    # Many workers connect at once: a short backlog would show up as client latency.
    sock = listening_socket(1024)
    await web.SockSite(runner, sock).start()
    await until_terminated(sock)
    await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(serve())
