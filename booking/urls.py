from django.urls import path, re_path
from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("movies", views.MovieViewSet, basename="movie")
router.register("shows", views.ShowViewSet, basename="show")
router.register("bookings", views.BookingViewSet, basename="booking")
router.register("cinemas", views.CinemaViewSet, basename="cinema")
router.register("screens", views.ScreenViewSet, basename="screen")
router.register("holds", views.HoldViewSet, basename="hold")

urlpatterns = [
    path("signup/", views.SignupView.as_view(), name="signup"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("token/refresh/", views.RefreshView.as_view(), name="token-refresh"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("me/", views.MeView.as_view(), name="me"),
    path("me/password/", views.PasswordChangeView.as_view(), name="password-change"),
    path("password-reset/", views.PasswordResetView.as_view(), name="password-reset"),
    path(
        "password-reset/confirm/",
        views.PasswordResetConfirmView.as_view(),
        name="password-reset-confirm",
    ),
    path("movies/<int:pk>/shows/", views.MovieShowsView.as_view(), name="movie-shows"),
    path("shows/<int:pk>/book/", views.BookSeatsView.as_view(), name="show-book"),
    path("shows/<int:pk>/holds/", views.HoldSeatsView.as_view(), name="show-holds"),
    path("cinemas/<int:pk>/screens/", views.CinemaScreensView.as_view(), name="cinema-screens"),
    path("my-bookings/", views.MyBookingsView.as_view(), name="my-bookings"),
    *router.urls,
    # Last: anything else under /api/ is a JSON 404, never Django's HTML page.
    # [\s\S]: a path with a newline in it (%0A) is under /api/ too, and gets the JSON 404.
    # (Not the (?s) flag: Django cannot reverse a pattern with flags, and then no URL of
    # the project reverses at all: admin, Swagger UI and ReDoc answer 500.)
    re_path(r"^[\s\S]*$", views.ApiNotFoundView.as_view(), name="api-not-found"),
]
