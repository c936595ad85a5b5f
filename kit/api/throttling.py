"""Per-token rate limit: a fixed one-minute window counted in the cache (Redis)."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.cache import cache
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

WINDOW_SECONDS = 60


class TokenRateThrottle(BaseThrottle):
    """At most ``API_RATE_LIMIT_PER_MINUTE`` requests per token per minute.

    A fixed window, counted with an atomic increment, is exact across any number of
    web workers; DRF's own throttle keeps a list per client and races between them.
    """

    def allow_request(self, request: Request, view: Any) -> bool:
        token = getattr(request, "auth", None)
        token_id = getattr(token, "pk", None)
        if token_id is None:
            return True  # not a token request (public schema, docs)
        now = time.time()
        window = int(now // WINDOW_SECONDS)
        key = f"api-rate:{token_id}:{window}"
        cache.add(key, 0, timeout=WINDOW_SECONDS + 5)
        count = cache.incr(key)
        self._wait = (window + 1) * WINDOW_SECONDS - now
        return count <= settings.API_RATE_LIMIT_PER_MINUTE

    def wait(self) -> float | None:
        return max(1.0, self._wait)
