"""The one small interface every channel implements.

``Transport().send(batch)`` delivers a batch of deliveries of its channel and returns
one ``Result`` per delivery, in order. A failure is a result, not an exception:
``permanent`` says that retrying cannot help (a 410, a rejected address, a refused
URL), otherwise the delivery is retried later with backoff.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

from notifications.models import Delivery
from notifications.rendering import Message

RESPONSE_MAX_CHARS = 300


@dataclass(frozen=True)
class Result:
    ok: bool
    status_code: int | None = None
    response: str = ""  # the start of what the receiver answered
    error: str = ""  # why it failed, short and human readable
    permanent: bool = False
    duration_ms: float | None = None


class Transport(ABC):
    @abstractmethod
    def send(self, batch: list[tuple[Delivery, Message]]) -> list[Result]:
        """Send each message; never raise for a receiver's failure."""
