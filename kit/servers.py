"""Clients of the servers every process shares."""

from __future__ import annotations

import redis


def redis_client(url: str, timeout: float) -> redis.Redis:
    """A client that gives up after ``timeout`` seconds, connecting or reading."""
    return redis.Redis.from_url(
        url, socket_timeout=timeout, socket_connect_timeout=timeout
    )
