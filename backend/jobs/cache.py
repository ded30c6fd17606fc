"""Django's Redis cache (scale mode), answering "nothing cached" while Redis is unreachable.

rs3d keeps only counts in the cache: the upload rate limits (``backend.api.throttles``), shared by every
web process through Redis. With Django's own backend an unreachable or restarting Redis turned every
upload into a server error. With this one the cache degrades instead: reads find nothing and writes are
dropped, so uploads are accepted without being counted (the limits are not enforced) until Redis
answers again; one warning per outage says so in the log, and one more when Redis is back. It lives with
the jobs app beside the other Redis outage handling (:mod:`backend.jobs.notify`, :mod:`backend.jobs.consumers`).
"""

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

T = TypeVar("T")


class FailSoftRedisCache(RedisCache):
    """A RedisCache whose reads miss and whose writes are dropped while Redis is unreachable."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.degraded = False

    def get(self, key: Any, default: Any = None, version: int | None = None) -> Any:
        """The cached value, or ``default`` (also while Redis is down)."""
        return self._soft(lambda: RedisCache.get(self, key, default, version), default)

    def get_many(self, keys: Any, version: int | None = None) -> dict[Any, Any]:
        """The cached values found; none while Redis is down."""
        return self._soft(lambda: RedisCache.get_many(self, keys, version), {})

    def has_key(self, key: Any, version: int | None = None) -> bool:
        """Whether ``key`` is cached (False while Redis is down)."""
        return self._soft(lambda: RedisCache.has_key(self, key, version), False)

    def set(self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> None:
        """Cache ``value`` (dropped while Redis is down)."""
        self._soft(lambda: RedisCache.set(self, key, value, timeout, version), None)

    def add(self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> bool:
        """Cache ``value`` unless ``key`` is there (False while Redis is down)."""
        return self._soft(lambda: RedisCache.add(self, key, value, timeout, version), False)

    def set_many(self, data: dict[Any, Any], timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> list[Any]:
        """Cache several values (all reported as not set while Redis is down)."""
        return self._soft(lambda: RedisCache.set_many(self, data, timeout, version), list(data))

    def delete(self, key: Any, version: int | None = None) -> bool:
        """Forget ``key`` (False while Redis is down)."""
        return self._soft(lambda: RedisCache.delete(self, key, version), False)

    def _soft(self, call: Callable[[], T], fallback: T) -> T:
        try:
            result = call()
        except RedisError as err:
            if not self.degraded:
                self.degraded = True
                logger.warning("Redis unavailable (%s): upload rate limits are not enforced until it is back", err)
            return fallback
        if self.degraded:
            self.degraded = False
            logger.warning("Redis is back: upload rate limits are enforced again")
        return result
