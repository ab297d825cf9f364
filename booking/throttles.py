"""Rate limits; their rates come from THROTTLE_* settings (`off` disables one).

The counters live in the cache (Redis when REDIS_URL is set). If the cache is down, the
limits are not enforced for a while: one warning per interval in the log, not every
request failing (nor a traceback per request).
"""

import hashlib
import logging

from rest_framework import throttling

from .breakers import OutageLog
from .cache import CacheUnavailable

logger = logging.getLogger(__name__)

# One report per interval for all the throttles of this process: at 500 requests a
# second, a line (let alone a traceback) per request would be gigabytes an hour.
cache_outage_log = OutageLog(logger)


def report_cache_outage(exc: Exception) -> None:
    if isinstance(exc, CacheUnavailable):
        return  # the cache's breaker has logged it, once per interval
    cache_outage_log.warning(
        "rate limits not enforced: cache unavailable (%s: %s)", type(exc).__name__, exc
    )


class FailOpenMixin:
    def allow_request(self, request, view):
        try:
            return super().allow_request(request, view)
        except Exception as exc:  # noqa: BLE001 - any cache outage: serve unthrottled
            report_cache_outage(exc)
            return True


class ClientIPRateThrottle(FailOpenMixin, throttling.SimpleRateThrottle):
    """Count requests per client IP, signed in or not (DRF's NUM_PROXIES picks the IP)."""

    counter = None  # the cache key's name, when it differs from the rate's scope

    def get_cache_key(self, request, view):
        scope = self.counter or self.scope
        return self.cache_format % {"scope": scope, "ident": self.get_ident(request)}


class AnonRateThrottle(FailOpenMixin, throttling.AnonRateThrottle):
    pass


class UserRateThrottle(FailOpenMixin, throttling.UserRateThrottle):
    pass


class LoginRateThrottle(ClientIPRateThrottle):
    scope = "login"


class LoginUsernameRateThrottle(FailOpenMixin, throttling.SimpleRateThrottle):
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
        self._counters = [
            (throttle, key)
            for throttle, key in (
                (by_ip, by_ip.get_cache_key(request, None)),
                (by_username, by_username.key_for(username)),
            )
            if throttle.rate is not None and key is not None
        ]

    def seconds_to_wait(self) -> float:
        """Return how long until another attempt may be made (0: it may be made now)."""
        wait = 0.0
        try:
            for throttle, key in self._counters:
                history = self._recent(throttle, key)
                if len(history) >= throttle.num_requests:
                    wait = max(wait, throttle.duration - (throttle.timer() - history[-1]))
        except Exception as exc:  # noqa: BLE001 - any cache outage: let the attempt through
            report_cache_outage(exc)
            return 0.0
        return wait

    def record_failure(self) -> None:
        try:
            for throttle, key in self._counters:
                history = self._recent(throttle, key)
                history.insert(0, throttle.timer())
                throttle.cache.set(key, history, throttle.duration)
        except Exception as exc:  # noqa: BLE001 - any cache outage: nothing to count in
            report_cache_outage(exc)

    @staticmethod
    def _recent(throttle, key) -> list[float]:
        """The attempts still inside the window, newest first (DRF's history format)."""
        now = throttle.timer()
        return [t for t in throttle.cache.get(key, []) if t > now - throttle.duration]


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


class PasswordResetAddressRateThrottle(FailOpenMixin, throttling.SimpleRateThrottle):
    """Count reset requests per target account (the email, or the link's uid), any IP."""

    scope = "password_reset"

    def get_cache_key(self, request, view):
        data = request.data if isinstance(request.data, dict) else {}
        target = str(data.get("email") or data.get("uid") or "").strip().lower()
        if not target:
            return None  # a malformed body: the serializer answers 400
        digest = hashlib.sha256(target.encode()).hexdigest()  # no addresses in cache keys
        return self.cache_format % {"scope": f"{self.scope}_address", "ident": digest}
