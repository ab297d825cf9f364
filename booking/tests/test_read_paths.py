"""The hot public reads step around DRF's serializers and paginator: prove they say the same.

GET /api/movies/, /api/shows/ and /api/movies/{id}/shows/ render `.values()` rows through
the output serializers' row forms and read a page with its count in one query
(booking.pagination.paginate_rows). For a varied catalogue, every row form renders what
its serializer renders, byte for byte, and every page is the page DRF's own paginator and
serializer give for the same request, errors included. The seat map, built from plain
values since it exists, is checked against SeatMapOutput the same way.
"""

from datetime import timedelta
from decimal import Decimal
from unittest import mock

import pytest
from django.utils import timezone
from rest_framework.exceptions import NotFound
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from booking import selectors, services
from booking.filters import MovieFilter, ShowDateFilter
from booking.layouts import Row
from booking.models import Movie
from booking.pagination import PageNumberPagination
from booking.serializers import MovieOutput, SeatMapOutput, ShowOutput
from booking.serializers.catalogue import MOVIE_COLUMNS, SHOW_COLUMNS, render_movie, render_show
from booking.views import MovieShowsView, MovieViewSet, ShowViewSet

from .conftest import (
    make_cinema,
    make_movie,
    make_screen,
    make_show,
    make_show_on_screen,
    make_user,
)

pytestmark = pytest.mark.django_db

RENDER = JSONRenderer().render


def in_days(days: float):
    return timezone.now() + timedelta(days=days)


@pytest.fixture
def catalogue():
    """Movies and shows that exercise every format: unicode, nulls, prices, holds."""
    now = timezone.now()
    amelie = make_movie(title="Le Fabuleux Destin d'Amélie Poulain", genre="Comédie")
    make_movie(title="千と千尋の神隠し", description="", genre="", language="日本語")
    make_movie(title="Line\u2028separator 🎬", release_date=None, duration_minutes=1)
    make_movie(title="A" * 200, description="d" * 5000, duration_minutes=1000)
    make_movie(title="Zorba", genre="drama", language="Greek")

    cinema = make_cinema("Kino Öst", city="Zürich", address="")
    rows = [
        Row(label="A", seats=6, aisles_after=(3,), wheelchair=(1,)),
        Row(label="B", seats=4, category="premium"),
        Row(label="C", seats=4, category="recliner"),
    ]
    screen = make_screen(cinema, name="Salle 1 — grande", rows=rows)
    priced = make_show_on_screen(
        amelie,
        screen,
        start_time=now + timedelta(days=1, microseconds=123456),
        price=Decimal("250.00"),
        prices={"premium": Decimal("400.00")},  # recliner: no price of its own
    )
    free = make_show(amelie, start_time=now + timedelta(days=2), price=Decimal("0.00"))
    dear = make_show(
        amelie,
        screen_name="Open-air lawn ☀",
        total_seats=7,
        start_time=now + timedelta(days=3),
        price=Decimal("99999.99"),
    )
    make_show(amelie, start_time=now - timedelta(hours=1))  # started: in no list
    make_show(make_movie(title="Heat"), start_time=now + timedelta(days=4))

    fan, holder, late = make_user("fan"), make_user("holder"), make_user("late")
    services.book_seats(user=fan, show=priced, seat_numbers=[2, 8], now=now)
    services.hold_seats(user=holder, show=priced, seat_numbers=[3, 9], now=now)
    old = now - timedelta(minutes=60)
    services.hold_seats(user=late, show=priced, seat_numbers=[11], now=old)  # expired
    services.book_seats(user=fan, show=dear, seat_numbers=[7], now=now)
    services.hold_seats(user=holder, show=free, seat_numbers=[1, 2], now=now)
    return {"movie": amelie, "priced": priced, "free": free, "dear": dear}


# --- Row forms ------------------------------------------------------------------------


def test_every_movie_renders_as_movie_output_renders_it(catalogue):
    movies = selectors.movies()
    rows = {row["id"]: row for row in movies.values(*MOVIE_COLUMNS)}

    assert len(rows) == 6
    for movie in movies:
        assert RENDER(render_movie(rows[movie.pk])) == RENDER(MovieOutput(movie).data)


def test_every_upcoming_show_renders_as_show_output_renders_it(catalogue):
    now = timezone.now()
    rows = {row["id"]: row for row in selectors.upcoming_show_rows(now=now).values(*SHOW_COLUMNS)}

    assert len(rows) == 4
    for show in selectors.upcoming_shows(now=now):
        assert RENDER(render_show(rows[show.pk])) == RENDER(ShowOutput(show).data)


def test_every_seat_map_renders_as_seat_map_output_renders_it(catalogue):
    now = timezone.now()
    for show in selectors.shows(now=now):
        seat_map = selectors.seat_map(show_id=show.pk, now=now)

        assert RENDER(seat_map.body) == RENDER(SeatMapOutput(seat_map.body).data)


def test_the_seat_map_shows_booked_held_and_expired_seats_and_expires_with_the_first_hold(
    catalogue,
):
    show = catalogue["priced"]
    now = timezone.now()

    seat_map = selectors.seat_map(show_id=show.pk, now=now)

    body = seat_map.body
    assert (body["booked_seats"], body["held_seats"]) == ([2, 8], [3, 9])
    assert 11 in body["available_seats"]  # its hold expired: free, swept or not
    assert body["categories"] == [
        {"name": "standard", "price": "250.00", "available": 4},
        {"name": "premium", "price": "400.00", "available": 2},
        {"name": "recliner", "price": "250.00", "available": 4},
    ]
    assert seat_map.valid_until == show.seats.get(number=3).held_until


def test_the_seat_map_of_an_unknown_show_is_none(catalogue):
    assert selectors.seat_map(show_id=catalogue["dear"].pk + 1000, now=timezone.now()) is None


# --- Whole pages, as DRF's paginator and serializers give them ------------------------


def classic_answer(view_class, url, params, **kwargs) -> tuple[int, bytes]:
    """Return the status and body DRF's own paginator and serializer give."""
    try:
        return 200, classic_page(view_class, url, params, **kwargs)
    except NotFound as exc:
        return 404, RENDER({"code": "not_found", "detail": str(exc.detail)})


def classic_page(view_class, url, params, **kwargs) -> bytes:
    """Render the page as DRF's ListModelMixin would: paginate_queryset + serializer."""
    request = Request(APIRequestFactory().get(url, params))
    view = view_class(request=request, kwargs=kwargs, format_kwarg=None, action="list")
    if view_class is MovieShowsView:
        queryset = selectors.upcoming_shows(now=timezone.now()).filter(movie_id=kwargs["pk"])
    else:
        queryset = view.get_queryset()
    paginator = PageNumberPagination()
    page = paginator.paginate_queryset(view.filter_queryset(queryset), request, view)
    data = view.get_serializer_class()(page, many=True).data
    return RENDER(paginator.get_paginated_response(data).data)


PAGES = [
    {},
    {"page_size": 1},
    {"page_size": 100},
    {"page_size": 2, "page": 2},
    {"page_size": 2, "page": "last"},
    {"page_size": 1000},  # capped at 100
    {"page_size": 0},  # the default
    {"page_size": "abc"},  # the default
    {"page": " 2", "page_size": "2"},  # int() reads it, as Django's paginator does
    {"unknown": "x", "page_size": 2},  # echoed in next
]


@pytest.mark.parametrize("params", PAGES)
@pytest.mark.parametrize(
    "extra",
    [{}, {"ordering": "-title"}, {"search": "é"}, {"genre": "DRAMA"}, {"ordering": "bogus"}],
)
def test_a_movie_page_is_the_page_drf_gives(api_client, catalogue, params, extra):
    params = {**params, **extra}

    response = api_client.get("/api/movies/", params)

    answer = classic_answer(MovieViewSet, "/api/movies/", params)
    assert (response.status_code, response.content) == answer


@pytest.mark.parametrize("params", PAGES)
@pytest.mark.parametrize("extra", [{}, {"ordering": "-price"}, {"city": "zürich"}])
def test_a_show_page_is_the_page_drf_gives(api_client, catalogue, params, extra):
    params = {**params, **extra}

    response = api_client.get("/api/shows/", params)

    answer = classic_answer(ShowViewSet, "/api/shows/", params)
    assert (response.status_code, response.content) == answer


@pytest.mark.parametrize("params", PAGES)
@pytest.mark.parametrize("extra", [{}, {"ordering": "-price"}])
def test_a_page_of_a_movies_shows_is_the_page_drf_gives(api_client, catalogue, params, extra):
    params = {**params, **extra}
    movie = catalogue["movie"]
    url = f"/api/movies/{movie.pk}/shows/"

    response = api_client.get(url, params)

    answer = classic_answer(MovieShowsView, url, params, pk=movie.pk)
    assert (response.status_code, response.content) == answer


@pytest.mark.parametrize("page", ["0", "-1", "abc", "1.0", "4", "9" * 30, "last1"])
@pytest.mark.parametrize(
    "url",
    ["/api/movies/", "/api/shows/", "/api/movies/{movie}/shows/"],
    ids=["movies", "shows", "movie-shows"],
)
def test_a_page_drf_refuses_is_the_same_404(api_client, catalogue, url, page):
    url = url.format(movie=catalogue["movie"].pk)
    view_class = {"/api/movies/": MovieViewSet, "/api/shows/": ShowViewSet}.get(url, MovieShowsView)
    params = {"page": page, "page_size": 2}

    response = api_client.get(url, params)

    assert response.status_code == 404
    with pytest.raises(NotFound) as refused:
        classic_page(view_class, url, params, pk=catalogue["movie"].pk)
    assert response.json() == {"code": "not_found", "detail": str(refused.value.detail)}


def test_an_empty_list_is_a_first_page_with_a_count_of_0(api_client, db):
    response = api_client.get("/api/movies/")

    assert response.json() == {"count": 0, "next": None, "previous": None, "results": []}
    assert api_client.get("/api/movies/", {"page": 2}).status_code == 404


def test_an_unknown_movie_is_404_before_its_page_or_its_filters_are_looked_at(
    api_client, catalogue
):
    url = f"/api/movies/{catalogue['movie'].pk + 1000}/shows/"

    for params in ({}, {"page": 2}, {"page": "abc"}, {"date": "yesterday"}):
        response = api_client.get(url, params)

        assert response.status_code == 404, params
        assert response.json() == {"code": "not_found", "detail": "Not found."}


def test_a_movie_without_upcoming_shows_is_an_empty_page_not_a_404(api_client, catalogue):
    lonely = make_movie(title="Lonely")

    response = api_client.get(f"/api/movies/{lonely.pk}/shows/")

    assert response.json()["count"] == 0


# --- What a page of shows says about when it goes stale --------------------------------


def test_a_show_page_expires_when_its_first_hold_does_or_the_first_show_starts(catalogue):
    now = timezone.now()
    shows = selectors.upcoming_show_rows(now=now).filter(movie=catalogue["movie"])
    expiry = selectors.show_page_expiry(shows, now=now)
    priced, free = catalogue["priced"], catalogue["free"]
    first_hold = min(priced.seats.get(number=3).held_until, free.seats.get(number=1).held_until)

    first_page = list(shows.values("id", **expiry)[:1])
    last_page = list(shows.values("id", **expiry)[2:3])

    assert selectors.show_page_valid_until(first_page) == min(priced.start_time, first_hold)
    # The third show has no hold, but the first one's start shifts every page.
    assert last_page[0]["next_hold_expiry"] is None
    assert selectors.show_page_valid_until(last_page) == priced.start_time
    assert selectors.show_page_valid_until([]) is None


# --- Filter backends ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "filterset", "params"),
    [
        ("/api/movies/", MovieFilter, {"genre": "drama"}),
        ("/api/movies/{movie}/shows/", ShowDateFilter, {"date": "2031-01-01"}),
    ],
)
def test_a_filterset_is_built_only_for_a_request_that_names_a_filter(
    api_client, catalogue, url, filterset, params
):
    url = url.format(movie=catalogue["movie"].pk)
    with mock.patch.object(filterset, "__init__", side_effect=AssertionError("built")):
        assert api_client.get(url, {"page_size": 5, "ordering": "-id"}).status_code == 200

    with mock.patch.object(filterset, "is_valid", return_value=True) as checked:
        api_client.get(url, params)
    assert checked.called


def test_rows_are_read_only_for_the_requested_page(api_client, catalogue):
    Movie.objects.bulk_create(Movie(title=f"Bulk {n:03d}", duration_minutes=90) for n in range(150))

    body = api_client.get("/api/movies/", {"page_size": 100, "page": 2}).json()

    assert body["count"] == 156
    assert len(body["results"]) == 56
    assert body["next"] is None
    assert body["previous"] == "http://testserver/api/movies/?page_size=100"
