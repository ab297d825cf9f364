"""Rate limits on a real Redis: one round trip per request, through one client, exact
under concurrency, and the same 429 with Retry-After at the limit.

These tests need Redis at TEST_REDIS_URL (default redis://127.0.0.1:6379/9, a database
of their own, emptied before and after each test). Without one they skip, unless
REQUIRE_REDIS=1: then they fail, as a CI leg that has Redis must not pass quietly.
"""

import os
import threading

import pytest
import redis
from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache, caches
from django.test import RequestFactory
from rest_framework import throttling
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from booking import throttles
from booking.cache import CacheUnavailable, GuardedRedis, redis_client
from booking.throttles import COUNTER_VERSION, AnonRateThrottle

pytestmark = pytest.mark.django_db

TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/9")
BARRIER_TIMEOUT_SECONDS = 30  # a hang guard only


@pytest.fixture(scope="module")
def _redis_is_there():
    probe = redis.Redis.from_url(TEST_REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
    try:
        probe.ping()
    except redis.exceptions.RedisError as exc:
        reason = f"no Redis at {TEST_REDIS_URL} ({exc})"
        if os.environ.get("REQUIRE_REDIS") == "1":
            pytest.fail(f"REQUIRE_REDIS=1 but {reason}", pytrace=False)
        pytest.skip(f"{reason}: set TEST_REDIS_URL, or REQUIRE_REDIS=1 to fail instead")
    finally:
        probe.close()


@pytest.fixture
def redis_cache(_redis_is_there, settings):
    """The default cache on Redis, as with REDIS_URL set; return the process's client."""
    settings.CACHES = {
        "default": {
            "BACKEND": "booking.cache.RedisCache",
            "LOCATION": TEST_REDIS_URL,
            # Roomier than production's 0.25 s: a busy test machine must not open the breaker.
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2, "breaker_seconds": 5},
        }
    }
    cache.clear()
    throttles.cache_outage_log.reset()
    yield redis_client()
    cache.clear()


@pytest.fixture
def rates(monkeypatch):
    """Set some throttle rates for one test (the others keep theirs)."""

    def set_rates(**scopes):
        monkeypatch.setattr(
            SimpleRateThrottle, "THROTTLE_RATES", {**SimpleRateThrottle.THROTTLE_RATES, **scopes}
        )

    return set_rates


class RoundTrips:
    """Count the round trips to Redis made while DRF checks a view's throttles.

    A round trip is one send of commands (a pipeline sends all of its commands at once)
    followed by their answers: redis-py sends through Connection.send_packed_command.
    """

    def __init__(self, monkeypatch):
        self.sent = 0
        self.while_throttling: list[int] = []
        real_send = redis.connection.AbstractConnection.send_packed_command
        real_check = APIView.check_throttles

        def counting_send(connection, command, check_health=True):
            self.sent += 1
            return real_send(connection, command, check_health)

        def counting_check(view, request):
            before = self.sent
            try:
                return real_check(view, request)
            finally:
                self.while_throttling.append(self.sent - before)

        monkeypatch.setattr(
            redis.connection.AbstractConnection, "send_packed_command", counting_send
        )
        monkeypatch.setattr(APIView, "check_throttles", counting_check)


@pytest.fixture
def round_trips(monkeypatch):
    return RoundTrips(monkeypatch)


def counters() -> dict[str, int]:
    """Every rate-limit counter in Redis (key without Django's prefix: its count)."""
    client = redis_client()
    prefix = cache.make_key("", version=COUNTER_VERSION)
    return {
        key.decode().removeprefix(prefix): int(client.get(key))
        for key in client.keys(f"{prefix}throttle_*")
    }


# --- One round trip per request ---------------------------------------------------------


def test_an_anonymous_read_counts_both_its_limits_in_one_round_trip(
    redis_cache, round_trips, api_client, movie
):
    api_client.get("/api/movies/")  # the first connects (a handshake of its own)

    for _ in range(3):
        assert api_client.get("/api/movies/").status_code == 200

    assert round_trips.while_throttling[1:] == [1, 1, 1]
    # Both default throttles apply to an anonymous client, counted by its address.
    assert counters() == {"throttle_anon_127.0.0.1": 4, "throttle_user_127.0.0.1": 4}


def test_an_authenticated_read_costs_one_round_trip(
    redis_cache, round_trips, auth_client, user, movie
):
    auth_client.get("/api/movies/")

    for _ in range(3):
        assert auth_client.get("/api/movies/").status_code == 200

    assert round_trips.while_throttling[1:] == [1, 1, 1]
    assert counters() == {f"throttle_user_{user.pk}": 4}  # the anonymous limit does not apply


def test_a_booking_costs_one_round_trip(redis_cache, round_trips, auth_client, user, show):
    auth_client.get("/api/movies/")

    for seat in (1, 2, 3):
        response = auth_client.post(f"/api/shows/{show.pk}/book/", {"seat_numbers": [seat]})
        assert response.status_code == 201

    assert round_trips.while_throttling[1:] == [1, 1, 1]
    assert counters() == {f"throttle_user_{user.pk}": 1, f"throttle_booking_{user.pk}": 3}


def test_a_login_counts_per_address_and_per_username_in_one_round_trip(
    redis_cache, round_trips, api_client, user
):
    api_client.get("/api/movies/")

    for _ in range(2):
        api_client.post("/api/login/", {"username": user.username, "password": "wrong"})

    assert round_trips.while_throttling[1:] == [1, 1]
    counted = counters()
    assert counted["throttle_login_127.0.0.1"] == 2
    assert [n for key, n in counted.items() if key.startswith("throttle_login_username_")] == [2]


def test_after_redis_forgets_the_script_requests_are_still_counted(redis_cache, api_client, movie):
    api_client.get("/api/movies/")
    redis_cache.script_flush()  # what a restart of Redis does

    assert api_client.get("/api/movies/").status_code == 200

    assert counters()["throttle_anon_127.0.0.1"] == 2


# --- One client ---------------------------------------------------------------------------


def test_the_process_has_one_redis_client_for_every_call_and_thread(
    redis_cache, monkeypatch, api_client, movie
):
    made = []
    real_init = redis.Redis.__init__

    def counting_init(client, *args, **kwargs):
        made.append(client)
        real_init(client, *args, **kwargs)

    api_client.get("/api/movies/")
    monkeypatch.setattr(redis.Redis, "__init__", counting_init)
    for _ in range(5):
        api_client.get("/api/movies/")
    cache.set("key", "value")
    assert cache.get("key") == "value"
    from_a_thread = []
    thread = threading.Thread(target=lambda: from_a_thread.append(redis_client()))
    thread.start()
    thread.join()

    assert made == []  # neither requests nor Django's cache API made a client
    assert isinstance(redis_cache, GuardedRedis)
    assert redis_client() is redis_cache
    assert from_a_thread == [redis_cache]  # another thread, another backend: the same client
    assert caches["default"]._cache.get_client() is redis_cache


def test_djangos_cache_api_keeps_working_on_the_shared_client(redis_cache):
    cache.set("seats", 3, 60)
    assert cache.incr("seats") == 4
    assert cache.get_many(["seats", "none"]) == {"seats": 4}
    assert cache.add("seats", 0) is False
    cache.delete("seats")
    assert cache.get("seats", "gone") == "gone"


@pytest.fixture
def dead_redis(settings):
    """The default cache on a Redis that refuses connections (nobody listens on port 1)."""
    original = settings.CACHES
    settings.CACHES = {
        "default": {
            "BACKEND": "booking.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"socket_connect_timeout": 0.25, "breaker_seconds": 5},
        }
    }
    yield
    settings.CACHES = original  # before conftest clears the cache


def test_a_dead_redis_opens_the_breaker_of_the_shared_client_too(dead_redis):
    client = redis_client()

    with pytest.raises(CacheUnavailable):
        client.get("key")  # refused: the breaker opens
    assert client.breaker.is_open()
    with pytest.raises(CacheUnavailable):
        client.pipeline().incr("key").execute()  # skipped, pipelines too
    with pytest.raises(CacheUnavailable):
        cache.get("key")  # and Django's cache API: one breaker


# --- At the limit ---------------------------------------------------------------------------


def test_the_request_over_the_limit_is_429_throttled_with_retry_after(
    redis_cache, rates, api_client, movie
):
    rates(anon="3/min")

    answers = [api_client.get("/api/movies/") for _ in range(4)]

    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert answers[-1].json()["code"] == "throttled"
    assert 55 <= int(answers[-1]["Retry-After"]) <= 60  # the rest of the minute
    ttl = redis_cache.ttl(cache.make_key("throttle_anon_127.0.0.1", version=COUNTER_VERSION))
    assert 0 < ttl <= 60  # the window ends when the first request's minute does
    # Another address has a counter of its own.
    assert api_client.get("/api/movies/", REMOTE_ADDR="192.0.2.9").status_code == 200


def test_the_longest_wait_of_the_limits_refused_is_the_retry_after(
    redis_cache, rates, api_client, movie
):
    rates(anon="1/min", user="1/hour")

    api_client.get("/api/movies/")
    refused = api_client.get("/api/movies/")

    assert refused.status_code == 429
    assert 3500 < int(refused["Retry-After"]) <= 3600


def test_a_new_window_starts_when_the_last_one_ends(redis_cache, rates, api_client, movie):
    rates(anon="1/min")
    api_client.get("/api/movies/")
    assert api_client.get("/api/movies/").status_code == 429

    redis_cache.delete(cache.make_key("throttle_anon_127.0.0.1", version=COUNTER_VERSION))

    assert api_client.get("/api/movies/").status_code == 200


# --- Concurrency ----------------------------------------------------------------------------

LIMIT = 5
THREADS = 24


def anonymous_request():
    request = RequestFactory().get("/api/movies/", REMOTE_ADDR="203.0.113.7")
    request.user = AnonymousUser()
    return request


def let_through_at_once(throttle_class) -> int:
    """How many of THREADS requests, from one address at once, throttle_class lets through."""
    barrier = threading.Barrier(THREADS, timeout=BARRIER_TIMEOUT_SECONDS)
    allowed = []
    failures = []

    def attempt():
        try:
            throttle = throttle_class()
            request = anonymous_request()
            barrier.wait()
            allowed.append(throttle.allow_request(request, view=None))
        except Exception as exc:  # noqa: BLE001 - re-raised in the test's thread below
            failures.append(exc)

    threads = [threading.Thread(target=attempt) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(BARRIER_TIMEOUT_SECONDS)
    if failures:
        raise failures[0]
    return allowed.count(True)


def test_requests_counted_at_once_never_exceed_the_limit(redis_cache, rates):
    rates(anon=f"{LIMIT}/min")

    for _ in range(3):
        cache.clear()
        assert let_through_at_once(AnonRateThrottle) == LIMIT


class ReadThenWriteThrottle(throttling.AnonRateThrottle):
    """DRF's own: reads the list of timestamps, then writes it back (the control)."""


def test_control_a_read_then_write_counter_lets_more_than_the_limit_through(redis_cache, rates):
    # Without an atomic increment, requests that read the counter before any of them
    # writes it back all pass: the test above can fail.
    rates(anon=f"{LIMIT}/min")

    let_through = []
    for _ in range(5):
        cache.clear()
        let_through.append(let_through_at_once(ReadThenWriteThrottle))

    assert max(let_through) > LIMIT


# --- The admin login ------------------------------------------------------------------------


def test_failed_admin_logins_and_api_logins_share_one_counter_in_redis(
    redis_cache, rates, client, api_client, staff_user
):
    rates(login="3/min")
    for _ in range(2):
        client.post("/admin/login/", {"username": staff_user.username, "password": "wrong"})

    api_client.post("/api/login/", {"username": staff_user.username, "password": "wrong"})
    refused = client.post("/admin/login/", {"username": staff_user.username, "password": "x"})

    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 60
    assert counters()["throttle_login_127.0.0.1"] == 3
