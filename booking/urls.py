from django.urls import path, re_path
from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("movies", views.MovieViewSet, basename="movie")
router.register("shows", views.ShowViewSet, basename="show")
router.register("bookings", views.BookingViewSet, basename="booking")

urlpatterns = [
    path("signup/", views.SignupView.as_view(), name="signup"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("token/refresh/", views.RefreshView.as_view(), name="token-refresh"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("me/", views.MeView.as_view(), name="me"),
    path("movies/<int:pk>/shows/", views.MovieShowsView.as_view(), name="movie-shows"),
    path("my-bookings/", views.MyBookingsView.as_view(), name="my-bookings"),
    *router.urls,
    # Last: anything else under /api/ is a JSON 404, never Django's HTML page.
    re_path(r"^.*$", views.ApiNotFoundView.as_view(), name="api-not-found"),
]
