"""Per-caller request budgets: one in-memory pyrate-limiter bucket per token, user or client IP.

Buckets live in this process only. That is enough to stop one runaway script; a deployment with
many workers gets a budget per worker, which is the documented trade-off for needing no Redis.
The limit is read from settings on every request so it can be changed (and tests can shrink it)
without a restart.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict

from django.conf import settings
from django.http import HttpRequest
from pyrate_limiter import Duration, InMemoryBucket, Rate, RateItem

from regulars.api.errors import RateLimited

MAX_TRACKED_CALLERS = 10_000

_lock = threading.Lock()
_buckets: OrderedDict[tuple[str, int], InMemoryBucket] = OrderedDict()


def client_ip(request: HttpRequest) -> str:
    # Behind a proxy, REMOTE_ADDR is set from the trusted header by the deployment's middleware.
    return str(request.META.get("REMOTE_ADDR") or "unknown")


def _bucket(key: str, limit: int) -> InMemoryBucket:
    with _lock:
        bucket = _buckets.get((key, limit))
        if bucket is None:
            bucket = InMemoryBucket([Rate(limit, Duration.MINUTE)])
            _buckets[(key, limit)] = bucket
            while len(_buckets) > MAX_TRACKED_CALLERS:
                _buckets.popitem(last=False)
        else:
            _buckets.move_to_end((key, limit))
        return bucket


def check_rate(key: str) -> None:
    """Spend one request of ``key``'s budget, or raise RateLimited with the seconds to wait."""
    limit = int(settings.API_RATE_LIMIT_PER_MINUTE)
    if limit <= 0:
        return
    bucket = _bucket(key, limit)
    now = int(bucket.now())
    item = RateItem(key, now)
    if bucket.put(item):
        if len(bucket.items) > 2 * limit:  # drop requests older than the window now and then
            bucket.leak(now)
        return
    wait_ms = bucket.waiting(item)
    assert isinstance(wait_ms, int)
    raise RateLimited(retry_after=max(1, math.ceil(max(wait_ms, 0) / 1000)))


def reset() -> None:
    """Forget every budget (tests)."""
    with _lock:
        _buckets.clear()
