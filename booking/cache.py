"""Django's Redis cache, with a breaker: a Redis that is down or frozen costs one short
timeout per process every REDIS_BREAKER_SECONDS, not a timeout on every request.

A failed call raises CacheUnavailable, and while the breaker is open every cache call
raises it at once, without touching the network; the rate limits (the cache's only users)
then serve the request unthrottled (booking.throttles.FailOpenMixin). The outage is
logged here, once per interval (booking.breakers.OutageLog).
"""

import functools
from urllib.parse import urlsplit

from django.core.cache.backends import redis as django_redis
from django.utils.functional import cached_property

from .breakers import Breaker

# What a Redis that is down, unreachable or frozen raises (redis-py wraps socket errors).
_OUTAGE_ERRORS: tuple[type[BaseException], ...] = (OSError,)
try:
    import redis.exceptions

    _OUTAGE_ERRORS += (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)
except ImportError:  # pragma: no cover - the backend cannot be used without redis anyway
    pass


class CacheUnavailable(ConnectionError):
    """The cache was skipped: it failed a moment ago and its breaker is open."""


class _GuardedClient:
    """Django's RedisCacheClient, each public call going through the breaker."""

    def __init__(self, client, breaker: Breaker):
        self._client = client
        self._breaker = breaker

    def __getattr__(self, name):
        attribute = getattr(self._client, name)
        if name.startswith("_") or name == "get_client" or not callable(attribute):
            return attribute

        @functools.wraps(attribute)
        def guarded(*args, **kwargs):
            if self._breaker.is_open():
                raise CacheUnavailable(f"Redis skipped for {self._breaker.seconds_left():.1f}s")
            try:
                result = attribute(*args, **kwargs)
            except _OUTAGE_ERRORS as exc:
                self._breaker.record_failure(f"{type(exc).__name__}: {exc}")
                raise CacheUnavailable(str(exc)) from exc
            if self._breaker.failing:
                self._breaker.record_success()
            return result

        return guarded


class RedisCache(django_redis.RedisCache):
    """settings.CACHES backend: OPTIONS["breaker_seconds"] sets the breaker (0: none)."""

    def __init__(self, server, params):
        options = dict(params.get("OPTIONS") or {})
        breaker_seconds = options.pop("breaker_seconds", 0)
        super().__init__(server, {**params, "OPTIONS": options})
        where = urlsplit(self._servers[0])  # host and port only: a URL may hold a password
        self.breaker = Breaker(
            f"Redis cache at {where.hostname}:{where.port or 6379}",
            open_seconds=lambda: breaker_seconds,
            consequence="rate limits are not enforced meanwhile",
        )

    @cached_property
    def _cache(self):
        return _GuardedClient(self._class(self._servers, **self._options), self.breaker)
