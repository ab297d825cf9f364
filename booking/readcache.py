"""Cached bodies of the public catalogue reads, served only while their versions are current.

What is cached: the rendered JSON (and the ETag) of `GET /api/movies/`,
`GET /api/movies/{id}/shows/` and `GET /api/shows/{id}/seats/`, the reads every visitor
makes. A body is stored with the versions it was computed at, and served only while
every one of them is still current:

    read:v                  the catalogue (movies, shows, cinemas, screens): every cached
                            read depends on it. catalogue_changed() bumps it, for every
                            staff write of those (booking.signals), and so does a process
                            that lost a bump (below).
    read:v:show:{id}        the show's seats: its seat map.
    read:v:movie:{id}       the seats of the movie's shows: its shows list carries each
                            show's available_seats.

seats_changed(show, movie) bumps the last two. A bump sets a fresh random token rather
than incrementing: a version never returns to a value it had, even after Redis lost or
evicted the key, so no body stored before can ever match again. Tokens are random ints,
which Django's Redis cache stores as digits, not pickled: a bump sets them all at once
with one small script of SETs, and the cache API reads them back as the same ints (not
cache.set_many: its MULTI/EXEC of an MSET and an EXPIRE per key, values pickled, was a
tenth of a booking's CPU). A body key is the read's URL (host, path and raw query
string, since next/previous echo them); bodies are namespaced by BODY_PREFIX, versions
are not, so that code that renders differently gets bodies of its own but sees the same
bumps.

A hit is one round trip: get_many(versions + body key). With the rate limits on, it
shares theirs: a view names what its read asks the cache, a Lookup (body key and
versions), in a read_cache_lookup(request) hook, asked once per request (lookup_of);
the rate limits read those keys in the round trip that counts the request (their script
the versions, a GET sent with it the body: booking.throttles) and leave what they found
on the request (keep_ahead), where read_through takes it instead of asking again. The
versions are read BEFORE the database is queried, so a body is never tagged with a
version newer than its data: a write that commits after that read bumps after its commit
(transaction.on_commit), which retires the body's tag, and a write that rolled back
bumps nothing. Read with the count, they are read a little earlier still, which keeps
that true: it is as if the request had come a moment sooner. Nor does it matter whether
the body is read just before or just after its versions: only a body whose tag equals
the versions read is served, and tokens never repeat. Between a commit and its bump a
read may still get the body from before the write, as it might have read the database a
moment earlier.

Some bodies change with the clock alone: a hold's seats become free when it expires, a
show leaves the upcoming list when it starts. Such a body is stored with the moment it
stops being true (valid_until) and is a miss from then on.

Enabled when settings.READ_CACHE_SECONDS > 0 (default: 300 with REDIS_URL, else off).
The cache must be shared by every process: a bump in one gunicorn worker has to reach the
others, and a local-memory cache is per process. READ_CACHE_SECONDS is the lifetime of a
body; it bounds staleness only when a bump was lost.

When Redis fails (booking.cache.CacheUnavailable, or any redis error), a read is served
from the database and nothing is stored; while booking.cache's breaker is open that costs
no time at all. A bump that fails is remembered by the process, which bumps the global
version at its next successful contact with the cache (its next cached read or bump),
retiring every body. What remains: until then, and for good if the process exits
first, other processes may serve bodies the lost bump should have retired, for at most
READ_CACHE_SECONDS; so may a Redis restored from an older snapshot, with old versions and
old bodies. A lost write of a body only costs a miss.
"""

import contextlib
import functools
import hashlib
import logging
import math
import secrets
from collections.abc import Callable, Collection, Sequence
from datetime import datetime
from typing import NamedTuple

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from .cache import redis_client

logger = logging.getLogger(__name__)

# What a failing cache raises: booking.cache.CacheUnavailable is a ConnectionError (an
# OSError), and redis-py's own errors (an out-of-memory refusal, say) are RedisErrors.
CACHE_ERRORS: tuple[type[Exception], ...] = (OSError,)
try:
    from redis.exceptions import RedisError

    CACHE_ERRORS += (RedisError,)
except ImportError:  # pragma: no cover - no Redis client, no Redis errors
    pass

GLOBAL_VERSION = "read:v"
# Change it when what a cached body holds changes (a field, a format): a deploy then never
# serves a body rendered by the code before it.
BODY_PREFIX = "read:1:"
# A version outlives every body tagged with it (READ_CACHE_SECONDS); the keys of shows
# nobody reads any more then leave Redis. One that expires early only costs a miss.
VERSION_SECONDS = 24 * 60 * 60
_TOKEN_BITS = 64
# KEYS: versions; ARGV: a token for each, then their lifetime in seconds. One command for
# every key of a bump, set at once. An int token is stored as its digits, as the cache
# API stores an int.
_SET_TOKENS_SCRIPT = b"""
for i, key in ipairs(KEYS) do
  redis.call("SET", key, ARGV[i], "EX", ARGV[#ARGV])
end
"""
# Where a request keeps its Lookup, and the entries booking.throttles fetched ahead.
_LOOKUP = "_read_cache_lookup"
_AHEAD = "_read_cache_ahead"
_READ_METHODS = frozenset({"GET", "HEAD"})


class Rendered(NamedTuple):
    body: bytes  # the JSON as DRF's JSONRenderer writes it
    etag: str  # quoted, a digest of body
    valid_until: datetime | None  # body is wrong from this moment on, without any write


class Lookup(NamedTuple):
    """What a cached read asks the cache: its body's key, and the versions the body carries."""

    key: str
    versions: tuple[str, ...]  # GLOBAL_VERSION first

    def keys(self) -> list[str]:
        return [*self.versions, self.key]


class _Process:
    # A bump this process could not make: every body is retired at its next contact.
    lost_bump = False


def enabled() -> bool:
    return settings.READ_CACHE_SECONDS > 0 and not _galera_without_causal_reads()


def _galera_without_causal_reads() -> bool:
    """On a Galera node that may not have applied a write committed on another node yet
    (DB_WSREP_SYNC_WAIT=0), a miss would cache the older rows under the write's new
    version until the next write: no caching there."""
    if settings.DB_WSREP_SYNC_WAIT:
        return False
    from .services.transactions import on_galera  # services import this module

    return on_galera()


def seats_changed(show_id: int, movie_id: int) -> None:
    """After the current transaction commits, drop cached reads showing show's seats."""
    if enabled():
        _bump_on_commit([show_scope(show_id), movie_scope(movie_id)])


def catalogue_changed() -> None:
    """After the current transaction commits, drop every cached catalogue read."""
    if enabled():
        _bump_on_commit([GLOBAL_VERSION])


def show_scope(show_id: int) -> str:
    """Return the version key of a show's seats."""
    return f"read:v:show:{show_id}"


def movie_scope(movie_id: int) -> str:
    """Return the version key of the seats of a movie's shows."""
    return f"read:v:movie:{movie_id}"


def seat_map_key(show_id: int) -> str:
    """Return the body key of a show's seat map (which depends on nothing in the request)."""
    return f"{BODY_PREFIX}seats:{show_id}"


def list_key(request, params: Collection[str]) -> str | None:
    """Return the body key of a list request, or None if it is not to be cached.

    It is not when the cache is off, or when the request names a parameter outside
    params: the API ignores unknown parameters, but next/previous echo them, so every
    made-up one would be a body of its own. The key is the URL as the links are built
    from it: scheme, host, path and the query string exactly as sent.
    """
    if not enabled() or not request.query_params.keys() <= params:
        return None
    query = request.META.get("QUERY_STRING", "")
    url = f"{request.scheme}://{request.get_host()}{request.path}?{query}"
    return f"{BODY_PREFIX}list:{hashlib.sha256(url.encode()).hexdigest()[:32]}"


def lookup(key: str | None, scopes: Sequence[str]) -> Lookup | None:
    """Return the Lookup of the body under key, which depends on the version keys scopes
    besides the global one; None (not cached) if key is None or the cache is off."""
    if key is None or not enabled():
        return None
    return Lookup(key, (GLOBAL_VERSION, *scopes))


def lookup_of(request, view) -> Lookup | None:
    """Return what view's read of request asks the cache: its read_cache_lookup(request),
    asked once per request (the rate limits ask first: lookup_ahead)."""
    asked = vars(request)
    if _LOOKUP not in asked:
        asked[_LOOKUP] = view.read_cache_lookup(request)  # if it raises, the next ask does
    return asked[_LOOKUP]


def lookup_ahead(request, view) -> Lookup | None:
    """Return what view's read of request will ask the cache, for the rate limits to
    fetch with their count (None: nothing to fetch)."""
    if not hasattr(view, "read_cache_lookup") or request.method not in _READ_METHODS:
        return None
    if _Process.lost_bump:
        return None  # read_through bumps first: what is there now would be retired
    try:
        return lookup_of(request, view)
    except Exception:  # noqa: BLE001 - an id no row has: the view says so itself, later
        return None


def keep_ahead(request, lookup: Lookup, found: dict) -> None:
    """Leave found, what the cache held under lookup.keys(), for read_through(request=request)."""
    setattr(request, _AHEAD, (lookup, found))


def read_through(
    lookup: Lookup | None, compute: Callable[[], Rendered], *, now: datetime, request=None
) -> Rendered:
    """Return the body of lookup if it is current at now, else compute() it and store it.

    A lookup of None (or the cache off) computes every time. The cache is asked once,
    unless the rate limits fetched lookup's entries with their count (keep_ahead).
    Exceptions of compute() pass through: only a body that was rendered is stored.
    """
    if lookup is None or not enabled():
        return compute()
    found = _take_ahead(request, lookup)
    if _Process.lost_bump:
        if not _bump([]):
            return compute()  # not even from the cache: a body there may be one the bump retires
        found = None  # fetched before that bump
    if found is None:
        try:
            found = cache.get_many(lookup.keys())
        except CACHE_ERRORS:
            return compute()  # served by the database; nothing to store it in
    versions = lookup.versions
    tag = tuple(found.get(version) for version in versions)
    entry = found.get(lookup.key)
    if _is_current(entry, tag, now):
        _, valid_until, etag, body = entry
        return Rendered(body, etag, valid_until)
    if None in tag:
        tag = _start_versions(versions, tag)  # before the query, like the versions read
    rendered = compute()
    if tag is not None:
        _store(lookup.key, (tag, rendered.valid_until, rendered.etag, rendered.body), now)
    return rendered


def _take_ahead(request, lookup: Lookup) -> dict | None:
    ahead = vars(request).pop(_AHEAD, None) if request is not None else None
    if ahead is None or ahead[0] != lookup:
        return None
    return ahead[1]


def _is_current(entry, tag: tuple, now: datetime) -> bool:
    if not (isinstance(entry, tuple) and len(entry) == 4) or entry[0] != tag:
        return False
    valid_until = entry[1]
    return valid_until is None or now < valid_until


def _start_versions(versions: Sequence[str], tag: tuple) -> tuple | None:
    """Give each version that has none a fresh token; None if another process was first.

    A version is missing the first time it is read, or after Redis lost or evicted it.
    If a bump or another reader sets it between our read and our add, our tag would be
    older than what we saw: we answer without storing.
    """
    started = list(tag)
    try:
        for n, (version, token) in enumerate(zip(versions, tag, strict=True)):
            if token is None:
                started[n] = _token()
                if not cache.add(version, started[n], timeout=VERSION_SECONDS):
                    return None
    except CACHE_ERRORS:
        return None
    return tuple(started)


def _store(key: str, entry: tuple, now: datetime) -> None:
    seconds = settings.READ_CACHE_SECONDS
    valid_until = entry[1]
    if valid_until is not None:  # no point keeping a body past the moment it goes wrong
        seconds = min(seconds, math.ceil((valid_until - now).total_seconds()))
    if seconds <= 0:
        return
    with contextlib.suppress(CACHE_ERRORS):  # a body not stored is a miss next time
        cache.set(key, entry, timeout=seconds)


def _bump_on_commit(versions: list[str]) -> None:
    # robust: a failure here must never turn a write that committed into a 500.
    transaction.on_commit(functools.partial(_bump, versions), robust=True)


def _bump(versions: list[str]) -> bool:
    """Give versions fresh tokens (the global one too after a lost bump); False if it failed."""
    if _Process.lost_bump:
        versions = [*versions, GLOBAL_VERSION]
    try:
        _set_tokens({version: _token() for version in versions})
    except CACHE_ERRORS as exc:
        if not _Process.lost_bump:
            logger.warning(
                "Read cache: could not bump %s (%s); every cached read is retired at this "
                "process's next contact with the cache",
                ", ".join(versions),
                exc,
            )
        _Process.lost_bump = True
        return False
    if GLOBAL_VERSION in versions:
        _Process.lost_bump = False
    return True


def _set_tokens(tokens: dict[str, int]) -> None:
    client = redis_client()
    if client is None:  # local memory (tests)
        cache.set_many(tokens, timeout=VERSION_SECONDS)
        return
    keys = [cache.make_key(version) for version in tokens]
    # EVAL, not EVALSHA: the script is short, and Redis forgetting it costs no retry.
    client.eval(_SET_TOKENS_SCRIPT, len(keys), *keys, *tokens.values(), VERSION_SECONDS)


def _token() -> int:
    return secrets.randbits(_TOKEN_BITS)
