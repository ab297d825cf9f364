"""Rate limits; their rates come from THROTTLE_* settings (`off` disables one).

The counters live in the cache (Redis when REDIS_URL is set). If the cache is down, the
limits are not enforced for a while: a logged warning, not every request failing.
"""

import hashlib
import logging

from rest_framework import throttling

logger = logging.getLogger(__name__)


class FailOpenMixin:
    def allow_request(self, request, view):
        try:
            return super().allow_request(request, view)
        except Exception:  # any cache outage (Redis down): serve the request unthrottled
            logger.warning(
                "throttle %s: cache unavailable, not enforced", self.scope, exc_info=True
            )
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
        username = str(data.get("username") or "").strip().lower()
        if not username:
            return None  # a malformed body: the serializer answers 400
        digest = hashlib.sha256(username.encode()).hexdigest()
        return self.cache_format % {"scope": "login_username", "ident": digest}


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
