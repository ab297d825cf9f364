"""The read cache (booking.readcache): same answers, fewer queries, never a stale one.

The cache runs here on the local-memory backend with READ_CACHE_SECONDS forced on (in
production it needs Redis: see the settings). Writes run their transaction.on_commit
bumps through `committed()`, as a real commit would. Time moves by patching
`django.utils.timezone.now`, never by sleeping.

The tests of seat writes through the HTTP API (book, cancel, hold, release, confirm)
need booking.services to call readcache.seats_changed() for each of them.
"""

import json
import socket
import subprocess
import sys
import time
from datetime import timedelta
from decimal import Decimal
from unittest import mock

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache
from django.db import transaction
from django.test import Client
from django.utils import timezone

from booking import readcache, selectors, services
from booking.cache import CacheUnavailable
from booking.models import Hold, Movie, Show

from .conftest import client_for, make_movie, make_show, make_show_on_screen, make_user

pytestmark = pytest.mark.django_db

MOVIES_URL = "/api/movies/"


def movie_shows_url(movie) -> str:
    return f"/api/movies/{movie.pk}/shows/"


def seats_url(show) -> str:
    return f"/api/shows/{show.pk}/seats/"


@pytest.fixture(autouse=True)
def _causal_reads(settings):
    # On a Galera node the cache is on only with DB_WSREP_SYNC_WAIT (see the last test);
    # these tests read and write through one connection, so their reads are causal anyway.
    settings.DB_WSREP_SYNC_WAIT = 1


@pytest.fixture
def read_cache(settings):
    """The read cache on, with nothing lost from before."""
    settings.READ_CACHE_SECONDS = 300
    readcache._Process.lost_bump = False
    yield
    readcache._Process.lost_bump = False


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run a write, then its on_commit callbacks (the test's transaction never commits)."""

    def run(write, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return write(*args, **kwargs)

    return run


@pytest.fixture
def listed(movie, laid_out_show):
    """A movie with two upcoming shows (one laid out, one the old way) and a booking."""
    old_form = make_show(movie, start_time=timezone.now() + timedelta(days=2))
    services.book_seats(
        user=make_user("fan"), show=laid_out_show, seat_numbers=[5], now=timezone.now()
    )
    return {"movie": movie, "show": laid_out_show, "old_form": old_form}


def cached_urls(listed) -> list[str]:
    return [MOVIES_URL, movie_shows_url(listed["movie"]), seats_url(listed["show"])]


def headers_of(response) -> dict:
    return {name: value for name, value in response.items() if name != "X-Request-ID"}


def available(client, show) -> int:
    """The show's available_seats as its movie's shows list says."""
    body = client.get(movie_shows_url(show.movie)).json()
    [item] = [item for item in body["results"] if item["id"] == show.pk]
    return item["available_seats"]


# --- The same answers -----------------------------------------------------------------


@pytest.mark.parametrize("which", [0, 1, 2], ids=["movies", "movie-shows", "seat-map"])
def test_a_cached_read_is_the_uncached_read_byte_for_byte(api_client, listed, settings, which):
    url = cached_urls(listed)[which]
    settings.READ_CACHE_SECONDS = 0
    uncached = api_client.get(url, {"page_size": 1} if which < 2 else {})

    settings.READ_CACHE_SECONDS = 300
    stored = api_client.get(url, {"page_size": 1} if which < 2 else {})
    served = api_client.get(url, {"page_size": 1} if which < 2 else {})

    for response in (stored, served):
        assert response.status_code == uncached.status_code == 200
        assert response.content == uncached.content
        assert headers_of(response) == headers_of(uncached)  # ETag, Content-Type, Allow...


def test_a_read_asked_with_an_indent_gets_it_from_the_cache_too(api_client, listed, read_cache):
    api_client.get(MOVIES_URL)  # stored compact

    response = api_client.get(MOVIES_URL, HTTP_ACCEPT="application/json; indent=2")

    assert response.content.decode().startswith('{\n  "count": 1')
    assert json.loads(response.content) == api_client.get(MOVIES_URL).json()


# --- Query budgets --------------------------------------------------------------------


@pytest.mark.parametrize("page_size", [1, 100])
@pytest.mark.parametrize("which", [0, 1], ids=["movies", "movie-shows"])
def test_a_list_costs_one_query_on_a_miss_and_none_on_a_hit(
    api_client, listed, read_cache, django_assert_num_queries, which, page_size
):
    url = cached_urls(listed)[which]
    for n in range(3):
        make_show(make_movie(title=f"Movie {n}"))

    # 1. the page of rows, with a COUNT(*) subquery for "count" (and, for shows, their
    #    available seats, first hold expiry and the first start of the list)
    with django_assert_num_queries(1):
        miss = api_client.get(url, {"page_size": page_size})
    with django_assert_num_queries(0):  # versions and body: one cache round trip
        hit = api_client.get(url, {"page_size": page_size})

    assert hit.content == miss.content
    assert len(hit.json()["results"]) == min(page_size, 4 if which == 0 else 2)


def test_a_seat_map_costs_one_query_on_a_miss_and_none_on_a_hit_or_a_304(
    api_client, listed, read_cache, django_assert_num_queries
):
    url = seats_url(listed["show"])

    # 1. its seats JOIN the show
    with django_assert_num_queries(1):
        miss = api_client.get(url)
    with django_assert_num_queries(0):
        hit = api_client.get(url)
    with django_assert_num_queries(0):
        not_modified = api_client.get(url, headers={"If-None-Match": miss["ETag"]})

    assert hit.content == miss.content
    assert hit["ETag"] == miss["ETag"]
    assert (not_modified.status_code, not_modified.content) == (304, b"")


def test_a_signed_in_hit_costs_the_users_query_only(
    listed, user, read_cache, django_assert_num_queries
):
    client = client_for(user)
    client.get(MOVIES_URL)

    with django_assert_num_queries(1):  # the user behind the access token
        assert client.get(MOVIES_URL).status_code == 200


def test_a_list_with_a_parameter_it_does_not_know_is_not_cached(
    api_client, listed, read_cache, django_assert_num_queries
):
    api_client.get(MOVIES_URL, {"utm_source": "mail"})

    with django_assert_num_queries(1):  # each made-up parameter would be a body of its own
        api_client.get(MOVIES_URL, {"utm_source": "mail"})


def test_errors_are_not_cached(api_client, listed, read_cache, django_assert_num_queries):
    assert api_client.get(MOVIES_URL, {"page": 9}).status_code == 404

    with django_assert_num_queries(1):
        assert api_client.get(MOVIES_URL, {"page": 9}).status_code == 404


def test_pages_filters_and_hosts_are_cached_apart(api_client, listed, read_cache):
    make_movie(title="Heat", genre="Crime")

    first = api_client.get(MOVIES_URL, {"page_size": 1}).json()
    second = api_client.get(MOVIES_URL, {"page_size": 1, "page": 2}).json()
    crime = api_client.get(MOVIES_URL, {"genre": "crime"}).json()
    other_host = api_client.get(MOVIES_URL, {"page_size": 1}, HTTP_HOST="127.0.0.1").json()

    assert [m["title"] for m in first["results"] + second["results"]] == [
        "Dune: Part Two",
        "Heat",
    ]
    assert [m["title"] for m in crime["results"]] == ["Heat"]
    assert other_host["next"].startswith("http://127.0.0.1/")


def test_a_movies_shows_list_is_kept_when_another_movies_seats_change(
    api_client, listed, read_cache, committed, django_assert_num_queries
):
    other = make_show(make_movie(title="Heat"))
    api_client.get(movie_shows_url(listed["movie"]))
    api_client.get(seats_url(listed["show"]))

    committed(readcache.seats_changed, other.pk, other.movie_id)

    with django_assert_num_queries(0):
        api_client.get(movie_shows_url(listed["movie"]))
        api_client.get(seats_url(listed["show"]))


def test_a_change_of_one_shows_seats_retires_its_movies_list_but_not_its_sisters_map(
    api_client, listed, read_cache, committed, django_assert_num_queries
):
    show, sister = listed["show"], listed["old_form"]
    api_client.get(movie_shows_url(show.movie))
    api_client.get(seats_url(sister))

    committed(readcache.seats_changed, show.pk, show.movie_id)

    with django_assert_num_queries(0):
        api_client.get(seats_url(sister))
    with django_assert_num_queries(1):
        api_client.get(movie_shows_url(show.movie))


# --- Staff writes retire what they change ---------------------------------------------


def test_a_movie_edited_through_the_staff_api_is_read_at_once(
    api_client, staff_client, listed, read_cache, committed
):
    movie = listed["movie"]
    api_client.get(MOVIES_URL)
    api_client.get(movie_shows_url(movie))

    committed(staff_client.patch, f"/api/movies/{movie.pk}/", {"title": "Dune 2"}, format="json")

    assert api_client.get(MOVIES_URL).json()["results"][0]["title"] == "Dune 2"
    shows = api_client.get(movie_shows_url(movie)).json()["results"]
    assert {show["movie"]["title"] for show in shows} == {"Dune 2"}


def test_a_show_edited_through_the_staff_api_is_read_at_once(
    api_client, staff_client, listed, read_cache, committed
):
    show = listed["show"]
    api_client.get(movie_shows_url(show.movie))
    before = api_client.get(seats_url(show))

    committed(
        staff_client.patch,
        f"/api/shows/{show.pk}/",
        {"prices": {"premium": "450.00"}},
        format="json",
    )

    results = api_client.get(movie_shows_url(show.movie)).json()["results"]
    [listed_show] = [item for item in results if item["id"] == show.pk]
    assert listed_show["prices"]["premium"] == "450.00"
    after = api_client.get(seats_url(show))
    assert after.json()["categories"][1]["price"] == "450.00"
    assert after["ETag"] != before["ETag"]


def test_shows_created_and_deleted_through_the_staff_api_are_read_at_once(
    api_client, staff_client, listed, read_cache, committed
):
    movie = listed["movie"]
    assert api_client.get(movie_shows_url(movie)).json()["count"] == 2
    body = {
        "movie_id": movie.pk,
        "screen_name": "Lawn",
        "total_seats": 10,
        "start_time": (timezone.now() + timedelta(days=5)).isoformat(),
        "price": "100.00",
    }

    created = committed(staff_client.post, "/api/shows/", body, format="json").json()
    assert api_client.get(movie_shows_url(movie)).json()["count"] == 3
    api_client.get(seats_url(Show(pk=created["id"])))

    committed(staff_client.delete, f"/api/shows/{created['id']}/")
    assert api_client.get(movie_shows_url(movie)).json()["count"] == 2
    assert api_client.get(f"/api/shows/{created['id']}/seats/").status_code == 404


def test_a_movie_deleted_through_the_staff_api_leaves_the_list_at_once(
    api_client, staff_client, listed, read_cache, committed
):
    doomed = make_movie(title="Zardoz")
    assert api_client.get(MOVIES_URL).json()["count"] == 2

    committed(staff_client.delete, f"/api/movies/{doomed.pk}/")

    assert api_client.get(MOVIES_URL).json()["count"] == 1


def test_a_renamed_screen_and_cinema_are_read_at_once_in_the_shows_list(
    api_client, staff_client, listed, read_cache, committed
):
    screen = listed["show"].screen
    api_client.get(movie_shows_url(listed["movie"]))

    committed(staff_client.patch, f"/api/screens/{screen.pk}/", {"name": "IMAX"}, format="json")
    committed(
        staff_client.patch, f"/api/cinemas/{screen.cinema_id}/", {"name": "Lakeside"}, format="json"
    )

    first = api_client.get(movie_shows_url(listed["movie"])).json()["results"][0]
    assert first["screen_name"] == "IMAX"
    assert first["screen"]["name"] == "IMAX"
    assert first["screen"]["cinema"]["name"] == "Lakeside"


@pytest.fixture
def admin_web(db):
    """A browser signed in to the admin as a superuser on the staff."""
    boss = make_user("boss", is_staff=True)
    boss.is_superuser = True
    boss.save()
    client = Client()
    client.force_login(boss)
    return client


def test_a_movie_changed_and_deleted_in_the_admin_is_read_at_once(
    api_client, admin_web, listed, read_cache, committed
):
    movie = listed["movie"]
    doomed = make_movie(title="Zardoz", release_date=None)
    api_client.get(MOVIES_URL)
    form = {
        "title": "Dune: Part Three",
        "description": movie.description,
        "duration_minutes": movie.duration_minutes,
        "genre": movie.genre,
        "language": movie.language,
        "release_date": movie.release_date.isoformat(),
        "shows-TOTAL_FORMS": 0,
        "shows-INITIAL_FORMS": 0,
        "_save": "Save",
    }

    changed = committed(admin_web.post, f"/admin/booking/movie/{movie.pk}/change/", form)
    assert changed.status_code == 302
    assert [m["title"] for m in api_client.get(MOVIES_URL).json()["results"]] == [
        "Dune: Part Three",
        "Zardoz",
    ]

    deleted = committed(
        admin_web.post, f"/admin/booking/movie/{doomed.pk}/delete/", {"post": "yes"}
    )
    assert deleted.status_code == 302
    assert api_client.get(MOVIES_URL).json()["count"] == 1


def test_deleting_a_hold_or_a_booking_retires_the_cached_reads(
    api_client, user, listed, read_cache, committed, django_assert_num_queries
):
    show = listed["show"]
    hold = services.hold_seats(user=user, show=show, seat_numbers=[7], now=timezone.now())
    booking = services.book_seats(user=user, show=show, seat_numbers=[8], now=timezone.now())
    services.cancel_booking(booking=booking, now=timezone.now())

    for doomed in (Hold.objects.get(pk=hold.pk), booking):
        api_client.get(seats_url(show))
        committed(doomed.delete)
        with django_assert_num_queries(1):
            api_client.get(seats_url(show))


def test_a_write_that_rolls_back_retires_nothing(
    api_client, listed, read_cache, django_capture_on_commit_callbacks, django_assert_num_queries
):
    api_client.get(MOVIES_URL)

    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        Movie.objects.filter(pk=listed["movie"].pk).update(title="Never")
        readcache.catalogue_changed()
        raise RuntimeError("rolled back")

    assert callbacks == []
    with django_assert_num_queries(0):
        assert api_client.get(MOVIES_URL).json()["results"][0]["title"] == "Dune: Part Two"


# --- Seat writes through the HTTP API (booking.services bump seats_changed) -----------


@pytest.fixture
def warm(api_client, listed, read_cache):
    """Cache the laid-out show's seat map and its movie's list; return their ETag and count."""
    show = listed["show"]
    return {
        "etag": api_client.get(seats_url(show))["ETag"],
        "available": available(api_client, show),
    }


def seat_statuses(client, show) -> dict[int, str]:
    body = client.get(seats_url(show)).json()
    return {seat["number"]: seat["status"] for row in body["rows"] for seat in row["seats"]}


def test_a_booking_is_read_at_once(api_client, auth_client, listed, warm, committed):
    show = listed["show"]

    response = committed(auth_client.post, f"/api/shows/{show.pk}/book/", {"seat_numbers": [1, 2]})

    assert response.status_code == 201
    assert seat_statuses(api_client, show)[1] == "booked"
    assert api_client.get(seats_url(show))["ETag"] != warm["etag"]
    assert available(api_client, show) == warm["available"] - 2


def test_a_cancel_is_read_at_once(api_client, auth_client, listed, read_cache, committed):
    show = listed["show"]
    booking = committed(auth_client.post, f"/api/shows/{show.pk}/book/", {"seat_numbers": [1]})
    booked = available(api_client, show)
    assert seat_statuses(api_client, show)[1] == "booked"

    response = committed(auth_client.post, f"/api/bookings/{booking.json()['id']}/cancel/")

    assert response.status_code == 200
    assert seat_statuses(api_client, show)[1] == "available"
    assert available(api_client, show) == booked + 1


def test_a_hold_is_read_at_once(api_client, auth_client, listed, warm, committed):
    show = listed["show"]

    response = committed(auth_client.post, f"/api/shows/{show.pk}/holds/", {"seat_numbers": [3]})

    assert response.status_code == 201
    assert seat_statuses(api_client, show)[3] == "held"
    assert available(api_client, show) == warm["available"] - 1


def test_a_release_is_read_at_once(api_client, auth_client, listed, read_cache, committed):
    show = listed["show"]
    hold = committed(auth_client.post, f"/api/shows/{show.pk}/holds/", {"seat_numbers": [3]})
    held = available(api_client, show)
    assert seat_statuses(api_client, show)[3] == "held"

    response = committed(auth_client.delete, f"/api/holds/{hold.json()['id']}/")

    assert response.status_code == 204
    assert seat_statuses(api_client, show)[3] == "available"
    assert available(api_client, show) == held + 1


def test_a_confirmation_is_read_at_once(api_client, auth_client, listed, read_cache, committed):
    show = listed["show"]
    hold = committed(auth_client.post, f"/api/shows/{show.pk}/holds/", {"seat_numbers": [3]})
    etag = api_client.get(seats_url(show))["ETag"]

    response = committed(auth_client.post, f"/api/holds/{hold.json()['id']}/confirm/")

    assert response.status_code == 201
    assert seat_statuses(api_client, show)[3] == "booked"
    assert api_client.get(seats_url(show))["ETag"] != etag


# --- The clock ------------------------------------------------------------------------


def at(moment):
    return mock.patch("django.utils.timezone.now", return_value=moment)


def test_a_cached_seat_map_frees_a_held_seat_the_moment_its_hold_expires(
    api_client, user, listed, read_cache, django_assert_num_queries
):
    show = listed["show"]
    hold = services.hold_seats(user=user, show=show, seat_numbers=[4], now=timezone.now())
    held = api_client.get(seats_url(show))

    with at(hold.expires_at - timedelta(microseconds=1)), django_assert_num_queries(0):
        still = api_client.get(seats_url(show), headers={"If-None-Match": held["ETag"]})
    with at(hold.expires_at), django_assert_num_queries(1):
        expired = api_client.get(seats_url(show), headers={"If-None-Match": held["ETag"]})

    assert held.json()["held_seats"] == [4]
    assert still.status_code == 304
    assert expired.status_code == 200  # no write happened: the clock retired it
    assert expired["ETag"] != held["ETag"]
    assert expired.json()["held_seats"] == []
    assert 4 in expired.json()["available_seats"]


def test_a_cached_shows_list_counts_a_held_seat_again_the_moment_its_hold_expires(
    api_client, user, listed, read_cache, django_assert_num_queries
):
    show = listed["show"]
    hold = services.hold_seats(user=user, show=show, seat_numbers=[4, 6], now=timezone.now())
    before = available(api_client, show)

    with at(hold.expires_at - timedelta(microseconds=1)), django_assert_num_queries(0):
        assert available(api_client, show) == before
    with at(hold.expires_at):
        assert available(api_client, show) == before + 2


def test_a_show_leaves_the_cached_list_the_moment_it_starts(
    api_client, listed, read_cache, django_assert_num_queries
):
    first = listed["show"]
    url = movie_shows_url(first.movie)
    assert api_client.get(url, {"page_size": 1}).json()["count"] == 2

    with at(first.start_time - timedelta(microseconds=1)), django_assert_num_queries(0):
        assert api_client.get(url, {"page_size": 1}).json()["results"][0]["id"] == first.pk
    with at(first.start_time):
        page = api_client.get(url, {"page_size": 1}).json()

    assert page["count"] == 1
    assert page["results"][0]["id"] == listed["old_form"].pk


def test_a_cached_body_lives_no_longer_than_its_validity(api_client, user, listed, read_cache):
    show = listed["show"]
    services.hold_seats(user=user, show=show, seat_numbers=[4], now=timezone.now())
    with mock.patch.object(cache, "set", wraps=cache.set) as stored:
        api_client.get(seats_url(show))

    [timeout] = [
        call.kwargs["timeout"]
        for call in stored.call_args_list
        if call.args[0] == readcache.seat_map_key(show.pk)
    ]
    assert 0 < timeout <= django_settings.SEAT_HOLD_MINUTES * 60  # not READ_CACHE_SECONDS


# --- Versions and races ---------------------------------------------------------------


def test_a_write_that_commits_while_a_body_is_computed_leaves_that_body_unserved(
    api_client, user, listed, read_cache, committed, monkeypatch
):
    # The seats are read, then a booking commits and bumps, then the body is stored: it
    # shows the seat free, and must never be served. Had the versions been read after
    # the query, it would carry the new version and be served until the next write.
    show = listed["show"]
    real_seat_map = selectors.seat_map

    def seat_map_then_a_booking(**kwargs):
        seat_map = real_seat_map(**kwargs)
        committed(services.book_seats, user=user, show=show, seat_numbers=[9], now=timezone.now())
        committed(readcache.seats_changed, show.pk, show.movie_id)  # whether or not services do
        return seat_map

    monkeypatch.setattr(selectors, "seat_map", seat_map_then_a_booking)
    before = api_client.get(seats_url(show))
    monkeypatch.setattr(selectors, "seat_map", real_seat_map)

    after = api_client.get(seats_url(show))

    assert 9 not in before.json()["booked_seats"]  # what the database said when read
    assert 9 in after.json()["booked_seats"]
    assert after["ETag"] != before["ETag"]


def test_a_version_lost_from_the_cache_starts_afresh_and_never_matches_an_old_body(
    api_client, listed, read_cache, django_assert_num_queries
):
    api_client.get(MOVIES_URL)
    cache.delete(readcache.GLOBAL_VERSION)  # evicted, or Redis restarted

    with django_assert_num_queries(1):
        api_client.get(MOVIES_URL)
    with django_assert_num_queries(0):
        api_client.get(MOVIES_URL)


def test_a_bump_sets_a_version_it_never_had(listed, read_cache, committed):
    seen = set()
    for _ in range(20):
        committed(readcache.catalogue_changed)
        seen.add(cache.get(readcache.GLOBAL_VERSION))

    assert len(seen) == 20


def test_with_the_cache_off_nothing_is_cached_nor_bumped(
    api_client, listed, settings, committed, django_assert_num_queries
):
    settings.READ_CACHE_SECONDS = 0
    committed(readcache.catalogue_changed)

    for _ in range(2):
        with django_assert_num_queries(1):
            api_client.get(MOVIES_URL)
    assert cache.get(readcache.GLOBAL_VERSION) is None


# --- Redis down -----------------------------------------------------------------------


def refuse(*args, **kwargs):
    raise CacheUnavailable("Redis skipped for 4.2s")


def test_with_redis_down_reads_come_from_the_database(
    api_client, listed, read_cache, monkeypatch, django_assert_num_queries
):
    expected = [api_client.get(url).content for url in cached_urls(listed)]
    for method in ("get_many", "set", "add", "set_many"):
        monkeypatch.setattr(cache, method, refuse)

    for url, body in zip(cached_urls(listed), expected, strict=True):
        with django_assert_num_queries(1):
            response = api_client.get(url)
        assert (response.status_code, response.content) == (200, body)


def test_a_redis_error_of_another_kind_is_no_500_either(
    api_client, listed, read_cache, monkeypatch
):
    redis = pytest.importorskip("redis")

    def out_of_memory(*args, **kwargs):
        raise redis.exceptions.ResponseError("OOM command not allowed")

    monkeypatch.setattr(cache, "set", out_of_memory)
    assert api_client.get(MOVIES_URL).status_code == 200
    monkeypatch.setattr(cache, "get_many", out_of_memory)
    assert api_client.get(MOVIES_URL).status_code == 200


def test_a_lost_bump_retires_every_body_at_the_next_contact(
    api_client, staff_client, listed, read_cache, committed, monkeypatch
):
    movie = listed["movie"]
    api_client.get(MOVIES_URL)
    monkeypatch.setattr(cache, "set_many", refuse)  # Redis down while the write commits

    committed(staff_client.patch, f"/api/movies/{movie.pk}/", {"title": "Dune 2"}, format="json")
    assert readcache._Process.lost_bump
    assert api_client.get(MOVIES_URL).json()["results"][0]["title"] == "Dune 2"  # not cached

    monkeypatch.undo()  # Redis is back: the next read bumps the global version first
    assert api_client.get(MOVIES_URL).json()["results"][0]["title"] == "Dune 2"
    assert not readcache._Process.lost_bump


@pytest.fixture
def frozen_redis(settings):
    """A Redis that accepts connections and never answers, behind booking.cache's breaker."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(128)
        port = listener.getsockname()[1]
        original, settings.CACHES = (
            settings.CACHES,
            {
                "default": {
                    "BACKEND": "booking.cache.RedisCache",
                    "LOCATION": f"redis://127.0.0.1:{port}/0",
                    "OPTIONS": {
                        "socket_connect_timeout": 0.25,
                        "socket_timeout": 0.25,
                        "breaker_seconds": 5,
                    },
                }
            },
        )
        yield
        settings.CACHES = original  # before conftest clears the cache


def test_a_frozen_redis_costs_one_timeout_then_reads_go_to_the_database(
    api_client, listed, read_cache, frozen_redis
):
    started = time.monotonic()
    answers = [api_client.get(url).status_code for url in cached_urls(listed) * 4]
    elapsed = time.monotonic() - started

    assert answers == [200] * 12
    # One 0.25 s timeout opens the breaker; from then on the cache is not even called.
    assert elapsed < 2


# --- Configuration --------------------------------------------------------------------


def import_settings_with(**env) -> subprocess.CompletedProcess:
    """Import the settings module in a fresh interpreter with these variables set."""
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import movie_booking.settings as s; print(s.READ_CACHE_SECONDS)",
        ],
        cwd=django_settings.BASE_DIR,
        env={"PATH": "/usr/bin:/bin", "DEBUG": "True", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_read_cache_is_on_with_redis_and_off_without():
    assert import_settings_with(REDIS_URL="redis://127.0.0.1:6379/0").stdout.strip() == "300"
    assert import_settings_with(REDIS_URL="").stdout.strip() == "0"


def test_a_read_cache_without_redis_stops_the_service_at_start_up():
    result = import_settings_with(REDIS_URL="", READ_CACHE_SECONDS="60")

    assert result.returncode != 0
    assert "READ_CACHE_SECONDS=60 needs REDIS_URL" in result.stderr


def test_prices_in_the_cache_are_the_prices_of_the_show(api_client, movie, screen, read_cache):
    show = make_show_on_screen(movie, screen, price=Decimal("12.50"))

    first = api_client.get(movie_shows_url(movie)).json()["results"][0]
    cached = api_client.get(movie_shows_url(movie)).json()["results"][0]

    assert first == cached
    assert first["prices"] == {"standard": "12.50", "premium": "12.50"}
    assert first["id"] == show.pk


def test_on_a_galera_node_without_causal_reads_nothing_is_cached(
    api_client, listed, settings, monkeypatch, django_assert_num_queries
):
    settings.READ_CACHE_SECONDS = 300
    settings.DB_WSREP_SYNC_WAIT = 0
    monkeypatch.setattr("booking.services.transactions.on_galera", lambda: True)
    url = cached_urls(listed)[0]

    api_client.get(url)
    with django_assert_num_queries(1):  # from the database again: nothing was stored
        assert api_client.get(url).status_code == 200
    assert not readcache.enabled()
