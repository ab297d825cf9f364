"""Rate limits; their rates come from THROTTLE_* settings (`off` disables one).

How a limit counts: each (scope, ident) pair ("anon" and a client IP, "booking" and a
user id) has a counter that lives for one window, the rate's period, from the first
request it counts. A request is let through while its counter, itself included, is at
most the rate's number; a refused one is told to come back when the window ends
(Retry-After: the counter's time left; refused requests count too, but never move the
window's end). A fixed window can let up to twice the rate
through around a window's end; DRF's own throttles keep a list of timestamps instead,
which costs a cache read and a write of that pickled list per throttle (four Redis calls
for an anonymous read: most of what rate limiting cost) and loses counts when two
workers update one list at once.

* With Redis (REDIS_URL), one Lua script counts the request in every counter it is
  subject to and returns each count and time left, in one round trip, through the
  process's one client (booking.cache.redis_client). INCR is atomic, so workers counting
  at once never let more than the limit through. One script rather than a pipeline of
  SET NX / INCR / PTTL: the script runs as a whole, so no counter can lose its expiry
  between two commands (it would refuse its client for good), and it costs the workers
  less CPU (one command to send and parse, not three per counter), which is what runs
  out first; Redis spends some microseconds more on a script than on three commands.
* One round trip for all of a view's throttles, with DRF as the view layer: DRF asks each
  throttle in turn (APIView.check_throttles); the first of ours asked counts the request
  for every throttle of the view (view.get_throttles()) and leaves the counts on the
  request, where the others find theirs. DRF's check_throttles still raises the 429.
* One round trip for a cached read too: a view whose GET is served by booking.readcache
  names what it will ask the cache (its read_cache_lookup(request) hook); the same
  script reads the versions after counting, and a GET sent with it the body; readcache
  finds them on the request, and does not ask again (readcache's docstring: why that is
  exact).
* Without Redis (local memory: development, tests), the same classes count through
  Django's cache API, a read and a write per counter under a lock: exact within one
  process, which is all local memory serves.

If the cache is down, the limits are not enforced for a while: one warning per interval
in the log, not every request failing (nor a traceback per request).
"""

import hashlib
import logging
import threading
import time

from django.core.cache import cache
from redis.exceptions import NoScriptError
from rest_framework import throttling

from . import readcache
from .breakers import OutageLog
from .cache import CacheUnavailable, redis_client

logger = logging.getLogger(__name__)

# One report per interval for all the throttles of this process: at 500 requests a
# second, a line (let alone a traceback) per request would be gigabytes an hour.
cache_outage_log = OutageLog(logger)

# The version in the counters' cache keys. DRF's timestamp lists were version 1: while
# old and new workers run side by side (a rolling deploy), neither reads the other's.
COUNTER_VERSION = 2

# KEYS: the counters, then the keys to read (none, or a cached read's: booking.readcache);
# ARGV: each counter's window, in milliseconds. Returns a count and the milliseconds left
# in its window for each counter in turn, then the value of each key read (nil: none).
_COUNT_SCRIPT = b"""
local counters = #ARGV
local counted = {}
for i = 1, counters do
  local key = KEYS[i]
  local count = redis.call("INCR", key)
  local left = redis.call("PTTL", key)
  if left < 0 then  -- a new counter: its window starts now
    left = tonumber(ARGV[i])
    redis.call("PEXPIRE", key, left)
  end
  counted[2 * i - 1] = count
  counted[2 * i] = left
end
for i = counters + 1, #KEYS do
  counted[counters + i] = redis.call("GET", KEYS[i])  -- false (nil) keeps its place
end
return counted
"""
_COUNT_SCRIPT_SHA = hashlib.sha1(_COUNT_SCRIPT).hexdigest()  # noqa: S324 - Redis's script id

# Where the first throttle asked leaves the counts of a request for the others.
_COUNTED = "_throttle_counts"
# Where a request keeps its client's address, as the limits read it (get_ident).
_IDENT = "_throttle_ident"
# Without Redis, counting is a read then a write: one thread at a time.
_cache_lock = threading.Lock()


def report_cache_outage(exc: Exception) -> None:
    if isinstance(exc, CacheUnavailable):
        return  # the cache's breaker has logged it, once per interval
    cache_outage_log.warning(
        "rate limits not enforced: cache unavailable (%s: %s)", type(exc).__name__, exc
    )


def count_requests(windows: dict[str, int]) -> dict[str, tuple[int, float]]:
    """Count a request in each counter (cache key: window in seconds).

    Return each counter's (count, seconds left in its window). One round trip to Redis.
    """
    return count_and_read(windows, None)[0]


def count_and_read(
    windows: dict[str, int], lookup: readcache.Lookup | None
) -> tuple[dict[str, tuple[int, float]], dict | None]:
    """Count a request as count_requests() does and read a cached read's entries with it.

    Return the counts, and what the cache held under lookup.keys() as cache.get_many()
    returns it: None without Redis (or lookup), where nothing is read. One round trip to
    Redis: the script counts and reads the versions, and a GET sent in the same write
    reads the body, which a script would copy twice (a seat map's 28 KB cost Redis more
    than the counting).
    """
    client = redis_client()
    if client is None:
        return _count_in_cache(windows), None
    versions = lookup.versions if lookup is not None else ()
    keys = [cache.make_key(key, version=COUNTER_VERSION) for key in windows]
    keys += [cache.make_key(key) for key in versions]
    window_ms = [seconds * 1000 for seconds in windows.values()]
    commands = [("EVALSHA", _COUNT_SCRIPT_SHA, len(keys), *keys, *window_ms)]
    if lookup is not None:
        commands.append(("GET", cache.make_key(lookup.key)))
    replies = client.send_together(*commands)
    counted, body = replies[0], replies[1] if lookup is not None else None
    if isinstance(counted, NoScriptError):  # Redis restarted since (scripts are not
        # saved): send it whole. The body read before the versions is as exact (readcache).
        counted = client.eval(_COUNT_SCRIPT, len(keys), *keys, *window_ms)
    if isinstance(counted, Exception):
        raise counted
    counts = {key: (counted[2 * i], counted[2 * i + 1] / 1000) for i, key in enumerate(windows)}
    if lookup is None or isinstance(body, Exception):
        return counts, None  # counted all the same; readcache asks the cache itself
    values = [*counted[2 * len(windows) :], body]
    return counts, {
        key: cache.loads(value)
        for key, value in zip(lookup.keys(), values, strict=True)
        if value is not None
    }


def read_counts(keys: list[str]) -> dict[str, tuple[int, float]]:
    """Return each counter's (count, seconds left), without counting: (0, 0.0) if none."""
    client = redis_client()
    if client is None:
        now = time.time()
        windows = {key: cache.get(key, (0, now), version=COUNTER_VERSION) for key in keys}
        return {
            key: (count, ends_at - now) if ends_at > now else (0, 0.0)
            for key, (count, ends_at) in windows.items()
        }
    pipeline = client.pipeline(transaction=False)
    for key in keys:
        made = cache.make_key(key, version=COUNTER_VERSION)
        pipeline.get(made)
        pipeline.pttl(made)
    replies = pipeline.execute()
    return {
        key: (int(count), left / 1000) if count is not None and left > 0 else (0, 0.0)
        for key, count, left in zip(keys, replies[::2], replies[1::2], strict=True)
    }


def _count_in_cache(windows: dict[str, int]) -> dict[str, tuple[int, float]]:
    now = time.time()
    counted = {}
    with _cache_lock:
        for key, seconds in windows.items():
            count, ends_at = cache.get(key, (0, now), version=COUNTER_VERSION)
            if ends_at <= now:  # no counter, or its window is over: a new one starts
                count, ends_at = 0, now + seconds
            count += 1
            cache.set(key, (count, ends_at), ends_at - now, version=COUNTER_VERSION)
            counted[key] = (count, ends_at - now)
    return counted


class RateThrottle(throttling.SimpleRateThrottle):
    """DRF's SimpleRateThrottle, counted in a window as the module docstring says."""

    def allow_request(self, request, view):
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        counted = getattr(request, _COUNTED, None) or {}
        if self.key not in counted:
            counted = _count_for_view(request, view, self, counted)
        self.count, self.seconds_left = counted[self.key]
        return self.count <= self.num_requests

    def get_ident(self, request):
        # Every limit of a request asks, twice (DRF's loop, then _count_for_view): once.
        known = vars(request)
        if _IDENT not in known:
            known[_IDENT] = super().get_ident(request)
        return known[_IDENT]

    def wait(self):
        # Retry-After is in whole seconds (rounded up), and a wait of 0 would drop it.
        return max(self.seconds_left, 1.0)


def _count_for_view(request, view, throttle: RateThrottle, counted: dict) -> dict:
    """Count request for throttle and every other throttle of view not counted yet, in
    one call to the cache; return (and leave on request) all the counts of request.

    The first call for a request also reads what a cached read of view will ask the
    cache (booking.readcache.lookup_ahead), and leaves it on request for readcache.
    """
    windows = {throttle.key: throttle.duration}
    error = None
    try:
        for other in view.get_throttles() if view is not None else ():
            if isinstance(other, RateThrottle) and other.rate is not None:
                key = other.get_cache_key(request, view)
                if key is not None and key not in counted:
                    windows.setdefault(key, other.duration)
    except Exception as exc:  # noqa: BLE001 - raised below, once the others are counted
        # A throttle that cannot name its counter (a body that is no JSON, for the login
        # per username) fails the request as it did under DRF: after the throttles
        # before it have counted it.
        error = exc
    lookup = None if counted or error else readcache.lookup_ahead(request, view)
    try:
        counts, found = count_and_read(windows, lookup)
    except Exception as exc:  # noqa: BLE001 - any cache outage: serve unthrottled
        report_cache_outage(exc)
        counts, found = dict.fromkeys(windows, (0, 0.0)), None
    if lookup is not None and found is not None:
        readcache.keep_ahead(request, lookup, found)
    counted = {**counted, **counts}
    setattr(request, _COUNTED, counted)
    if error is not None:
        raise error
    return counted


class ClientIPRateThrottle(RateThrottle):
    """Count requests per client IP, signed in or not (DRF's NUM_PROXIES picks the IP)."""

    counter = None  # the cache key's name, when it differs from the rate's scope

    def get_cache_key(self, request, view):
        scope = self.counter or self.scope
        return self.cache_format % {"scope": scope, "ident": self.get_ident(request)}


class AnonRateThrottle(RateThrottle, throttling.AnonRateThrottle):
    pass


class UserRateThrottle(RateThrottle, throttling.UserRateThrottle):
    pass


class LoginRateThrottle(ClientIPRateThrottle):
    scope = "login"


class LoginUsernameRateThrottle(RateThrottle):
    """Count login attempts per username (any case), from any address: guessing one
    account's password from many IPs meets the same limit as from one."""

    scope = "login"

    def get_cache_key(self, request, view):
        data = request.data if isinstance(request.data, dict) else {}
        return self.key_for(data.get("username"))  # None for a malformed body: a 400

    def key_for(self, username) -> str | None:
        username = str(username or "").strip().lower()
        if not username:
            return None
        digest = hashlib.sha256(username.encode()).hexdigest()  # no usernames in cache keys
        return self.cache_format % {"scope": "login_username", "ident": digest}


class LoginFailures:
    """The API's login limits (THROTTLE_LOGIN per client IP and per username) for a login
    form outside the API: the Django admin's (booking.middleware.AdminLoginThrottleMiddleware).

    Failed attempts are added to the API login throttles' own counters (same cache keys,
    same window), so guesses at one password through the admin and through /api/login/
    add up. Only failures count here; a cache outage lets the attempt through, as on the API.
    """

    def __init__(self, request, username):
        by_ip, by_username = LoginRateThrottle(), LoginUsernameRateThrottle()
        self._throttles = {
            key: throttle
            for throttle, key in (
                (by_ip, by_ip.get_cache_key(request, None)),
                (by_username, by_username.key_for(username)),
            )
            if throttle.rate is not None and key is not None
        }

    def seconds_to_wait(self) -> float:
        """Return how long until another attempt may be made (0: it may be made now)."""
        if not self._throttles:
            return 0.0
        try:
            counts = read_counts(list(self._throttles))
        except Exception as exc:  # noqa: BLE001 - any cache outage: let the attempt through
            report_cache_outage(exc)
            return 0.0
        return max(
            (
                seconds_left
                for key, (count, seconds_left) in counts.items()
                if count >= self._throttles[key].num_requests
            ),
            default=0.0,
        )

    def record_failure(self) -> None:
        if not self._throttles:
            return
        try:
            count_requests({key: throttle.duration for key, throttle in self._throttles.items()})
        except Exception as exc:  # noqa: BLE001 - any cache outage: nothing to count in
            report_cache_outage(exc)


class SignupRateThrottle(ClientIPRateThrottle):
    scope = "signup"


class RefreshRateThrottle(ClientIPRateThrottle):
    scope = "refresh"


class BookingRateThrottle(UserRateThrottle):
    scope = "booking"


class PasswordResetRateThrottle(ClientIPRateThrottle):
    scope = "password_reset"


class PasswordResetConfirmRateThrottle(ClientIPRateThrottle):
    # The same rate, its own count: asking for links must not use up using one.
    scope = "password_reset"
    counter = "password_reset_confirm"


class PasswordResetAddressRateThrottle(RateThrottle):
    """Count reset requests per target account (the email, or the link's uid), any IP."""

    scope = "password_reset"

    def get_cache_key(self, request, view):
        data = request.data if isinstance(request.data, dict) else {}
        target = str(data.get("email") or data.get("uid") or "").strip().lower()
        if not target:
            return None  # a malformed body: the serializer answers 400
        digest = hashlib.sha256(target.encode()).hexdigest()  # no addresses in cache keys
        return self.cache_format % {"scope": f"{self.scope}_address", "ident": digest}
