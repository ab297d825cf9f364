"""What operators rely on: the request log, CORS, proxies, rate settings, key purging."""

import functools
import logging
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from booking import services
from booking.models import Hold, IdempotencyKey, Seat
from booking.throttles import BookingRateThrottle, LoginRateThrottle

from .conftest import PASSWORD, make_show

pytestmark = pytest.mark.django_db

REQUEST_LOGGER = "booking.requests"


def request_log_lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == REQUEST_LOGGER]


# --- Request log ----------------------------------------------------------------------


def test_each_request_logs_one_line_with_method_path_status_duration_user_and_id(
    caplog, user, auth_client
):
    caplog.set_level(logging.INFO, logger=REQUEST_LOGGER)

    response = auth_client.get("/api/me/", headers={"X-Request-ID": "req-42"})

    [line] = request_log_lines(caplog)
    method, path, status, duration, user_part, id_part = line.split()
    assert (method, path, status) == ("GET", "/api/me/", "200")
    assert duration.endswith("ms") and float(duration[:-2]) >= 0
    assert user_part == f"user={user.pk}"
    assert id_part == "request_id=req-42"
    assert response.headers["X-Request-ID"] == "req-42"


def test_an_anonymous_request_is_logged_without_a_user(caplog, api_client):
    caplog.set_level(logging.INFO, logger=REQUEST_LOGGER)

    api_client.get("/api/movies/")

    [line] = request_log_lines(caplog)
    assert " user=- " in line


def test_no_password_token_or_query_string_reaches_the_log(caplog, api_client, user):
    caplog.set_level(logging.DEBUG)
    login = api_client.post(
        "/api/login/", {"username": user.username, "password": PASSWORD}, format="json"
    )
    tokens = login.json()
    api_client.get(
        "/api/me/?access=secret-in-query", headers={"Authorization": f"Bearer {tokens['access']}"}
    )
    api_client.post("/api/token/refresh/", {"refresh": tokens["refresh"]}, format="json")

    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert login.status_code == 200
    assert request_log_lines(caplog)  # the requests were logged...
    for secret in (PASSWORD, tokens["access"], tokens["refresh"], "secret-in-query", "Bearer"):
        assert secret not in logged  # ...but none of these


# --- CORS -----------------------------------------------------------------------------


def test_an_allowed_origin_gets_cors_headers_on_a_preflight(api_client, settings):
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example.com"]

    response = api_client.options(
        "/api/shows/1/book/",
        headers={
            "Origin": "https://app.example.com",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type, idempotency-key",
        },
    )

    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    allowed = response.headers["Access-Control-Allow-Headers"].lower()
    assert {"authorization", "content-type", "idempotency-key"} <= set(allowed.split(", "))


def test_an_allowed_origin_can_read_the_retry_and_replay_headers(api_client, settings):
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example.com"]

    response = api_client.get("/api/movies/", headers={"Origin": "https://app.example.com"})

    exposed = {
        h.strip().lower() for h in response.headers["Access-Control-Expose-Headers"].split(",")
    }
    assert {"retry-after", "idempotent-replayed", "x-request-id"} <= exposed


def test_no_origin_is_allowed_by_default(api_client, settings):
    assert settings.CORS_ALLOWED_ORIGINS == []

    response = api_client.get("/api/movies/", headers={"Origin": "https://app.example.com"})

    assert "Access-Control-Allow-Origin" not in response.headers


# --- Client IP behind proxies and rate settings ---------------------------------------


@pytest.mark.parametrize(
    ("trusted_hops", "expected_ip"),
    [(0, "10.0.0.9"), (1, "203.0.113.7"), (2, "198.51.100.1")],
)
def test_the_client_ip_comes_from_the_trusted_number_of_proxy_hops(
    rf, monkeypatch, trusted_hops, expected_ip
):
    # The client controls the left end of X-Forwarded-For; each trusted proxy appends
    # the address it saw, so only the last `trusted_hops` entries can be believed.
    monkeypatch.setattr(api_settings, "NUM_PROXIES", trusted_hops)
    request = rf.get(
        "/api/login/",
        HTTP_X_FORWARDED_FOR="6.6.6.6, 198.51.100.1, 203.0.113.7",
        REMOTE_ADDR="10.0.0.9",
    )

    assert LoginRateThrottle().get_ident(request) == expected_ip


def test_every_throttle_rate_comes_from_the_settings(settings):
    rates = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]

    assert rates == {
        "login": "10/min",
        "signup": "20/hour",
        "refresh": "30/min",
        "booking": "60/min",
        "anon": "600/min",
        "user": "1200/min",
        "password_reset": "5/hour",
    }


def test_a_throttle_set_to_off_lets_everything_through(rf, user, monkeypatch):
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"booking": None})
    request = rf.post("/api/shows/1/book/")
    request.user = user

    throttle = BookingRateThrottle()

    assert all(throttle.allow_request(request, view=None) for _ in range(100))


# --- Idempotency keys expire ----------------------------------------------------------


def test_purge_idempotency_keys_deletes_only_keys_older_than_24_hours(user, show, capsys):
    for seat, (key, age) in enumerate((("old", 25), ("fresh", 1)), start=1):
        services.book_seats_idempotently(
            user=user,
            key=key,
            fingerprint=key,
            now=timezone.now() - timedelta(hours=age),
            book=functools.partial(
                services.book_seats, user=user, show=show, seat_numbers=[seat], now=timezone.now()
            ),
            render=lambda booking: {"id": booking.pk},
        )

    call_command("purge_idempotency_keys")

    assert IdempotencyKey.objects.count() == 1
    assert "Deleted 1 expired idempotency key(s)." in capsys.readouterr().out


def test_a_cache_outage_leaves_the_api_up_with_rate_limits_unenforced(
    api_client, user, monkeypatch, caplog
):
    # Redis down: the throttle's cache calls raise. Serving unthrottled beats a 500.
    def cache_down(*args, **kwargs):
        raise ConnectionError("Redis is down")

    monkeypatch.setattr(SimpleRateThrottle.cache, "get", cache_down)

    movies = api_client.get("/api/movies/")
    login = api_client.post(
        "/api/login/", {"username": user.username, "password": PASSWORD}, format="json"
    )

    assert movies.status_code == 200
    assert login.status_code == 200
    assert "cache unavailable" in caplog.text


def test_a_newline_in_the_path_cannot_forge_a_second_log_line(caplog, api_client):
    caplog.set_level(logging.INFO, logger=REQUEST_LOGGER)

    api_client.get("/api/nope%0AGET /api/me/ 200 1.0ms user=1/")

    [line] = request_log_lines(caplog)
    assert "\n" not in line
    assert "nope\\nGET" in line


def test_the_expire_holds_command_marks_expired_holds_and_frees_their_seats(user, movie):
    show = make_show(movie)
    long_ago = timezone.now() - timedelta(hours=1)
    stale = services.hold_seats(user=user, show=show, now=long_ago, seat_numbers=[1, 2])
    output = StringIO()

    call_command("expire_holds", stdout=output)

    stale.refresh_from_db()
    assert stale.status == Hold.Status.EXPIRED
    assert not Seat.objects.filter(show=show, hold__isnull=False).exists()
    assert "Marked 1 hold(s) expired." in output.getvalue()
