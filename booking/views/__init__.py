"""HTTP endpoints: parse, call a service or selector, render. One module per domain."""

from .accounts import (
    LoginView,
    LogoutView,
    MeView,
    PasswordChangeView,
    PasswordResetConfirmView,
    PasswordResetView,
    RefreshView,
    SignupView,
)
from .bookings import BookingViewSet, BookSeatsView, MyBookingsView
from .catalogue import MovieShowsView, MovieViewSet, ShowViewSet
from .checkout import HoldSeatsView, HoldViewSet
from .operations import ApiNotFoundView, bad_request, healthz, permission_denied, server_error
from .venues import CinemaScreensView, CinemaViewSet, ScreenViewSet

__all__ = [
    "ApiNotFoundView",
    "BookSeatsView",
    "BookingViewSet",
    "CinemaScreensView",
    "CinemaViewSet",
    "HoldSeatsView",
    "HoldViewSet",
    "LoginView",
    "LogoutView",
    "MeView",
    "MovieShowsView",
    "MovieViewSet",
    "MyBookingsView",
    "PasswordChangeView",
    "PasswordResetConfirmView",
    "PasswordResetView",
    "RefreshView",
    "ScreenViewSet",
    "ShowViewSet",
    "SignupView",
    "bad_request",
    "healthz",
    "permission_denied",
    "server_error",
]
