"""What operators rely on: the request log, CORS, proxies, rate settings, key purging,
a database or Redis that hangs, the admin login's rate limit."""

import functools
import logging
import socket
import subprocess
import sys
import threading
import time
from datetime import timedelta
from io import StringIO

import pytest
from django.conf import settings as django_settings
from django.core.cache import caches
from django.core.management import call_command
from django.db import OperationalError
from django.utils import timezone
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from booking import breakers, selectors, services, throttles
from booking.breakers import database_breaker
from booking.cache import CacheUnavailable, redis_client
from booking.models import Hold, IdempotencyKey, Seat
from booking.throttles import BookingRateThrottle, LoginRateThrottle
from booking.views import operations

from .conftest import PASSWORD, make_show, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_breakers():
    # The breakers and outage logs live in the process: no test may inherit another's
    # outage, nor find its warning already logged by an earlier test.
    database_breaker.reset()
    throttles.cache_outage_log.reset()
    yield
    deadline = time.monotonic() + 5  # a probe still running must not outlive its test
    while breakers._probe_in_flight is not None and time.monotonic() < deadline:
        time.sleep(0.01)
    database_breaker.reset()
    throttles.cache_outage_log.reset()


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
    break_the_rate_limits_cache(monkeypatch, ConnectionError("Redis is down"))

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


# --- A database that hangs ------------------------------------------------------------


class HangingConnection:
    """A database that accepts connections and never answers (a frozen host)."""

    def __init__(self):
        self.release = threading.Event()
        self.cursors = 0

    def cursor(self):
        self.cursors += 1
        self.release.wait(timeout=30)
        raise OperationalError(2013, "Lost connection to server during query")

    def close(self):
        pass


@pytest.fixture
def hanging_database(monkeypatch, settings):
    """/healthz's database hangs; waits are short. Afterwards the hung probe finishes."""
    settings.DB_PROBE_TIMEOUT_SECONDS = 0.2
    database = HangingConnection()
    monkeypatch.setattr(operations, "connection", database)
    yield database
    database.release.set()
    deadline = time.monotonic() + 5
    while breakers._probe_in_flight is not None and time.monotonic() < deadline:
        time.sleep(0.01)


def test_healthz_answers_503_within_the_probe_timeout_when_the_database_hangs(
    client, hanging_database
):
    started = time.monotonic()
    response = client.get("/healthz")
    elapsed = time.monotonic() - started

    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "unreachable"}
    assert elapsed < 1.5  # DB_PROBE_TIMEOUT_SECONDS (0.2 here), not the driver's timeouts


def test_healthz_polled_while_the_database_hangs_keeps_one_waiting_connection(
    client, hanging_database
):
    answers = [client.get("/healthz").status_code for _ in range(5)]

    assert answers == [503] * 5
    assert hanging_database.cursors == 1  # one probe, shared: no pile of hung connections


class AnsweringConnection:
    """A database that answers; counts the connections asked for."""

    vendor = "sqlite"  # no Galera readiness to ask

    def __init__(self):
        self.cursors = 0

    def cursor(self):
        self.cursors += 1
        return self

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        return False

    def execute(self, sql):
        pass

    def fetchone(self):
        return (1,)

    def close(self):
        pass


def test_a_flood_of_healthz_costs_the_database_one_connection_a_second(client, monkeypatch):
    database = AnsweringConnection()
    monkeypatch.setattr(operations, "connection", database)

    answers = [client.get("/healthz").status_code for _ in range(20)]

    assert answers == [200] * 20
    assert database.cursors == 1  # the first answer is reused for a second


def test_once_healthz_found_no_database_api_requests_get_503_without_touching_it(
    client, api_client, hanging_database, django_assert_num_queries
):
    client.get("/healthz")

    with django_assert_num_queries(0):
        response = api_client.get("/api/movies/")

    assert response.status_code == 503
    assert response.json()["code"] == "service_unavailable"
    assert int(response["Retry-After"]) >= 1


def crash_with(exc):
    def crash(*args, **kwargs):
        raise exc

    return crash


def break_the_rate_limits_cache(monkeypatch, exc):
    """Make the rate limits' cache calls raise exc: Django's cache API (local memory) and,
    with REDIS_URL set, the one Redis round trip that counts a request (booking.throttles)."""
    monkeypatch.setattr(SimpleRateThrottle.cache, "get", crash_with(exc))
    client = redis_client()
    if client is not None:
        monkeypatch.setattr(client, "send_together", crash_with(exc))


def test_a_one_off_database_error_costs_one_probe_and_no_more_503s(api_client, monkeypatch, movie):
    real_movies = selectors.movies
    monkeypatch.setattr(selectors, "movies", crash_with(OperationalError(2013, "Lost")))
    assert api_client.get("/api/movies/").status_code == 503
    monkeypatch.setattr(selectors, "movies", real_movies)

    response = api_client.get("/api/movies/")  # waits for the probe: the database answers

    assert response.status_code == 200
    assert not database_breaker.failing


def test_when_the_probe_finds_no_database_requests_get_503_at_once_until_one_succeeds(
    api_client, monkeypatch, movie
):
    now = [1000.0]
    monkeypatch.setattr(database_breaker, "clock", lambda: now[0])
    started_probes = []
    monkeypatch.setattr(breakers, "start_probe", lambda **kw: started_probes.append(now[0]))
    monkeypatch.setattr(breakers, "database_answers", lambda **kw: False)
    real_movies = selectors.movies
    crash = crash_with(OperationalError(2003, "Can't connect"))
    monkeypatch.setattr(selectors, "movies", crash)

    first = api_client.get("/api/movies/")  # the view finds the database gone
    monkeypatch.setattr(selectors, "movies", crash_with(AssertionError("not called")))
    second = api_client.get("/api/movies/")  # waits for the probe, which fails: open
    third = api_client.get("/api/movies/")  # open: at once, nothing tried
    now[0] += 2  # DB_BREAKER_SECONDS later: a probe starts in the background
    fourth = api_client.get("/api/movies/")

    assert [r.status_code for r in (first, second, third, fourth)] == [503] * 4
    assert {r.json()["code"] for r in (first, second, third, fourth)} == {"service_unavailable"}
    assert started_probes == [1000.0, 1002.0]  # one with the failure, one when due

    database_breaker.record_success()  # what the background probe does when it succeeds
    monkeypatch.setattr(selectors, "movies", real_movies)
    assert api_client.get("/api/movies/").status_code == 200


def test_healthz_is_not_held_back_by_the_breaker(client, api_client, monkeypatch, movie):
    monkeypatch.setattr(selectors, "movies", crash_with(OperationalError(2003, "gone")))
    api_client.get("/api/movies/")

    response = client.get("/healthz")  # its own check: the database answers

    assert response.status_code == 200
    assert not database_breaker.failing  # and its probe closed the breaker


def test_the_breaker_can_be_switched_off(api_client, monkeypatch, movie, settings):
    settings.DB_BREAKER_SECONDS = 0
    monkeypatch.setattr(breakers, "database_answers", crash_with(AssertionError("no probe")))
    monkeypatch.setattr(selectors, "movies", crash_with(OperationalError(2003, "gone")))

    answers = [api_client.get("/api/movies/").status_code for _ in range(3)]

    assert answers == [503] * 3
    assert not database_breaker.failing


# --- Redis that is down or frozen -------------------------------------------------------


def redis_cache(port: int) -> dict:
    return {
        "default": {
            "BACKEND": "booking.cache.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{port}/0",
            "OPTIONS": {
                "socket_connect_timeout": 0.25,
                "socket_timeout": 0.25,
                "breaker_seconds": 5,
            },
        }
    }


@pytest.fixture
def dead_redis(settings):
    """REDIS_URL points at a port nobody listens on: every connection is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    original, settings.CACHES = settings.CACHES, redis_cache(port)
    yield port
    settings.CACHES = original  # before conftest clears the cache


@pytest.fixture
def frozen_redis(settings):
    """REDIS_URL points at a port that accepts connections and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(128)
        original, settings.CACHES = settings.CACHES, redis_cache(listener.getsockname()[1])
        yield
        settings.CACHES = original


def outage_warnings(caplog) -> list[logging.LogRecord]:
    return [
        record
        for record in caplog.records
        if record.name.startswith("booking") and record.levelno >= logging.WARNING
    ]


def test_with_redis_down_requests_are_served_and_the_log_says_so_once(
    api_client, dead_redis, caplog
):
    caplog.set_level(logging.INFO)

    answers = [api_client.get("/api/movies/").status_code for _ in range(30)]

    assert answers == [200] * 30
    [warning] = outage_warnings(caplog)
    message = warning.getMessage()
    assert f"Redis cache at 127.0.0.1:{dead_redis} unavailable" in message
    assert "rate limits are not enforced" in message
    assert warning.exc_info is None  # one line, no traceback


def test_a_redis_outage_is_logged_again_once_per_interval(api_client, dead_redis, caplog):
    caplog.set_level(logging.WARNING)
    backend = caches["default"]
    now = [0.0]
    backend.breaker.clock = backend.breaker.outage_log.clock = lambda: now[0]

    for second in range(0, 130, 2):  # two minutes, a request every 2 seconds
        now[0] = float(second)
        assert api_client.get("/api/movies/").status_code == 200

    warnings = [record.getMessage() for record in outage_warnings(caplog)]
    assert len(warnings) == 3  # at 0 s, 60 s and 120 s
    assert "more since the last report" in warnings[1]


def test_while_its_breaker_is_open_redis_is_not_called_at_all(dead_redis):
    backend = caches["default"]
    calls = []
    client = backend._cache._client  # Django's RedisCacheClient behind the breaker
    real_get = client.get

    def counting_get(*args, **kwargs):
        calls.append(args)
        return real_get(*args, **kwargs)

    client.get = counting_get
    with pytest.raises(CacheUnavailable):
        backend.get("key")  # refused: the breaker opens
    with pytest.raises(CacheUnavailable):
        backend.get("key")  # skipped
    assert len(calls) == 1

    later = time.monotonic() + 6  # past breaker_seconds: Redis is tried again, once
    backend.breaker.clock = lambda: later
    with pytest.raises(CacheUnavailable):
        backend.get("key")
    assert len(calls) == 2


def test_a_frozen_redis_costs_one_short_timeout_then_nothing(api_client, frozen_redis):
    seconds = []
    for _ in range(10):
        started = time.monotonic()
        assert api_client.get("/api/movies/").status_code == 200
        seconds.append(time.monotonic() - started)

    assert seconds[0] < 1.5  # one socket timeout (0.25 s); it was 2 s per throttle
    assert max(seconds[1:]) < 0.25  # the breaker: Redis not waited for again


def test_a_cache_error_that_is_not_redis_is_logged_once_too(api_client, monkeypatch, caplog):
    break_the_rate_limits_cache(monkeypatch, ConnectionError("down"))

    answers = [api_client.get("/api/movies/").status_code for _ in range(10)]

    assert answers == [200] * 10
    [warning] = outage_warnings(caplog)
    assert "rate limits not enforced: cache unavailable" in warning.getMessage()
    assert warning.exc_info is None


# --- The admin login's rate limit -------------------------------------------------------

ADMIN_LOGIN = "/admin/login/"


@pytest.fixture
def login_limit_of_3(monkeypatch):
    monkeypatch.setattr(
        SimpleRateThrottle,
        "THROTTLE_RATES",
        {**SimpleRateThrottle.THROTTLE_RATES, "login": "3/min"},
    )


def admin_login(client, username, password, *, ip="203.0.113.5"):
    return client.post(
        ADMIN_LOGIN,
        {"username": username, "password": password, "next": "/admin/"},
        REMOTE_ADDR=ip,
    )


def test_the_admin_login_refuses_an_address_after_too_many_failed_attempts(
    client, staff_user, login_limit_of_3
):
    failures = [admin_login(client, f"guess{n}", "wrong").status_code for n in range(3)]

    refused = admin_login(client, staff_user.username, PASSWORD)  # even the right password

    assert failures == [200] * 3  # the form again, with its error
    assert refused.status_code == 429
    assert "Too many failed login attempts" in refused.content.decode()
    assert 0 < int(refused["Retry-After"]) <= 60
    assert "_auth_user_id" not in client.session  # not logged in
    # Another address is not held back.
    assert admin_login(client, staff_user.username, PASSWORD, ip="198.51.100.9").status_code == 302


def test_the_admin_login_refuses_a_username_after_too_many_failures_from_anywhere(
    client, staff_user, login_limit_of_3
):
    for n in range(3):
        assert (
            admin_login(client, staff_user.username, "wrong", ip=f"203.0.113.{n}").status_code
            == 200
        )

    refused = admin_login(client, staff_user.username.upper(), PASSWORD, ip="198.51.100.9")

    assert refused.status_code == 429
    assert "_auth_user_id" not in client.session
    other = make_user("second_staff", is_staff=True)
    assert admin_login(client, other.username, PASSWORD, ip="198.51.100.10").status_code == 302


def test_successful_admin_logins_do_not_count(client, staff_user, login_limit_of_3):
    for _ in range(5):
        assert admin_login(client, staff_user.username, PASSWORD).status_code == 302
        client.logout()


def test_failed_admin_logins_count_against_the_api_login_of_that_username(
    client, api_client, staff_user, login_limit_of_3
):
    for n in range(3):
        admin_login(client, staff_user.username, "wrong", ip=f"203.0.113.{n}")

    response = api_client.post(
        "/api/login/",
        {"username": staff_user.username, "password": PASSWORD},
        format="json",
        REMOTE_ADDR="198.51.100.7",
    )

    assert response.status_code == 429
    assert response.json()["code"] == "throttled"


def test_the_admin_login_has_no_limit_when_the_login_rate_is_off(client, staff_user, monkeypatch):
    monkeypatch.setattr(
        SimpleRateThrottle, "THROTTLE_RATES", {**SimpleRateThrottle.THROTTLE_RATES, "login": None}
    )

    answers = [admin_login(client, staff_user.username, "wrong").status_code for _ in range(15)]

    assert answers == [200] * 15


def test_the_admin_login_works_with_redis_down(client, staff_user, dead_redis, login_limit_of_3):
    assert admin_login(client, staff_user.username, "wrong").status_code == 200
    assert admin_login(client, staff_user.username, PASSWORD).status_code == 302


def import_settings_with(**env) -> subprocess.CompletedProcess:
    """Import the settings module in a fresh interpreter with these variables set."""
    return subprocess.run(
        [sys.executable, "-c", "import movie_booking.settings"],
        cwd=django_settings.BASE_DIR,
        env={"PATH": "/usr/bin:/bin", "DEBUG": "True", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("rate", ["ten/min", "10/fortnight", "10", "0/min", "-1/min"])
def test_a_rate_that_is_no_rate_stops_the_service_at_start_up(rate):
    result = import_settings_with(THROTTLE_LOGIN=rate)

    assert result.returncode != 0
    assert "THROTTLE_LOGIN" in result.stderr and "is not a rate" in result.stderr


@pytest.mark.parametrize("rate", ["10/min", "20/hour", "5/second", "100/day", "off", "OFF"])
def test_every_rate_drf_reads_starts_the_service(rate):
    result = import_settings_with(THROTTLE_LOGIN=rate)

    assert result.returncode == 0, result.stderr


# DRF imports the authentication class named in its settings as soon as anything imports
# rest_framework.views; a third-party app may do that while models are still loading.
_IMPORT_VIEWS_WHILE_MODELS_LOAD = """
import django
from django.apps.config import AppConfig

load_models = AppConfig.import_models


def then_import_drf_views(config):
    load_models(config)
    if config.name == AFTER_APP:
        import rest_framework.views  # noqa: F401


AppConfig.import_models = then_import_drf_views
django.setup()
"""


# After the first app's models (booking's not loaded yet) and after booking's own.
@pytest.mark.parametrize("after_app", ["django.contrib.admin", "booking"])
def test_drf_views_can_be_imported_while_models_load(after_app):
    loaded = subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
        [sys.executable, "-c", f"AFTER_APP = {after_app!r}\n{_IMPORT_VIEWS_WHILE_MODELS_LOAD}"],
        cwd=django_settings.BASE_DIR,
        env={
            "PATH": "/usr/bin:/bin",
            "DEBUG": "True",
            "DJANGO_SETTINGS_MODULE": "movie_booking.settings",
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert loaded.returncode == 0, loaded.stderr[-2000:]
