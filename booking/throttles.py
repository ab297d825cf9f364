"""Rate limits; their rates come from THROTTLE_* settings (`off` disables one)."""

from rest_framework.throttling import SimpleRateThrottle, UserRateThrottle


class ClientIPRateThrottle(SimpleRateThrottle):
    """Count requests per client IP, signed in or not (DRF's NUM_PROXIES picks the IP)."""

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class LoginRateThrottle(ClientIPRateThrottle):
    scope = "login"


class SignupRateThrottle(ClientIPRateThrottle):
    scope = "signup"


class RefreshRateThrottle(ClientIPRateThrottle):
    scope = "refresh"


class BookingRateThrottle(UserRateThrottle):
    scope = "booking"
