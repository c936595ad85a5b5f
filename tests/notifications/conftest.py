"""Shared fixtures for notifications: a real SMTP server (aiosmtpd), an isolated
rate-limit cache, a purged notifications queue, and the HTTP receivers of
``receivers.py`` for the URL channels."""

from __future__ import annotations

import socket
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.notifications.receivers import (  # noqa: F401 - fixtures
    allow_private_targets,
    listener,
    receiver,
)


def free_port() -> int:
    """A port nothing listens on (right now)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class Received:
    peer: Any  # the client's (address, port): one per SMTP connection
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


class SmtpSink:
    """aiosmtpd handler that keeps every message; addresses in ``refused`` get a
    550 at RCPT, as a server answers for a mailbox that does not exist."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.refused: set[str] = set()
        self._lock = threading.Lock()

    def to(self, address: str) -> list[EmailMessage]:
        with self._lock:
            return [r.message for r in self.received if address in r.rcpt_tos]

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if address in self.refused:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        content = envelope.original_content or envelope.content or b""
        if isinstance(content, str):
            content = content.encode()
        message = message_from_bytes(content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        with self._lock:
            self.received.append(
                Received(
                    peer=session.peer,
                    mail_from=str(envelope.mail_from),
                    rcpt_tos=list(envelope.rcpt_tos),
                    message=message,
                )
            )
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server(settings: Any) -> Iterator[SmtpSink]:
    """A real SMTP server on 127.0.0.1 that Django's SMTP backend sends to."""
    sink = SmtpSink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    yield sink
    controller.stop()


@pytest.fixture
def rate_limit_cache(settings: Any) -> None:
    """A cache of this test's own, so sign-up limits never carry over."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"rate-limit-{uuid.uuid4().hex}",
        }
    }


@pytest.fixture
def notifications_queue() -> Iterator[None]:
    """Services queue their tasks for real; what this test queued is dropped, so no
    later worker runs it against a database that is gone."""
    yield
    from statuspage.celery import app

    try:
        with app.connection_for_write() as connection:
            connection.default_channel.queue_purge("notifications")
    except Exception:
        pass  # no broker, or the queue was never declared: nothing to drop


def queued_tasks(task: str) -> list[tuple[Any, Any]]:
    """The (args, kwargs) of each ``task`` waiting on the broker's notifications
    queue, oldest first; reading takes every message off the queue."""
    from statuspage.celery import app

    found = []
    with app.connection_for_read() as connection:
        queue = connection.SimpleQueue("notifications")
        try:
            while True:
                message = queue.get(block=False)
                message.ack()
                if message.headers.get("task") == task:
                    args, kwargs, _embed = message.decode()
                    found.append((args, kwargs))
        except queue.Empty:
            pass
        finally:
            queue.close()
    return found


def queued_send_batches() -> list[list[int]]:
    """The delivery ids of each send task waiting on the notifications queue."""
    return [
        list(args[0]) for args, _ in queued_tasks("notifications.tasks.deliveries_send")
    ]
