"""Rate limits on a real Redis: one round trip per request, through one client, exact
under concurrency, and the same 429 with Retry-After at the limit. A cached read
(booking.readcache) is one round trip in all: its cache lookup travels with the count.

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
from django.utils import timezone
from rest_framework import throttling
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from booking import readcache, selectors, services, throttles
from booking.cache import CacheUnavailable, GuardedRedis, redis_client
from booking.models import Movie
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

    def during(self, call, *args, **kwargs):
        """Return what call(*args, **kwargs) returns, and the round trips it made in all."""
        before = self.sent
        result = call(*args, **kwargs)
        return result, self.sent - before


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


# --- A cached read: the count and the cache lookup in one round trip -----------------------


@pytest.fixture
def read_cache(settings):
    """The read cache on, with nothing lost from before."""
    settings.READ_CACHE_SECONDS = 300
    settings.DB_WSREP_SYNC_WAIT = 1  # on a Galera node too (test_read_cache says why)
    readcache._Process.lost_bump = False
    yield
    readcache._Process.lost_bump = False


def cached_url(which: str, show) -> str:
    return {
        "movies": "/api/movies/",
        "movie-shows": f"/api/movies/{show.movie_id}/shows/",
        "seat-map": f"/api/shows/{show.pk}/seats/",
    }[which]


CACHED_READS = ["movies", "movie-shows", "seat-map"]


@pytest.mark.parametrize("which", CACHED_READS)
def test_a_cached_read_costs_one_round_trip_in_all_with_the_rate_limits_on(
    redis_cache, read_cache, round_trips, api_client, show, django_assert_num_queries, which
):
    url = cached_url(which, show)
    stored = api_client.get(url)  # the first connects, and stores the body

    for _ in range(3):
        with django_assert_num_queries(0):
            hit, sent = round_trips.during(api_client.get, url)
        assert sent == 1  # one script: the count, then the versions and the body
        assert (hit.status_code, hit.content) == (200, stored.content)
    assert counters() == {"throttle_anon_127.0.0.1": 4, "throttle_user_127.0.0.1": 4}


@pytest.mark.parametrize("which", CACHED_READS)
def test_a_miss_with_the_rate_limits_on_is_computed_once_then_served(
    redis_cache, read_cache, settings, api_client, show, django_assert_num_queries, which
):
    url = cached_url(which, show)
    settings.READ_CACHE_SECONDS = 0
    uncached = api_client.get(url)
    settings.READ_CACHE_SECONDS = 300

    with django_assert_num_queries(1):
        miss = api_client.get(url)
    with django_assert_num_queries(0):
        hit = api_client.get(url)

    assert miss.content == hit.content == uncached.content
    assert miss.get("ETag") == hit.get("ETag") == uncached.get("ETag")


def test_a_signed_in_cached_read_costs_one_round_trip_too(
    redis_cache, read_cache, round_trips, auth_client, user, show
):
    auth_client.get("/api/movies/")

    _, sent = round_trips.during(auth_client.get, "/api/movies/")

    assert sent == 1
    assert counters() == {f"throttle_user_{user.pk}": 2}


def test_the_body_comes_in_the_counts_round_trip_on_the_same_connection_every_time(
    redis_cache, read_cache, api_client, show
):
    url = cached_url("seat-map", show)
    stored = api_client.get(url)

    hits = [api_client.get(url) for _ in range(5)]

    assert {hit.content for hit in hits} == {stored.content}
    pool = redis_cache.connection_pool
    assert (len(pool._available_connections), len(pool._in_use_connections)) == (1, 0)


def test_an_error_reply_to_the_body_read_still_counts_and_the_read_is_a_miss(
    redis_cache, read_cache, api_client, show, django_assert_num_queries, caplog
):
    url = cached_url("seat-map", show)
    stored = api_client.get(url)
    body_key = cache.make_key(readcache.seat_map_key(show.pk))
    redis_cache.delete(body_key)
    redis_cache.rpush(body_key, "not a string")  # GET answers WRONGTYPE

    with django_assert_num_queries(1):
        missed = api_client.get(url)
    with django_assert_num_queries(0):
        after = [api_client.get(url) for _ in range(2)]  # the connection is still in step

    assert (missed.status_code, missed.content) == (200, stored.content)
    assert [a.content for a in after] == [stored.content, stored.content]
    assert counters()["throttle_anon_127.0.0.1"] == 4
    assert "not enforced" not in caplog.text  # the limits counted: no outage to report


def test_a_list_with_a_parameter_it_does_not_cache_costs_the_count_only(
    redis_cache, read_cache, round_trips, api_client, movie, django_assert_num_queries
):
    api_client.get("/api/movies/", {"utm_source": "mail"})

    with django_assert_num_queries(1):  # from the database: made-up parameters are not cached
        response, sent = round_trips.during(api_client.get, "/api/movies/", {"utm_source": "mail"})

    assert response.status_code == 200
    assert sent == 1  # the count; nothing to read


@pytest.mark.parametrize(
    "url", ["/api/movies/99999999999999999999/shows/", "/api/shows/99999999999999999999/seats/"]
)
def test_an_id_no_row_can_have_is_still_404_with_the_rate_limits_on(
    redis_cache, read_cache, api_client, url
):
    response = api_client.get(url)

    assert response.status_code == 404
    assert counters()["throttle_anon_127.0.0.1"] == 1  # counted all the same


def test_a_cached_read_over_the_limit_is_429_throttled_with_retry_after(
    redis_cache, read_cache, rates, api_client, show
):
    rates(anon="3/min")
    url = cached_url("seat-map", show)

    answers = [api_client.get(url) for _ in range(4)]

    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert answers[-1].json()["code"] == "throttled"
    assert 55 <= int(answers[-1]["Retry-After"]) <= 60


def test_after_redis_forgets_the_script_a_cached_read_is_counted_and_served(
    redis_cache, read_cache, round_trips, api_client, movie, django_assert_num_queries
):
    stored = api_client.get("/api/movies/")
    redis_cache.script_flush()  # what a restart of Redis does

    with django_assert_num_queries(0):
        hit, sent = round_trips.during(api_client.get, "/api/movies/")

    assert sent == 2  # EVALSHA refused, then the script sent whole: it reads all the same
    assert hit.content == stored.content
    assert counters()["throttle_anon_127.0.0.1"] == 2


def test_a_booking_retires_a_seat_map_read_with_the_count(
    redis_cache, read_cache, api_client, auth_client, show, django_capture_on_commit_callbacks
):
    url = cached_url("seat-map", show)
    api_client.get(url)
    before = api_client.get(url)

    with django_capture_on_commit_callbacks(execute=True):
        booked = auth_client.post(f"/api/shows/{show.pk}/book/", {"seat_numbers": [1]})
    after = api_client.get(url)

    assert booked.status_code == 201
    assert 1 not in before.json()["booked_seats"]
    assert 1 in after.json()["booked_seats"]
    assert after["ETag"] != before["ETag"]


def test_a_write_that_commits_while_a_body_is_computed_leaves_it_unserved_with_the_count(
    redis_cache, read_cache, api_client, user, show, monkeypatch, django_capture_on_commit_callbacks
):
    # The versions are read with the count, then the seats are read, then a booking
    # commits and bumps, then the body is stored: it shows the seat free, and must never
    # be served. Read a little earlier than read_through would, the versions still come
    # before the query.
    url = cached_url("seat-map", show)
    real_seat_map = selectors.seat_map

    def seat_map_then_a_booking(**kwargs):
        seat_map = real_seat_map(**kwargs)
        with django_capture_on_commit_callbacks(execute=True):
            services.book_seats(user=user, show=show, seat_numbers=[9], now=timezone.now())
            readcache.seats_changed(show.pk, show.movie_id)  # whether or not services do
        return seat_map

    monkeypatch.setattr(selectors, "seat_map", seat_map_then_a_booking)
    before = api_client.get(url)
    monkeypatch.setattr(selectors, "seat_map", real_seat_map)

    after = api_client.get(url)

    assert 9 not in before.json()["booked_seats"]  # what the database said when read
    assert 9 in after.json()["booked_seats"]


def test_after_a_lost_bump_what_the_count_read_is_not_served(
    redis_cache, read_cache, api_client, movie
):
    api_client.get("/api/movies/")
    Movie.objects.filter(pk=movie.pk).update(title="Dune 2")
    readcache._Process.lost_bump = True  # the write's bump failed: Redis was away

    body = api_client.get("/api/movies/").json()

    assert body["results"][0]["title"] == "Dune 2"  # not the body from before
    assert not readcache._Process.lost_bump  # the global version was bumped first


def test_with_redis_down_cached_reads_come_from_the_database(
    dead_redis, read_cache, settings, api_client, show
):
    urls = [cached_url(which, show) for which in CACHED_READS]
    settings.READ_CACHE_SECONDS = 0
    expected = [api_client.get(url).content for url in urls]
    settings.READ_CACHE_SECONDS = 300

    for url, body in zip(urls, expected, strict=True):
        response = api_client.get(url)
        assert (response.status_code, response.content) == (200, body)


# --- The read cache's version bumps ---------------------------------------------------------


def test_a_bump_sets_fresh_int_tokens_that_live_a_day_in_one_round_trip(
    redis_cache, read_cache, round_trips
):
    versions = [readcache.show_scope(7), readcache.movie_scope(3)]
    readcache._bump(versions)
    first = cache.get_many(versions)

    bumped, sent = round_trips.during(readcache._bump, versions)

    assert bumped is True
    assert sent == 1
    second = cache.get_many(versions)
    assert set(second) == set(versions)
    assert all(isinstance(token, int) for token in second.values())  # stored unpickled
    assert all(second[v] != first[v] for v in versions)
    for version in versions:
        assert 0 < redis_cache.ttl(cache.make_key(version)) <= readcache.VERSION_SECONDS


def test_a_bump_that_fails_is_remembered(dead_redis, read_cache):
    assert readcache._bump([readcache.show_scope(7)]) is False
    assert readcache._Process.lost_bump


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


def test_commands_sent_together_come_back_in_order_with_error_replies_in_place(redis_cache):
    redis_cache.set("text", "value")
    redis_cache.rpush("list", "item")

    replies = redis_cache.send_together(("GET", "text"), ("GET", "list"), ("INCR", "count"))

    assert replies[0] == b"value"
    assert isinstance(replies[1], redis.exceptions.ResponseError)  # WRONGTYPE
    assert replies[2] == 1
    assert redis_cache.get("count") == b"1"  # the connection is still in step


def test_a_connection_lost_between_replies_is_dropped_not_reused(redis_cache, monkeypatch):
    redis_cache.ping()  # one connection in the pool
    pool = redis_cache.connection_pool
    (connection,) = pool._available_connections
    real_read = type(connection).read_response
    reads = []

    def lose_the_second(self, *args, **kwargs):
        reads.append(1)
        if len(reads) == 2:
            raise redis.exceptions.ConnectionError("lost")
        return real_read(self, *args, **kwargs)

    monkeypatch.setattr(type(connection), "read_response", lose_the_second)
    with pytest.raises(CacheUnavailable):
        redis_cache.send_together(("INCR", "a"), ("INCR", "b"))
    monkeypatch.undo()
    redis_cache.breaker.record_success()

    assert connection._sock is None  # disconnected: its unread reply cannot answer the next
    assert redis_cache.get("a") == b"1"  # a fresh connection, replies in step


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
