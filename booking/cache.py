"""Django's Redis cache, with one client per process and a breaker: a Redis that is down
or frozen costs one short timeout per process every REDIS_BREAKER_SECONDS, not a timeout
on every request.

One client: Django's RedisCacheClient builds a new redis client object on every call
(~100 µs each, four of them per request when the rate limits used the cache API). Here
each process builds one per server, on first use, and every cache call reuses it, as
does code that talks to Redis directly through redis_client(): the rate limits' counting
script (booking.throttles), which also reads a cached read's entries (RedisCache.loads
decodes them as the cache API would), and the read cache's version bumps
(booking.readcache). Nothing connects before the first call, so a process that forks
workers (gunicorn's preload_app) hands them no connection; redis-py's pool would drop
one inherited across a fork anyway.

A failed call raises CacheUnavailable, and while the breaker is open every call raises
it at once, without touching the network; callers carry on without the cache (the rate
limits serve the request unthrottled: booking.throttles). The breaker, like the client,
is the process's, whichever thread calls. The outage is logged here, once per interval
(booking.breakers.OutageLog).
"""

import threading
from urllib.parse import urlsplit

import redis
from django.core.cache import caches
from django.core.cache.backends import redis as django_redis
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.functional import cached_property

from .breakers import Breaker

# What a Redis that is down, unreachable or frozen raises (redis-py wraps socket errors).
_OUTAGE_ERRORS = (OSError, redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)


class CacheUnavailable(ConnectionError):
    """The cache was skipped: it failed a moment ago and its breaker is open."""


def redis_client() -> "GuardedRedis | None":
    """Return the process's Redis client of the default cache (None: it is not Redis).

    Every command and pipeline of that client goes through the cache's breaker: it raises
    CacheUnavailable when Redis fails, or at once while the breaker is open.
    """
    backend = caches["default"]
    return backend.client if isinstance(backend, RedisCache) else None


def _guarded(breaker: Breaker, call, *args, **kwargs):
    """Call call(*args, **kwargs) unless the breaker is open, and tell it how that went."""
    if breaker.is_open():
        raise CacheUnavailable(f"Redis skipped for {breaker.seconds_left():.1f}s")
    try:
        result = call(*args, **kwargs)
    except CacheUnavailable:
        raise  # a guarded call inside this one has told the breaker already
    except _OUTAGE_ERRORS as exc:
        breaker.record_failure(f"{type(exc).__name__}: {exc}")
        raise CacheUnavailable(str(exc)) from exc
    if breaker.failing:
        breaker.record_success()
    return result


class GuardedRedis(redis.Redis):
    """A redis client whose every command and pipeline goes through the breaker."""

    def __init__(self, *, connection_pool: redis.ConnectionPool, breaker: Breaker):
        super().__init__(connection_pool=connection_pool)
        self.breaker = breaker

    def execute_command(self, *args, **options):
        return _guarded(self.breaker, super().execute_command, *args, **options)

    def send_together(self, *commands: tuple) -> list:
        """Send commands in one write, then read their replies: one round trip, as a
        pipeline makes, without building a Pipeline (which costs the client as much CPU
        as a command). An error reply (a ResponseError) takes its command's place.

        Never retried: a command that may have run is not run twice (an INCR would count
        twice). A connection that failed midway is dropped, not handed back half read.
        """
        return _guarded(self.breaker, self._send_together, commands)

    def _send_together(self, commands: tuple) -> list:
        pool = self.connection_pool
        connection = pool.get_connection()
        try:
            connection.send_packed_command(connection.pack_commands(commands))
            replies = []
            for _ in commands:
                try:
                    replies.append(connection.read_response())
                except redis.exceptions.ResponseError as exc:
                    replies.append(exc)
            return replies
        except BaseException:
            connection.disconnect()
            raise
        finally:
            pool.release(connection)

    def pipeline(self, transaction=True, shard_hint=None) -> "_GuardedPipeline":
        pipeline = _GuardedPipeline(
            self.connection_pool, self.response_callbacks, transaction, shard_hint
        )
        pipeline.breaker = self.breaker
        return pipeline


class _GuardedPipeline(redis.client.Pipeline):
    """A pipeline whose round trips (execute, and WATCH's immediate commands) are guarded."""

    breaker: Breaker

    def execute(self, raise_on_error: bool = True):
        return _guarded(self.breaker, super().execute, raise_on_error)

    def immediate_execute_command(self, *args, **options):
        return _guarded(self.breaker, super().immediate_execute_command, *args, **options)


class _ProcessClient(django_redis.RedisCacheClient):
    """Django's RedisCacheClient, handing out one GuardedRedis per server for the process."""

    def __init__(self, servers, *, breaker: Breaker, **options):
        super().__init__(servers, **options)
        self.breaker = breaker
        self._clients: dict[int, GuardedRedis] = {}
        self._lock = threading.Lock()

    def get_client(self, key=None, *, write=False) -> GuardedRedis:
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            with self._lock:  # once per server and process: no two pools for one server
                client = self._clients.get(index)
                if client is None:
                    pool = self._pool_class.from_url(self._servers[index], **self._pool_options)
                    self._pools[index] = pool
                    client = self._clients[index] = GuardedRedis(
                        connection_pool=pool, breaker=self.breaker
                    )
        return client

    def close(self) -> None:
        for pool in self._pools.values():
            pool.disconnect()


# Django makes a cache backend per thread; the client and its breaker are per process.
_process_clients: dict[tuple, _ProcessClient] = {}
_process_clients_lock = threading.Lock()


def _process_client(servers: list[str], options: dict, breaker_seconds: float) -> _ProcessClient:
    """Return the process's client for this configuration, made on first use."""
    config = (tuple(servers), repr(sorted(options.items())), breaker_seconds)
    with _process_clients_lock:
        client = _process_clients.get(config)
        if client is None:
            where = urlsplit(servers[0])  # host and port only: a URL may hold a password
            breaker = Breaker(
                f"Redis cache at {where.hostname}:{where.port or 6379}",
                open_seconds=lambda: breaker_seconds,
                consequence="rate limits are not enforced meanwhile",
            )
            client = _process_clients[config] = _ProcessClient(servers, breaker=breaker, **options)
    return client


@receiver(setting_changed)
def _forget_process_clients(*, setting, **kwargs):
    # Tests point CACHES at another Redis (or a dead port) and back: start afresh, with
    # new clients and breakers, as a process started with those settings would.
    if setting == "CACHES":
        with _process_clients_lock:
            clients = list(_process_clients.values())
            _process_clients.clear()
        for client in clients:
            client.close()


class _GuardedClient:
    """Django's RedisCacheClient, each public call going through the breaker before Django
    does any work for it (making keys, pickling)."""

    def __init__(self, client: _ProcessClient, breaker: Breaker):
        self._client = client
        self._breaker = breaker

    def __getattr__(self, name):
        attribute = getattr(self._client, name)
        if name.startswith("_") or name == "get_client" or not callable(attribute):
            return attribute

        def guarded(*args, **kwargs):
            return _guarded(self._breaker, getattr(self._client, name), *args, **kwargs)

        self.__dict__[name] = guarded  # made once per name, not on every call
        return guarded


class RedisCache(django_redis.RedisCache):
    """settings.CACHES backend: OPTIONS["breaker_seconds"] sets the breaker (0: none)."""

    def __init__(self, server, params):
        options = dict(params.get("OPTIONS") or {})
        breaker_seconds = options.pop("breaker_seconds", 0)
        super().__init__(server, {**params, "OPTIONS": options})
        self._process_client = _process_client(self._servers, self._options, breaker_seconds)
        self.breaker = self._process_client.breaker

    @cached_property
    def _cache(self):
        return _GuardedClient(self._process_client, self.breaker)

    @property
    def client(self) -> GuardedRedis:
        """The process's client of the server written to (the only one, usually)."""
        return self._process_client.get_client(write=True)

    def loads(self, value: bytes):
        """Return a value read through the client as this cache's get() returns it."""
        return self._process_client._serializer.loads(value)
