"""Hostile or unlucky clients get their contract answer, never a 500 (issue: hardening)."""

import json
from datetime import timedelta

import jwt
import pytest
from django.conf import settings as django_settings
from django.db import IntegrityError, connection
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from booking import services
from booking.models import Show, User

from .conftest import PASSWORD, client_for, make_user

pytestmark = pytest.mark.django_db

LOGIN_URL = "/api/login/"
REFRESH_URL = "/api/token/refresh/"


def forged_access_token(user, **claims) -> str:
    """A validly signed access token for user with some claims replaced."""
    token = AccessToken.for_user(user)
    payload = {**token.payload, **claims}
    return jwt.encode(payload, django_settings.SECRET_KEY, algorithm="HS256")


# --- Tokens ---------------------------------------------------------------------------


@pytest.mark.parametrize("user_id", ["abc", "3.5", 3.5, True, [1], {"a": 1}, "٣", str(2**70), -1])
def test_a_signed_token_whose_user_id_is_no_id_is_401_token_not_valid(user, user_id):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {forged_access_token(user, user_id=user_id)}")

    response = client.get("/api/me/")

    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"


def test_a_refresh_token_redeemed_twice_is_refused_with_a_readable_detail(user):
    refresh = str(RefreshToken.for_user(user))
    first = APIClient().post(REFRESH_URL, {"refresh": refresh}, format="json")

    second = APIClient().post(REFRESH_URL, {"refresh": refresh}, format="json")

    assert first.status_code == 200
    assert second.status_code == 401
    body = second.json()
    assert body["code"] == "token_not_valid"
    assert "{" not in body["detail"] and "ErrorDetail" not in body["detail"]


@pytest.mark.parametrize("garbage", ["x", "a.b.c", ""])
def test_every_refresh_failure_has_a_readable_detail(garbage):
    response = APIClient().post(REFRESH_URL, {"refresh": garbage}, format="json")

    assert response.status_code in (400, 401)
    detail = response.json()["detail"]
    assert "ErrorDetail" not in detail and not detail.startswith("{")


def test_token_responses_are_not_stored_by_any_cache(user):
    client = APIClient()
    login = client.post(LOGIN_URL, {"username": user.username, "password": PASSWORD})
    refreshed = client.post(REFRESH_URL, {"refresh": login.json()["refresh"]}, format="json")
    signup = client.post(
        "/api/signup/",
        {"username": "newbie", "email": "newbie@example.com", "password": PASSWORD},
        format="json",
    )

    assert [r.status_code for r in (login, refreshed, signup)] == [200, 200, 201]
    assert all(r.headers["Cache-Control"] == "no-store" for r in (login, refreshed, signup))


# --- Brute force ----------------------------------------------------------------------


def test_guessing_one_accounts_password_from_many_addresses_is_throttled(user, settings):
    rate = int(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["login"].split("/")[0])
    answers = [
        APIClient().post(
            LOGIN_URL,
            {"username": user.username.upper(), "password": "wrong-guess"},
            REMOTE_ADDR=f"10.0.0.{n}",
        )
        for n in range(rate + 1)
    ]

    assert [a.status_code for a in answers[:rate]] == [401] * rate
    assert answers[-1].status_code == 429
    assert answers[-1].json()["code"] == "throttled"
    assert "Retry-After" in answers[-1].headers


# --- Ids and names --------------------------------------------------------------------


@pytest.mark.parametrize("movie_id", ["3.5", 3.5, True, "1e0", "", None, [1]])
def test_a_movie_id_that_is_not_a_whole_number_is_400_on_movie_id(staff_client, movie, movie_id):
    body = {
        "movie_id": movie_id,
        "screen_name": "Screen 1",
        "start_time": "2031-01-01T18:00:00Z",
        "total_seats": 10,
        "price": "100.00",
    }

    response = staff_client.post("/api/shows/", body, format="json")

    assert response.status_code == 400
    assert "movie_id" in response.json()["errors"]
    assert not Show.objects.exists()


def test_a_numeric_string_movie_id_still_works(staff_client, movie):
    body = {
        "movie_id": str(movie.pk),
        "screen_name": "Screen 1",
        "start_time": "2031-01-01T18:00:00Z",
        "total_seats": 10,
        "price": "100.00",
    }

    response = staff_client.post("/api/shows/", body, format="json")

    assert response.status_code == 201


def test_signing_up_a_name_the_database_calls_equal_to_a_taken_one_is_400_on_username(
    api_client,
):
    make_user("Straße", email="strasse@example.com")
    body = {"username": "strasse", "email": "other@example.com", "password": PASSWORD}

    response = api_client.post("/api/signup/", body, format="json")

    if connection.vendor == "mysql":  # its collation: ß = ss, so the name is taken
        assert response.status_code == 400
        assert "username" in response.json()["errors"]
    else:  # elsewhere they are different names
        assert response.status_code == 201


# --- Races with staff -----------------------------------------------------------------


def test_booking_a_show_deleted_on_the_way_is_404(user, movie):
    show = services.create_show(
        movie=movie,
        screen_name="Screen 1",
        start_time=timezone.now() + timedelta(days=1),
        total_seats=10,
        price=100,
    )
    stale = Show.objects.get(pk=show.pk)
    services.delete_show(show=show)

    with pytest.raises(Exception) as raised:
        services.book_seats(user=user, show=stale, now=timezone.now(), seat_numbers=[1])

    assert getattr(raised.value, "status_code", None) == 404


# --- Bodies ---------------------------------------------------------------------------


def test_a_body_over_the_limit_is_refused_with_a_small_error(auth_client, show, settings):
    huge = json.dumps({"seat_numbers": ["x"] * 100_000})
    assert len(huge) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE

    response = auth_client.post(
        f"/api/shows/{show.pk}/book/", huge, content_type="application/json"
    )

    assert response.status_code in (400, 413)
    assert response.json()["code"] == "invalid"
    assert len(response.content) < 300


def test_the_longest_list_under_the_body_limit_is_refused_for_its_length(auth_client, show):
    items = 10_000
    body = {"seat_numbers": ["x"] * items}  # ~50 KB: under the limit, every item bad

    response = auth_client.post(f"/api/shows/{show.pk}/book/", body, format="json")

    assert response.status_code == 400
    assert response.json()["errors"] == {"seat_numbers": ["At most 10 seats per booking."]}
    assert len(response.content) < 300


def test_a_staff_screen_body_with_huge_lists_is_refused_for_their_length(staff_client, cinema):
    row = {"label": "A", "seats": 10, "wheelchair": list(range(5_000))}

    response = staff_client.post(
        "/api/screens/",
        {"cinema_id": cinema.pk, "name": "Big", "rows": [row]},
        format="json",
    )

    assert response.status_code == 400
    assert len(response.content) < 500


def test_a_deactivated_users_token_is_refused(user):
    client = client_for(user)
    User.objects.filter(pk=user.pk).update(is_active=False)

    response = client.get("/api/me/")

    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"


def test_a_race_no_lock_covered_is_a_409_conflict(auth_client, show, monkeypatch):
    def collide(**kwargs):
        raise IntegrityError("duplicate key")

    monkeypatch.setattr(services, "book_seats", collide)

    response = auth_client.post(f"/api/shows/{show.pk}/book/", {"seat_number": 1}, format="json")

    assert response.status_code == 409
    assert response.json()["code"] == "conflict"
