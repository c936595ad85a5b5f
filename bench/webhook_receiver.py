"""A webhook receiver for the benchmark: answers 200 to ``POST /ok/<n>`` and never
answers ``POST /hang/<n>`` (the sender's timeout ends those requests).

Run as its own process (aiohttp.web, one thread). Listens on 127.0.0.1 only, on a
free port it prints as its first line; on SIGTERM it prints what it received, then
exits.
"""

from __future__ import annotations

import asyncio
from collections import Counter

from aiohttp import web
from common import listening_socket, until_terminated

hits: Counter[str] = Counter()
stop = asyncio.Event()


async def receive(request: web.Request) -> web.Response:
    await request.read()
    kind = request.match_info["kind"]
    hits[kind] += 1
    if kind == "hang":
        await stop.wait()  # the sender gives up first
    return web.Response(text="ok")


async def serve() -> None:
    app = web.Application()
    app.router.add_post("/{kind}/{number}", receive)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1)
    await runner.setup()
    # Thousands of deliveries connect at once: a short backlog would show as latency.
    sock = listening_socket(4096)
    await web.SockSite(runner, sock).start()
    await until_terminated(sock, stop)
    print(" ".join(f"{k}={v}" for k, v in sorted(hits.items())) or "none", flush=True)
    await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(serve())
