"""HTTP endpoints: parse, call a service or selector, render. One module per domain."""

from .accounts import LoginView, LogoutView, MeView, RefreshView, SignupView
from .bookings import BookingViewSet, BookSeatsView, MyBookingsView
from .catalogue import MovieShowsView, MovieViewSet, ShowViewSet
from .operations import ApiNotFoundView, bad_request, healthz, permission_denied, server_error

__all__ = [
    "ApiNotFoundView",
    "BookSeatsView",
    "BookingViewSet",
    "LoginView",
    "LogoutView",
    "MeView",
    "MovieShowsView",
    "MovieViewSet",
    "MyBookingsView",
    "RefreshView",
    "ShowViewSet",
    "SignupView",
    "bad_request",
    "healthz",
    "permission_denied",
    "server_error",
]
