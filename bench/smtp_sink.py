"""A fast SMTP sink for the benchmark: aiosmtpd accepting every message, counting
them and keeping nothing.

Run as its own process so that the workers under test do not share an event loop
with it. Listens on 127.0.0.1 only, on a free port it prints as its first line; on
SIGTERM it prints the messages and recipients it accepted, then exits.
"""

from __future__ import annotations

import asyncio

from aiosmtpd.smtp import SMTP, Envelope, Session
from common import listening_socket, until_terminated


class Counter:
    """Accepts every message without parsing it."""

    def __init__(self) -> None:
        self.messages = 0
        self.recipients = 0

    async def handle_DATA(
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        self.messages += 1
        self.recipients += len(envelope.rcpt_tos)
        return "250 Message accepted for delivery"


async def serve() -> None:
    counter = Counter()
    sock = listening_socket(1024)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(counter, hostname="bench-sink", ident="bench-sink"), sock=sock
    )
    await until_terminated(sock)
    server.close()
    print(f"messages={counter.messages} recipients={counter.recipients}", flush=True)


if __name__ == "__main__":
    asyncio.run(serve())
