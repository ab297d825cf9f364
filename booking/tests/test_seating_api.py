"""Shows on a screen over HTTP: creating them, booking by label, the seat map, scheduling."""

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from booking import services
from booking.layouts import Row
from booking.models import Booking, Seat, Show

from .conftest import (
    make_cinema,
    make_movie,
    make_screen,
    make_show,
    make_show_on_screen,
    make_user,
)

pytestmark = pytest.mark.django_db

SHOWS_URL = "/api/shows/"
LATER = "2031-12-01T18:30:00Z"  # far enough ahead for every test's shows to be upcoming

# The contract's example layout as the seat map shows it, every seat available.
EXAMPLE_COLUMNS_ROW_A = [1, 2, 3, 5, 6, 7, 8, 9, 10, 12, 13, 14]


def show_url(show_or_id) -> str:
    return f"/api/shows/{getattr(show_or_id, 'pk', show_or_id)}/"


def seats_url(show_or_id) -> str:
    return f"/api/shows/{getattr(show_or_id, 'pk', show_or_id)}/seats/"


def book_url(show_or_id) -> str:
    return f"/api/shows/{getattr(show_or_id, 'pk', show_or_id)}/book/"


def cancel_url(booking_id) -> str:
    return f"/api/bookings/{booking_id}/cancel/"


def post_book(client, show, body):
    return client.post(book_url(show), body, format="json")


def book_directly(user, show, seats):
    """Book through the service, without HTTP (and without the booking throttle)."""
    return services.book_seats(user=user, show=show, seat_numbers=seats, now=timezone.now())


def cancel_directly(booking):
    return services.cancel_booking(booking=booking, now=timezone.now())


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def screen_show_body(movie, screen, **overrides) -> dict:
    body = {
        "movie_id": movie.pk,
        "screen_id": screen.pk,
        "start_time": LATER,
        "price": "250.00",
        "prices": {"premium": "400.00"},
    }
    body.update(overrides)
    return body


def old_show_body(movie, **overrides) -> dict:
    body = {
        "movie_id": movie.pk,
        "screen_name": "Hall 7",
        "start_time": LATER,
        "total_seats": 40,
        "price": "180.00",
    }
    body.update(overrides)
    return body


def shows_snapshot() -> list[tuple]:
    return list(
        Show.objects.order_by("pk").values_list(
            "pk", "movie_id", "screen_id", "screen_name", "start_time", "total_seats", "price"
        )
    )


def seat_layout(show) -> list[tuple]:
    return list(
        Seat.objects.filter(show=show)
        .order_by("number")
        .values_list("number", "label", "row", "row_label", "column", "category", "wheelchair")
    )


def booked_numbers(show) -> list[int]:
    return list(
        Seat.objects.filter(show=show, booking__isnull=False)
        .order_by("number")
        .values_list("number", flat=True)
    )


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["results"]]


def seat(number, label, column, category="standard", wheelchair=False, status="available"):
    return {
        "number": number,
        "label": label,
        "column": column,
        "category": category,
        "wheelchair": wheelchair,
        "status": status,
    }


def example_rows(booked=()) -> list[dict]:
    """The seat map's rows for the contract's example layout."""

    def status(number):
        return "booked" if number in booked else "available"

    row_a = [
        seat(n, f"A{n}", column, wheelchair=n in (1, 12), status=status(n))
        for n, column in zip(range(1, 13), EXAMPLE_COLUMNS_ROW_A, strict=True)
    ]
    row_j = [
        seat(12 + n, f"J{n}", n, category="premium", status=status(12 + n)) for n in range(1, 11)
    ]
    return [{"label": "A", "seats": row_a}, {"label": "J", "seats": row_j}]


# --- Creating a show on a screen ------------------------------------------------------------


def test_staff_create_a_show_from_a_screen(staff_client, movie, screen, cinema):
    response = staff_client.post(SHOWS_URL, screen_show_body(movie, screen), format="json")

    assert response.status_code == 201, response.content
    show = Show.objects.get()
    assert response.json() == {
        "id": show.pk,
        "movie": {"id": movie.pk, "title": "Dune: Part Two"},
        "screen_name": "Screen 1",
        "screen": {
            "id": screen.pk,
            "name": "Screen 1",
            "cinema": {"id": cinema.pk, "name": "Riverside", "city": "Pune"},
        },
        "start_time": LATER,
        "total_seats": 22,
        "available_seats": 22,
        "price": "250.00",
        "prices": {"standard": "250.00", "premium": "400.00"},
    }
    assert seat_layout(show)[3] == (4, "A4", 0, "A", 5, "standard", False)
    assert seat_layout(show)[-1] == (22, "J10", 1, "J", 10, "premium", False)
    assert Seat.objects.filter(show=show).count() == 22


def test_a_category_given_no_price_costs_the_base_price(staff_client, movie, screen):
    body = screen_show_body(movie, screen, price="199.50")
    del body["prices"]

    response = staff_client.post(SHOWS_URL, body, format="json")

    assert response.status_code == 201
    assert response.json()["prices"] == {"standard": "199.50", "premium": "199.50"}


def test_every_category_may_be_priced(staff_client, movie, screen):
    body = screen_show_body(movie, screen, prices={"standard": "0.00", "premium": "100000.00"})

    response = staff_client.post(SHOWS_URL, body, format="json")

    assert response.status_code == 201
    assert response.json()["price"] == "250.00"
    assert response.json()["prices"] == {"standard": "0.00", "premium": "100000.00"}


@pytest.mark.parametrize(
    "prices",
    [
        {"vip": "500.00"},
        {"premium": "400.00", "vip": "500.00"},
        {"Premium": "400.00"},
        {"": "1.00"},
    ],
)
def test_prices_naming_a_category_the_screen_lacks_is_400_on_prices(
    staff_client, movie, screen, prices
):
    response = staff_client.post(
        SHOWS_URL, screen_show_body(movie, screen, prices=prices), format="json"
    )

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert set(response.json()["errors"]) == {"prices"}
    assert not Show.objects.exists()
    assert not Seat.objects.exists()


@pytest.mark.parametrize("price", ["-0.01", "100000.01", "abc", None, "1.001", True, [], {"a": 1}])
def test_a_category_price_out_of_bounds_is_400_on_prices(staff_client, movie, screen, price):
    body = screen_show_body(movie, screen, prices={"premium": price})

    response = staff_client.post(SHOWS_URL, body, format="json")

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"prices"}
    assert not Show.objects.exists()


@pytest.mark.parametrize("prices", [[], "premium", 400])
def test_prices_that_are_not_an_object_are_400_on_prices(staff_client, movie, screen, prices):
    response = staff_client.post(
        SHOWS_URL, screen_show_body(movie, screen, prices=prices), format="json"
    )

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"prices"}


def test_sending_total_seats_with_screen_id_is_400_on_total_seats(staff_client, movie, screen):
    body = screen_show_body(movie, screen, total_seats=22)

    response = staff_client.post(SHOWS_URL, body, format="json")

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"total_seats"}
    assert not Show.objects.exists()


def test_the_screen_name_comes_from_the_screen_not_the_body(staff_client, movie, screen):
    body = screen_show_body(movie, screen, screen_name="Somewhere else")

    response = staff_client.post(SHOWS_URL, body, format="json")

    assert response.status_code == 201
    assert response.json()["screen_name"] == "Screen 1"
    assert Show.objects.get().screen_name == "Screen 1"


@pytest.mark.parametrize("screen_id", ["UNKNOWN", "abc", None, [1], 2**64])
def test_an_unknown_or_malformed_screen_id_is_400_on_screen_id(
    staff_client, movie, screen, screen_id
):
    if screen_id == "UNKNOWN":
        screen_id = screen.pk + 1000

    response = staff_client.post(
        SHOWS_URL, screen_show_body(movie, screen, screen_id=screen_id), format="json"
    )

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"screen_id"}
    assert not Show.objects.exists()


def test_the_old_form_still_makes_a_show_without_a_screen(staff_client, movie):
    response = staff_client.post(SHOWS_URL, old_show_body(movie), format="json")

    assert response.status_code == 201, response.content
    show = Show.objects.get()
    assert response.json() == {
        "id": show.pk,
        "movie": {"id": movie.pk, "title": "Dune: Part Two"},
        "screen_name": "Hall 7",
        "screen": None,
        "start_time": LATER,
        "total_seats": 40,
        "available_seats": 40,
        "price": "180.00",
        "prices": {"standard": "180.00"},
    }
    assert seat_layout(show)[0] == (1, "1", 0, "", 1, "standard", False)
    assert seat_layout(show)[-1] == (40, "40", 0, "", 40, "standard", False)


def test_the_old_form_may_price_its_one_category(staff_client, movie):
    body = old_show_body(movie, prices={"standard": "200.00"})

    response = staff_client.post(SHOWS_URL, body, format="json")

    assert response.status_code == 201
    assert response.json()["prices"] == {"standard": "200.00"}


def test_the_old_form_has_no_premium_category(staff_client, movie):
    body = old_show_body(movie, prices={"premium": "400.00"})

    response = staff_client.post(SHOWS_URL, body, format="json")

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"prices"}
    assert not Show.objects.exists()


def test_a_show_needs_a_screen_id_or_a_screen_name_and_total_seats(staff_client, movie):
    body = {"movie_id": movie.pk, "start_time": LATER, "price": "180.00"}

    response = staff_client.post(SHOWS_URL, body, format="json")

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"screen_name", "total_seats"}


def test_a_show_on_a_screen_reads_the_same_in_the_list_and_in_detail(
    api_client, laid_out_show, screen, cinema
):
    detail = api_client.get(show_url(laid_out_show))
    listed = api_client.get(SHOWS_URL)
    of_movie = api_client.get(f"/api/movies/{laid_out_show.movie_id}/shows/")

    assert detail.status_code == 200
    assert detail.json()["screen"] == {
        "id": screen.pk,
        "name": "Screen 1",
        "cinema": {"id": cinema.pk, "name": "Riverside", "city": "Pune"},
    }
    assert detail.json()["prices"] == {"standard": "250.00", "premium": "400.00"}
    assert listed.json()["results"] == [detail.json()]
    assert of_movie.json()["results"] == [detail.json()]


def test_a_shows_available_seats_counts_every_category(auth_client, api_client, laid_out_show):
    post_book(auth_client, laid_out_show, {"seats": ["A4", "J10"]})

    response = api_client.get(show_url(laid_out_show))

    assert response.json()["available_seats"] == 20


# --- Booking by label -----------------------------------------------------------------------


def test_booking_by_labels_charges_each_seat_its_categorys_price(auth_client, laid_out_show, user):
    response = post_book(auth_client, laid_out_show, {"seats": ["A4", "J10"]})

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["seat_numbers"] == [4, 22]
    assert body["seats"] == [
        {"number": 4, "label": "A4", "category": "standard", "price": "250.00"},
        {"number": 22, "label": "J10", "category": "premium", "price": "400.00"},
    ]
    assert body["total_price"] == "650.00"
    assert booked_numbers(laid_out_show) == [4, 22]
    booking = Booking.objects.get()
    assert (booking.user, booking.total_price) == (user, Decimal("650.00"))


@pytest.mark.parametrize("labels", [["a4", "j10"], ["A4", "j10"], ["j10", "A4"], [" a4 ", "J10"]])
def test_labels_match_in_any_case_and_order(auth_client, laid_out_show, labels):
    response = post_book(auth_client, laid_out_show, {"seats": labels})

    assert response.status_code == 201, response.content
    assert response.json()["seat_numbers"] == [4, 22]
    assert [s["label"] for s in response.json()["seats"]] == ["A4", "J10"]


def test_booking_a_laid_out_show_by_number_names_the_labels_too(auth_client, laid_out_show):
    response = post_book(auth_client, laid_out_show, {"seat_numbers": [13, 1]})

    assert response.status_code == 201
    assert response.json()["seats"] == [
        {"number": 1, "label": "A1", "category": "standard", "price": "250.00"},
        {"number": 13, "label": "J1", "category": "premium", "price": "400.00"},
    ]
    assert response.json()["total_price"] == "650.00"


def test_booking_one_premium_seat_by_seat_number(auth_client, laid_out_show):
    response = post_book(auth_client, laid_out_show, {"seat_number": 22})

    assert response.status_code == 201
    assert response.json()["total_price"] == "400.00"


def test_a_number_past_a_laid_out_shows_capacity_is_400_on_seat_numbers(auth_client, laid_out_show):
    response = post_book(auth_client, laid_out_show, {"seat_numbers": [22, 23]})

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"seat_numbers"}
    assert booked_numbers(laid_out_show) == []


def test_an_old_style_show_is_booked_by_its_numeric_labels(auth_client, show):
    response = post_book(auth_client, show, {"seats": ["12", "13"]})

    assert response.status_code == 201, response.content
    assert response.json()["seat_numbers"] == [12, 13]
    assert response.json()["seats"][0] == {
        "number": 12,
        "label": "12",
        "category": "standard",
        "price": "250.00",
    }


@pytest.mark.parametrize(
    "labels",
    [["Z1"], ["A13"], ["J11"], ["A0"], ["A4", "B1"], ["4"], ["A"], ["A04"], ["A 4"]],
)
def test_an_unknown_label_is_400_invalid_on_seats_and_books_nothing(
    auth_client, laid_out_show, labels
):
    response = post_book(auth_client, laid_out_show, {"seats": labels})

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert set(response.json()["errors"]) == {"seats"}
    assert booked_numbers(laid_out_show) == []
    assert not Booking.objects.exists()


def test_the_unknown_label_is_named_in_the_error(auth_client, laid_out_show):
    response = post_book(auth_client, laid_out_show, {"seats": ["A4", "Q7"]})

    assert response.json()["errors"]["seats"] == ["Seat Q7 does not exist in this show."]


@pytest.mark.parametrize(
    "body",
    [
        {"seat_number": 4, "seats": ["A5"]},
        {"seat_numbers": [4], "seats": ["A5"]},
        {"seat_number": 4, "seat_numbers": [5]},
        {"seat_number": 4, "seat_numbers": [5], "seats": ["A6"]},
    ],
)
def test_more_than_one_way_of_naming_seats_is_400(auth_client, laid_out_show, body):
    response = post_book(auth_client, laid_out_show, body)

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert set(response.json()["errors"]) == {"non_field_errors"}
    assert booked_numbers(laid_out_show) == []


def test_ten_labels_are_booked_together(auth_client, laid_out_show):
    labels = [f"J{n}" for n in range(1, 11)]

    response = post_book(auth_client, laid_out_show, {"seats": labels})

    assert response.status_code == 201, response.content
    assert response.json()["seat_numbers"] == list(range(13, 23))
    assert response.json()["total_price"] == "4000.00"


def test_eleven_labels_are_400_on_seats(auth_client, laid_out_show):
    labels = [f"A{n}" for n in range(1, 12)]

    response = post_book(auth_client, laid_out_show, {"seats": labels})

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"seats"}
    assert booked_numbers(laid_out_show) == []


@pytest.fixture
def big_bodies(settings):
    """Let megabyte bodies past the body-size limit, to reach the list-length guard."""
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 50 * 1024 * 1024


def test_a_huge_list_of_labels_is_refused_for_its_length_with_a_small_body(
    big_bodies, auth_client, laid_out_show
):
    response = post_book(auth_client, laid_out_show, {"seats": ["Z9"] * 50_000})

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"seats"}
    assert len(response.content) < 500


@pytest.mark.parametrize("labels", [["A4", "A4"], ["a4", "A4"], ["J1", "A4", "j1"]])
def test_repeated_labels_are_400_on_seats(auth_client, laid_out_show, labels):
    response = post_book(auth_client, laid_out_show, {"seats": labels})

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"seats"}
    assert booked_numbers(laid_out_show) == []


@pytest.mark.parametrize("labels", [[], "A4", [None], [["A4"]], [""], ["A" * 9], None, {"A4": 1}])
def test_malformed_labels_are_400_on_seats(auth_client, laid_out_show, labels):
    response = post_book(auth_client, laid_out_show, {"seats": labels})

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"seats"}


def test_a_taken_seat_by_label_is_409_naming_its_number_and_label(
    auth_client, other_user, laid_out_show
):
    book_directly(other_user, laid_out_show, [4])

    response = post_book(auth_client, laid_out_show, {"seats": ["a4", "J10"]})

    assert response.status_code == 409
    assert response.json()["code"] == "seat_unavailable"
    assert response.json()["seats"] == [4]
    assert response.json()["labels"] == ["A4"]
    assert "A4" in response.json()["detail"]
    assert booked_numbers(laid_out_show) == [4]
    assert Booking.objects.count() == 1


def test_several_taken_seats_are_named_in_seat_order(auth_client, other_user, laid_out_show):
    book_directly(other_user, laid_out_show, [4, 13, 22])

    response = post_book(auth_client, laid_out_show, {"seats": ["J10", "A5", "J1", "A4"]})

    assert response.status_code == 409
    assert response.json()["seats"] == [4, 13, 22]
    assert response.json()["labels"] == ["A4", "J1", "J10"]
    assert booked_numbers(laid_out_show) == [4, 13, 22]


def test_a_taken_seat_by_number_on_a_laid_out_show_also_names_its_label(
    auth_client, other_user, laid_out_show
):
    book_directly(other_user, laid_out_show, [13])

    response = post_book(auth_client, laid_out_show, {"seat_numbers": [13]})

    assert response.status_code == 409
    assert (response.json()["seats"], response.json()["labels"]) == ([13], ["J1"])


def test_a_cancelled_seat_can_be_booked_again_by_label(auth_client, other_user, laid_out_show):
    cancel_directly(book_directly(other_user, laid_out_show, [4]))

    response = post_book(auth_client, laid_out_show, {"seats": ["A4"]})

    assert response.status_code == 201
    assert booked_numbers(laid_out_show) == [4]


# --- Order of checks ------------------------------------------------------------------------


def started(show):
    Show.objects.filter(pk=show.pk).update(start_time=timezone.now() - timedelta(minutes=1))


def test_show_started_comes_before_an_unknown_label(auth_client, laid_out_show):
    started(laid_out_show)

    response = post_book(auth_client, laid_out_show, {"seats": ["Z99"]})

    assert response.status_code == 409
    assert response.json()["code"] == "show_started"


def test_show_started_comes_before_a_taken_seat(auth_client, other_user, laid_out_show):
    book_directly(other_user, laid_out_show, [4])
    started(laid_out_show)

    response = post_book(auth_client, laid_out_show, {"seats": ["A4"]})

    assert response.json()["code"] == "show_started"


def test_an_unknown_label_comes_before_a_taken_seat(auth_client, other_user, laid_out_show):
    book_directly(other_user, laid_out_show, [4])

    response = post_book(auth_client, laid_out_show, {"seats": ["A4", "Z99"]})

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"seats"}


def test_a_malformed_body_comes_before_show_started(auth_client, laid_out_show):
    started(laid_out_show)

    response = post_book(auth_client, laid_out_show, {"seats": ["A4"] * 11})

    assert response.status_code == 400


def test_an_unknown_show_comes_before_a_malformed_body(auth_client, laid_out_show):
    response = post_book(auth_client, laid_out_show.pk + 1000, {"seats": "A4", "seat_number": 1})

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_booking_by_label_needs_a_token(api_client, laid_out_show):
    response = post_book(api_client, laid_out_show, {"seats": ["A4"]})

    assert response.status_code == 401
    assert booked_numbers(laid_out_show) == []


# --- A booking keeps what it was sold -------------------------------------------------------


def test_a_cancelled_booking_keeps_its_seats_and_prices(auth_client, laid_out_show):
    booked = post_book(auth_client, laid_out_show, {"seats": ["A4", "J10"]}).json()

    cancelled = auth_client.post(cancel_url(booked["id"]))
    read_back = auth_client.get(f"/api/bookings/{booked['id']}/")

    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    for body in (cancelled.json(), read_back.json()):
        assert body["seat_numbers"] == [4, 22]
        assert body["seats"] == booked["seats"]
        assert body["total_price"] == "650.00"
    assert booked_numbers(laid_out_show) == []


def test_a_booking_keeps_its_prices_when_the_shows_prices_change(
    auth_client, staff_client, laid_out_show
):
    booked = post_book(auth_client, laid_out_show, {"seats": ["A4", "J10"]}).json()

    changed = staff_client.patch(
        show_url(laid_out_show), {"price": "300.00", "prices": {"premium": "500.00"}}, format="json"
    )
    read_back = auth_client.get(f"/api/bookings/{booked['id']}/")
    mine = auth_client.get("/api/my-bookings/")
    later = post_book(auth_client, laid_out_show, {"seats": ["A5", "J9"]})

    assert changed.status_code == 200, changed.content
    assert changed.json()["prices"] == {"standard": "300.00", "premium": "500.00"}
    assert read_back.json()["seats"] == booked["seats"]
    assert read_back.json()["total_price"] == "650.00"
    assert mine.json()["results"][0]["total_price"] == "650.00"
    assert [s["price"] for s in later.json()["seats"]] == ["300.00", "500.00"]
    assert later.json()["total_price"] == "800.00"


def test_a_booking_keeps_its_labels_when_the_screen_is_redrawn(
    auth_client, staff_client, laid_out_show, screen
):
    booked = post_book(auth_client, laid_out_show, {"seats": ["J10"]}).json()
    rows = [{"label": "X", "seats": 30, "aisles_after": [], "category": "vip", "wheelchair": []}]
    staff_client.patch(f"/api/screens/{screen.pk}/", {"rows": rows}, format="json")

    read_back = auth_client.get(f"/api/bookings/{booked['id']}/")

    assert read_back.json()["seats"] == [
        {"number": 22, "label": "J10", "category": "premium", "price": "400.00"}
    ]


# --- The seat map ---------------------------------------------------------------------------


def test_the_seat_map_of_a_laid_out_show_has_the_contracts_shape(
    api_client, other_user, laid_out_show
):
    book_directly(other_user, laid_out_show, [4, 22])

    response = api_client.get(seats_url(laid_out_show))

    assert response.status_code == 200
    assert response.json() == {
        "show": laid_out_show.pk,
        "total_seats": 22,
        "available_seats": [n for n in range(1, 23) if n not in (4, 22)],
        "booked_seats": [4, 22],
        "held_seats": [],
        "categories": [
            {"name": "standard", "price": "250.00", "available": 11},
            {"name": "premium", "price": "400.00", "available": 9},
        ],
        "rows": example_rows(booked=(4, 22)),
    }


def test_the_contract_examples_seat_four_is_in_column_five(api_client, laid_out_show):
    row_a = api_client.get(seats_url(laid_out_show)).json()["rows"][0]

    assert row_a["seats"][3] == seat(4, "A4", 5)
    assert row_a["seats"][0]["wheelchair"] is True


def test_aisles_leave_one_empty_column_each(api_client, movie, cinema):
    screen = make_screen(
        cinema,
        name="Aisles",
        rows=[Row(label="B", seats=6, aisles_after=(2, 4)), Row(label="C", seats=3)],
    )
    show = make_show_on_screen(movie, screen)

    rows = api_client.get(seats_url(show)).json()["rows"]

    assert [(s["label"], s["column"]) for s in rows[0]["seats"]] == [
        ("B1", 1),
        ("B2", 2),
        ("B3", 4),
        ("B4", 5),
        ("B5", 7),
        ("B6", 8),
    ]
    assert [s["column"] for s in rows[1]["seats"]] == [1, 2, 3]


def test_seat_map_categories_come_in_order_of_first_appearance_front_to_back(api_client, movie):
    screen = make_screen(
        rows=[
            Row(label="A", seats=2, category="front"),
            Row(label="B", seats=3, category="premium"),
            Row(label="C", seats=4, category="front"),
            Row(label="D", seats=1),
        ]
    )
    show = make_show_on_screen(movie, screen, prices={"premium": Decimal("9.99")})

    response = api_client.get(seats_url(show))

    assert response.json()["categories"] == [
        {"name": "front", "price": "250.00", "available": 6},
        {"name": "premium", "price": "9.99", "available": 3},
        {"name": "standard", "price": "250.00", "available": 1},
    ]
    assert [r["label"] for r in response.json()["rows"]] == ["A", "B", "C", "D"]


def test_a_sold_out_category_is_still_listed_with_none_available(
    api_client, other_user, laid_out_show
):
    book_directly(other_user, laid_out_show, list(range(13, 23)))

    response = api_client.get(seats_url(laid_out_show))

    assert response.json()["categories"] == [
        {"name": "standard", "price": "250.00", "available": 12},
        {"name": "premium", "price": "400.00", "available": 0},
    ]
    assert response.json()["available_seats"] == list(range(1, 13))


def test_a_cancel_returns_the_seats_to_their_category(api_client, other_user, laid_out_show):
    booking = book_directly(other_user, laid_out_show, [13, 14])
    before = api_client.get(seats_url(laid_out_show)).json()["categories"][1]
    cancel_directly(booking)

    after = api_client.get(seats_url(laid_out_show)).json()["categories"][1]

    assert (before["available"], after["available"]) == (8, 10)


def test_the_seat_map_of_an_old_style_show_is_one_unlabelled_row(api_client, movie):
    show = make_show(movie, total_seats=5, price=Decimal("120.00"))
    book_directly(make_user("fan"), show, [2])

    response = api_client.get(seats_url(show))

    assert response.json() == {
        "show": show.pk,
        "total_seats": 5,
        "available_seats": [1, 3, 4, 5],
        "booked_seats": [2],
        "held_seats": [],
        "categories": [{"name": "standard", "price": "120.00", "available": 4}],
        "rows": [
            {
                "label": None,
                "seats": [
                    seat(n, str(n), n, status="booked" if n == 2 else "available")
                    for n in range(1, 6)
                ],
            }
        ],
    }


def test_the_seat_map_of_an_unknown_show_is_404(api_client, laid_out_show):
    response = api_client.get(seats_url(laid_out_show.pk + 1000))

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


# --- The seat map's ETag --------------------------------------------------------------------


def etag_of(client, show, **headers):
    response = client.get(seats_url(show), headers=headers)
    assert response.status_code == 200, response.status_code
    return response["ETag"]


def test_every_seat_map_has_an_etag(api_client, laid_out_show, show):
    first = api_client.get(seats_url(laid_out_show))
    again = api_client.get(seats_url(laid_out_show))

    assert first["ETag"].startswith('"') or first["ETag"].startswith('W/"')
    assert first["ETag"].endswith('"')
    assert again["ETag"] == first["ETag"]
    assert api_client.get(seats_url(show))["ETag"] != first["ETag"]


def test_if_none_match_with_the_current_etag_is_304_with_no_body(api_client, laid_out_show):
    etag = etag_of(api_client, laid_out_show)

    response = api_client.get(seats_url(laid_out_show), headers={"If-None-Match": etag})

    assert response.status_code == 304
    assert response.content == b""
    assert response["ETag"] == etag


def test_if_none_match_with_another_etag_is_200_with_the_map(api_client, laid_out_show):
    response = api_client.get(seats_url(laid_out_show), headers={"If-None-Match": '"stale"'})

    assert response.status_code == 200
    assert response.json()["total_seats"] == 22


def test_a_booking_changes_the_etag_and_the_old_one_gets_the_new_map(
    api_client, auth_client, laid_out_show
):
    before = etag_of(api_client, laid_out_show)

    post_book(auth_client, laid_out_show, {"seats": ["A4"]})
    response = api_client.get(seats_url(laid_out_show), headers={"If-None-Match": before})

    assert response.status_code == 200
    assert response["ETag"] != before
    assert response.json()["booked_seats"] == [4]


def test_a_cancel_changes_the_etag_and_the_old_one_gets_the_new_map(
    api_client, auth_client, laid_out_show
):
    booking_id = post_book(auth_client, laid_out_show, {"seats": ["A4"]}).json()["id"]
    while_booked = etag_of(api_client, laid_out_show)

    auth_client.post(cancel_url(booking_id))
    response = api_client.get(seats_url(laid_out_show), headers={"If-None-Match": while_booked})

    assert response.status_code == 200
    assert response["ETag"] != while_booked
    assert response.json()["booked_seats"] == []


def test_a_price_change_changes_the_etag(api_client, staff_client, laid_out_show):
    before = etag_of(api_client, laid_out_show)

    staff_client.patch(show_url(laid_out_show), {"prices": {"premium": "450.00"}}, format="json")
    response = api_client.get(seats_url(laid_out_show), headers={"If-None-Match": before})

    assert response.status_code == 200
    assert response.json()["categories"][1]["price"] == "450.00"


def test_the_304_is_served_to_anyone_holding_the_etag(api_client, auth_client, laid_out_show):
    etag = etag_of(api_client, laid_out_show)

    response = auth_client.get(seats_url(laid_out_show), headers={"If-None-Match": etag})

    assert response.status_code == 304


# --- Query budgets --------------------------------------------------------------------------


def thousand_seat_screen():
    rows = [Row(label=chr(ord("A") + n), seats=100, aisles_after=(10, 90)) for n in range(10)]
    return make_screen(make_cinema("Grand"), name="IMAX", rows=rows)


@pytest.mark.parametrize("size", [22, 1000])
def test_the_seat_map_takes_one_query_whatever_the_shows_size(
    api_client, django_assert_num_queries, movie, size
):
    screen = make_screen() if size == 22 else thousand_seat_screen()
    show = make_show_on_screen(movie, screen)
    book_directly(make_user("fan"), show, [1, 2, size])

    # 1. SELECT its seats: number, label, row, column, category, wheelchair, booking id,
    #    held until, JOIN the show (its seat count and prices; no row: a 404)
    with django_assert_num_queries(1):
        response = api_client.get(seats_url(show))

    assert response.status_code == 200
    assert response.json()["total_seats"] == size
    assert response.json()["booked_seats"] == [1, 2, size]


def test_a_304_takes_as_few_queries_as_a_200(api_client, django_assert_num_queries, laid_out_show):
    etag = etag_of(api_client, laid_out_show)

    # 1. SELECT its seats JOIN the show (the ETag is a digest of the map)
    with django_assert_num_queries(1):
        response = api_client.get(seats_url(laid_out_show), headers={"If-None-Match": etag})

    assert response.status_code == 304


@pytest.fixture
def shows_on_many_screens(movie):
    """Twelve upcoming shows, each on its own screen in its own cinema, each with a booking."""
    booker = make_user("booker")
    shows = []
    for n in range(12):
        screen = make_screen(make_cinema(f"Cinema {n:02d}", city=f"City {n}"), name=f"S{n}")
        show = make_show_on_screen(movie, screen, start_time=timezone.now() + timedelta(days=1 + n))
        book_directly(booker, show, [1, 13])
        shows.append(show)
    make_show(movie, start_time=timezone.now() + timedelta(days=30))  # and one the old way
    return shows


@pytest.mark.parametrize("page_size", [2, 20])
def test_the_show_list_with_screens_takes_one_query_whatever_the_page_size(
    api_client, django_assert_num_queries, shows_on_many_screens, page_size
):
    # 1. SELECT the page of shows JOIN movie JOIN screen JOIN cinema, with booked and
    #    held seats counted in subqueries and a COUNT(*) subquery of all of them (for "count")
    with django_assert_num_queries(1):
        response = api_client.get(SHOWS_URL, {"page_size": page_size})

    results = response.json()["results"]
    assert len(results) == min(page_size, 13)
    on_screens = [s for s in results if s["screen"] is not None]
    assert {s["available_seats"] for s in on_screens} == {20}
    assert all(s["screen"]["cinema"]["city"].startswith("City") for s in on_screens)


# --- Filters on /api/shows/ -----------------------------------------------------------------


@pytest.fixture
def shows_in_two_cities(movie):
    """Riverside (Pune) with screens 1 and 2, Seaside (Mumbai), and an old-style show."""
    riverside = make_cinema("Riverside", city="Pune")
    seaside = make_cinema("Seaside", city="Mumbai")
    screen_1 = make_screen(riverside, name="Screen 1")
    screen_2 = make_screen(riverside, name="Screen 2")
    screen_3 = make_screen(seaside, name="Screen 1")
    soon = timezone.now() + timedelta(days=1)
    return {
        "riverside": riverside,
        "seaside": seaside,
        "screen_1": screen_1,
        "screen_2": screen_2,
        "screen_3": screen_3,
        "on_1": make_show_on_screen(movie, screen_1, start_time=soon),
        "on_2": make_show_on_screen(movie, screen_2, start_time=soon + timedelta(hours=1)),
        "on_3": make_show_on_screen(movie, screen_3, start_time=soon + timedelta(hours=2)),
        "old": make_show(movie, start_time=soon + timedelta(hours=3)),
    }


def test_without_filters_every_upcoming_show_is_listed(api_client, shows_in_two_cities):
    s = shows_in_two_cities

    response = api_client.get(SHOWS_URL)

    assert ids(response) == [s["on_1"].pk, s["on_2"].pk, s["on_3"].pk, s["old"].pk]


def test_the_cinema_filter_lists_that_cinemas_shows(api_client, shows_in_two_cities):
    s = shows_in_two_cities

    assert ids(api_client.get(SHOWS_URL, {"cinema": s["riverside"].pk})) == [
        s["on_1"].pk,
        s["on_2"].pk,
    ]
    assert ids(api_client.get(SHOWS_URL, {"cinema": s["seaside"].pk})) == [s["on_3"].pk]


@pytest.mark.parametrize("city", ["Pune", "pune", "PUNE"])
def test_the_city_filter_matches_the_whole_city_in_any_case(api_client, shows_in_two_cities, city):
    s = shows_in_two_cities

    response = api_client.get(SHOWS_URL, {"city": city})

    assert ids(response) == [s["on_1"].pk, s["on_2"].pk]


def test_the_city_filter_does_not_match_part_of_a_city(api_client, shows_in_two_cities):
    assert ids(api_client.get(SHOWS_URL, {"city": "Pun"})) == []


def test_the_screen_filter_lists_that_screens_shows(api_client, shows_in_two_cities):
    s = shows_in_two_cities

    assert ids(api_client.get(SHOWS_URL, {"screen": s["screen_2"].pk})) == [s["on_2"].pk]


def test_filters_combine(api_client, shows_in_two_cities, movie):
    s = shows_in_two_cities
    other_movie = make_movie(title="Heat")
    extra = make_show_on_screen(
        other_movie, s["screen_1"], start_time=timezone.now() + timedelta(days=5)
    )

    response = api_client.get(
        SHOWS_URL, {"city": "PUNE", "cinema": s["riverside"].pk, "movie": other_movie.pk}
    )

    assert ids(response) == [extra.pk]


@pytest.mark.parametrize("param", ["cinema", "screen"])
def test_an_unknown_cinema_or_screen_id_is_an_empty_page(api_client, shows_in_two_cities, param):
    for unknown in (999_999, 2**64, -1):
        response = api_client.get(SHOWS_URL, {param: unknown})

        assert response.status_code == 200
        assert response.json()["count"] == 0


@pytest.mark.parametrize(
    ("param", "value"),
    [("cinema", "abc"), ("cinema", "1.5"), ("screen", "abc"), ("screen", "1e3"), ("cinema", "[1]")],
)
def test_a_malformed_cinema_or_screen_filter_is_400_invalid(
    api_client, shows_in_two_cities, param, value
):
    response = api_client.get(SHOWS_URL, {param: value})

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert set(response.json()["errors"]) == {param}


def test_a_movies_shows_ignore_a_cinema_parameter(api_client, shows_in_two_cities, movie):
    # /api/movies/{id}/shows/ documents only ?date=: other parameters are ignored.
    response = api_client.get(f"/api/movies/{movie.pk}/shows/", {"cinema": "abc"})

    assert response.status_code == 200
    assert response.json()["count"] == 4


# --- Scheduling: one screen, one show at a time ---------------------------------------------


@pytest.fixture
def two_hour_movie(db):
    return make_movie(title="Two Hours", duration_minutes=120)


@pytest.fixture
def turnover_15(settings):
    settings.SCREEN_TURNOVER_MINUTES = 15


@pytest.fixture
def ten_oclock_show(two_hour_movie, screen, turnover_15):
    """A two-hour show at 10:00 on the example screen: the screen is busy until 12:15."""
    return make_show_on_screen(two_hour_movie, screen, start_time=at("2031-06-01T10:00:00Z"))


def create_at(client, movie, screen, start_time):
    body = screen_show_body(movie, screen, start_time=start_time)
    return client.post(SHOWS_URL, body, format="json")


@pytest.mark.parametrize(
    ("start_time", "status"),
    [
        ("2031-06-01T10:00:00Z", 409),  # the same moment
        ("2031-06-01T11:00:00Z", 409),  # while it runs
        ("2031-06-01T12:00:00Z", 409),  # during the turnover
        ("2031-06-01T12:14:00Z", 409),  # one minute short of the turnover's end
        ("2031-06-01T12:15:00Z", 201),  # exactly when the turnover ends
        ("2031-06-01T14:00:00Z", 201),
        ("2031-06-01T07:46:00Z", 409),  # would run into 10:00 (ends 9:46 + 15 = 10:01)
        ("2031-06-01T07:45:00Z", 201),  # its turnover ends exactly at 10:00
        ("2031-06-01T09:00:00Z", 409),
    ],
)
def test_a_show_must_not_overlap_another_on_its_screen_turnover_included(
    staff_client, two_hour_movie, screen, ten_oclock_show, start_time, status
):
    response = create_at(staff_client, two_hour_movie, screen, start_time)

    assert response.status_code == status, response.content
    if status == 409:
        assert response.json()["code"] == "screen_busy"
        assert Show.objects.count() == 1
        assert Seat.objects.count() == 22
    else:
        assert Show.objects.count() == 2


def test_a_longer_show_enclosing_another_is_409(staff_client, screen, ten_oclock_show):
    epic = make_movie(title="Epic", duration_minutes=400)

    response = create_at(staff_client, epic, screen, "2031-06-01T06:00:00Z")

    assert response.status_code == 409
    assert response.json()["code"] == "screen_busy"


def test_the_turnover_follows_the_setting(
    staff_client, two_hour_movie, screen, ten_oclock_show, settings
):
    settings.SCREEN_TURNOVER_MINUTES = 0
    right_after = create_at(staff_client, two_hour_movie, screen, "2031-06-01T12:00:00Z")

    settings.SCREEN_TURNOVER_MINUTES = 30
    # The 12:00 show now needs the screen until 14:30; the 10:00 one until 12:30.
    too_soon = create_at(staff_client, two_hour_movie, screen, "2031-06-01T14:29:00Z")
    in_time = create_at(staff_client, two_hour_movie, screen, "2031-06-01T14:30:00Z")

    assert right_after.status_code == 201
    assert too_soon.status_code == 409
    assert in_time.status_code == 201


def test_the_same_time_on_another_screen_is_fine(
    staff_client, two_hour_movie, cinema, ten_oclock_show
):
    screen_2 = make_screen(cinema, name="Screen 2")

    response = create_at(staff_client, two_hour_movie, screen_2, "2031-06-01T10:00:00Z")

    assert response.status_code == 201


def test_old_style_shows_never_make_a_screen_busy(staff_client, two_hour_movie, ten_oclock_show):
    body = old_show_body(two_hour_movie, screen_name="Screen 1", start_time="2031-06-01T10:00:00Z")

    response = staff_client.post(SHOWS_URL, body, format="json")

    assert response.status_code == 201


def test_the_busy_error_names_the_show_in_the_way(
    staff_client, two_hour_movie, screen, ten_oclock_show
):
    response = create_at(staff_client, two_hour_movie, screen, "2031-06-01T11:00:00Z")

    assert str(ten_oclock_show.pk) in response.json()["detail"]


def test_moving_a_show_onto_another_is_409_and_changes_nothing(
    staff_client, two_hour_movie, screen, ten_oclock_show
):
    evening = make_show_on_screen(two_hour_movie, screen, start_time=at("2031-06-01T18:00:00Z"))
    before = shows_snapshot()

    response = staff_client.patch(
        show_url(evening), {"start_time": "2031-06-01T11:30:00Z"}, format="json"
    )

    assert response.status_code == 409
    assert response.json()["code"] == "screen_busy"
    assert shows_snapshot() == before


def test_moving_a_show_freely_is_200(staff_client, two_hour_movie, screen, ten_oclock_show):
    evening = make_show_on_screen(two_hour_movie, screen, start_time=at("2031-06-01T18:00:00Z"))

    response = staff_client.patch(
        show_url(evening), {"start_time": "2031-06-01T12:15:00Z"}, format="json"
    )

    assert response.status_code == 200, response.content
    assert response.json()["start_time"] == "2031-06-01T12:15:00Z"
    evening.refresh_from_db()
    assert evening.start_time == at("2031-06-01T12:15:00Z")


def test_a_show_may_move_within_its_own_slot(staff_client, ten_oclock_show):
    # It overlaps only itself: a 10-minute delay is not a clash.
    response = staff_client.patch(
        show_url(ten_oclock_show), {"start_time": "2031-06-01T10:10:00Z"}, format="json"
    )

    assert response.status_code == 200


def test_a_put_that_moves_a_show_onto_another_is_409(
    staff_client, two_hour_movie, screen, ten_oclock_show
):
    evening = make_show_on_screen(two_hour_movie, screen, start_time=at("2031-06-01T18:00:00Z"))
    body = screen_show_body(two_hour_movie, screen, start_time="2031-06-01T09:00:00Z")

    response = staff_client.put(show_url(evening), body, format="json")

    assert response.status_code == 409
    assert response.json()["code"] == "screen_busy"


def test_moving_a_show_onto_a_busy_screen_is_409(
    staff_client, two_hour_movie, cinema, ten_oclock_show
):
    screen_2 = make_screen(cinema, name="Screen 2")
    other = make_show_on_screen(two_hour_movie, screen_2, start_time=at("2031-06-01T10:30:00Z"))
    before = seat_layout(other)

    response = staff_client.patch(
        show_url(other), {"screen_id": ten_oclock_show.screen_id}, format="json"
    )

    assert response.status_code == 409
    assert response.json()["code"] == "screen_busy"
    other.refresh_from_db()
    assert other.screen_id == screen_2.pk
    assert seat_layout(other) == before


def test_a_longer_movie_that_runs_into_the_next_show_is_409(
    staff_client, two_hour_movie, screen, ten_oclock_show
):
    make_show_on_screen(two_hour_movie, screen, start_time=at("2031-06-01T12:15:00Z"))
    longer = make_movie(title="Longer", duration_minutes=121)

    response = staff_client.patch(show_url(ten_oclock_show), {"movie_id": longer.pk}, format="json")

    assert response.status_code == 409
    assert response.json()["code"] == "screen_busy"
    ten_oclock_show.refresh_from_db()
    assert ten_oclock_show.movie_id == two_hour_movie.pk


# --- Changing a show that has bookings ------------------------------------------------------


@pytest.fixture
def booked_show(laid_out_show, user):
    """The example show with one live booking (A4, J10)."""
    book_directly(user, laid_out_show, [4, 22])
    return laid_out_show


def test_a_booked_show_cannot_change_its_movie(staff_client, booked_show):
    other_movie = make_movie(title="Heat", duration_minutes=100)
    before = shows_snapshot()

    response = staff_client.patch(
        show_url(booked_show), {"movie_id": other_movie.pk}, format="json"
    )

    assert response.status_code == 409
    assert response.json()["code"] == "show_has_bookings"
    assert shows_snapshot() == before


def test_a_booked_show_cannot_change_its_screen(staff_client, booked_show, cinema):
    screen_2 = make_screen(cinema, name="Screen 2")
    before = (shows_snapshot(), seat_layout(booked_show))

    response = staff_client.patch(show_url(booked_show), {"screen_id": screen_2.pk}, format="json")

    assert response.status_code == 409
    assert response.json()["code"] == "show_has_bookings"
    assert (shows_snapshot(), seat_layout(booked_show)) == before
    assert booked_numbers(booked_show) == [4, 22]


def test_a_booked_show_may_name_its_own_movie_and_screen_again(staff_client, booked_show):
    body = {"movie_id": booked_show.movie_id, "screen_id": booked_show.screen_id}

    response = staff_client.patch(show_url(booked_show), body, format="json")

    assert response.status_code == 200, response.content
    assert booked_numbers(booked_show) == [4, 22]


def test_a_booked_show_can_be_delayed(staff_client, auth_client, booked_show):
    booking = Booking.objects.get()
    later = iso(booked_show.start_time + timedelta(hours=2))

    response = staff_client.patch(show_url(booked_show), {"start_time": later}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["start_time"] == later
    assert booked_numbers(booked_show) == [4, 22]
    assert auth_client.get(f"/api/bookings/{booking.pk}/").json()["show"]["start_time"] == later


def test_a_booked_show_cannot_be_delayed_onto_another_show(
    staff_client, booked_show, movie, screen
):
    next_show = make_show_on_screen(
        movie, screen, start_time=booked_show.start_time + timedelta(days=1)
    )

    response = staff_client.patch(
        show_url(booked_show), {"start_time": iso(next_show.start_time)}, format="json"
    )

    assert response.status_code == 409
    assert response.json()["code"] == "screen_busy"


def test_without_bookings_a_show_moves_to_another_screen_and_takes_its_layout(
    staff_client, api_client, laid_out_show, cinema
):
    screen_2 = make_screen(
        cinema,
        name="Screen 2",
        rows=[
            Row(label="P", seats=3, category="premium", aisles_after=(1,)),
            Row(label="Q", seats=2, category="vip", wheelchair=(2,)),
        ],
    )

    response = staff_client.patch(
        show_url(laid_out_show), {"screen_id": screen_2.pk}, format="json"
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["screen"]["id"] == screen_2.pk
    assert body["screen_name"] == "Screen 2"
    assert body["total_seats"] == 5
    assert body["available_seats"] == 5
    # premium keeps its price (400.00); vip is new and costs the base price.
    assert body["prices"] == {"premium": "400.00", "vip": "250.00"}
    seat_map = api_client.get(seats_url(laid_out_show)).json()
    assert seat_map["rows"] == [
        {
            "label": "P",
            "seats": [
                seat(1, "P1", 1, category="premium"),
                seat(2, "P2", 3, category="premium"),
                seat(3, "P3", 4, category="premium"),
            ],
        },
        {
            "label": "Q",
            "seats": [seat(4, "Q1", 1, category="vip"), seat(5, "Q2", 2, "vip", wheelchair=True)],
        },
    ]
    assert Seat.objects.filter(show=laid_out_show).count() == 5


def test_moving_to_another_screen_may_price_its_categories(staff_client, laid_out_show, cinema):
    screen_2 = make_screen(cinema, name="Screen 2", rows=[Row(label="V", seats=4, category="vip")])

    response = staff_client.patch(
        show_url(laid_out_show),
        {"screen_id": screen_2.pk, "prices": {"vip": "999.00"}},
        format="json",
    )

    assert response.status_code == 200, response.content
    assert response.json()["prices"] == {"vip": "999.00"}


def test_moving_to_another_screen_with_prices_for_the_old_categories_is_400(
    staff_client, laid_out_show, cinema
):
    screen_2 = make_screen(cinema, name="Screen 2", rows=[Row(label="V", seats=4, category="vip")])

    response = staff_client.patch(
        show_url(laid_out_show),
        {"screen_id": screen_2.pk, "prices": {"premium": "1.00"}},
        format="json",
    )

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"prices"}
    laid_out_show.refresh_from_db()
    assert laid_out_show.screen_id != screen_2.pk
    assert len(seat_layout(laid_out_show)) == 22


def test_a_cancelled_booking_does_not_block_a_screen_change(
    staff_client, auth_client, laid_out_show, user, cinema
):
    booking = book_directly(user, laid_out_show, [4, 22])
    cancel_directly(booking)
    screen_2 = make_screen(cinema, name="Screen 2", rows=[Row(label="V", seats=4)])

    response = staff_client.patch(
        show_url(laid_out_show), {"screen_id": screen_2.pk}, format="json"
    )

    assert response.status_code == 200, response.content
    assert response.json()["total_seats"] == 4
    history = auth_client.get(f"/api/bookings/{booking.pk}/").json()
    assert history["status"] == "cancelled"
    assert [s["label"] for s in history["seats"]] == ["A4", "J10"]
    assert history["total_price"] == "650.00"


def test_a_cancelled_booking_does_not_block_a_movie_change(staff_client, laid_out_show, user):
    cancel_directly(book_directly(user, laid_out_show, [4]))
    other_movie = make_movie(title="Heat", duration_minutes=100)

    response = staff_client.patch(
        show_url(laid_out_show), {"movie_id": other_movie.pk}, format="json"
    )

    assert response.status_code == 200, response.content
    assert response.json()["movie"] == {"id": other_movie.pk, "title": "Heat"}


def test_an_old_style_show_without_bookings_can_move_onto_a_screen(
    staff_client, api_client, show, screen
):
    response = staff_client.patch(show_url(show), {"screen_id": screen.pk}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["screen"]["id"] == screen.pk
    assert response.json()["total_seats"] == 22
    assert api_client.get(seats_url(show)).json()["rows"] == example_rows()


@pytest.mark.parametrize("total_seats", [10, 23, 1000])
def test_changing_total_seats_of_a_show_on_a_screen_is_400(
    staff_client, laid_out_show, total_seats
):
    response = staff_client.patch(
        show_url(laid_out_show), {"total_seats": total_seats}, format="json"
    )

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"total_seats"}
    assert len(seat_layout(laid_out_show)) == 22
    laid_out_show.refresh_from_db()
    assert laid_out_show.total_seats == 22


def test_total_seats_with_screen_id_on_an_update_is_400(staff_client, laid_out_show, cinema):
    screen_2 = make_screen(cinema, name="Screen 2")

    response = staff_client.patch(
        show_url(laid_out_show), {"screen_id": screen_2.pk, "total_seats": 22}, format="json"
    )

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"total_seats"}


def test_patching_prices_naming_an_unknown_category_is_400(staff_client, laid_out_show):
    response = staff_client.patch(
        show_url(laid_out_show), {"prices": {"gold": "1.00"}}, format="json"
    )

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"prices"}
    laid_out_show.refresh_from_db()
    assert laid_out_show.prices == {"standard": Decimal("250.00"), "premium": Decimal("400.00")}


def test_a_show_on_a_screen_cannot_be_deleted_once_booked(staff_client, booked_show):
    response = staff_client.delete(show_url(booked_show))

    assert response.status_code == 409
    assert response.json()["code"] == "show_has_bookings"
