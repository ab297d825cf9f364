"""The booking endpoints: book, cancel, read one, list mine, and Idempotency-Key."""

import re
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from booking import services
from booking.models import Booking, IdempotencyKey, Seat, Show

from .conftest import make_movie, make_show, make_user

REFERENCE_PATTERN = re.compile(r"^[ABCDEFGHJKLMNPQRSTUVWXYZ23456789]{8}$")

pytestmark = pytest.mark.django_db


def book_url(show_or_id) -> str:
    return f"/api/shows/{getattr(show_or_id, 'pk', show_or_id)}/book/"


def cancel_url(booking_id) -> str:
    return f"/api/bookings/{booking_id}/cancel/"


def post_book(client, show, body, **headers):
    return client.post(book_url(show), body, format="json", headers=headers)


def booked_seat_numbers(show) -> list[int]:
    return list(
        Seat.objects.filter(show=show, booking__isnull=False)
        .order_by("number")
        .values_list("number", flat=True)
    )


def book_directly(user, show, seats):
    """Book through the service, without HTTP (and without the booking throttle)."""
    return services.book_seats(user=user, show=show, seat_numbers=seats, now=timezone.now())


def move_show_start(show, start_time):
    # A plain UPDATE: staff corrections aside, time passing is what moves a show into the past.
    Show.objects.filter(pk=show.pk).update(start_time=start_time)


# --- Booking --------------------------------------------------------------------------


def test_booking_one_seat_returns_201_with_every_booking_field(auth_client, show, user):
    response = post_book(auth_client, show, {"seat_number": 12})

    assert response.status_code == 201
    body = response.json()
    assert set(body) == {
        "id",
        "reference",
        "show",
        "seat_numbers",
        "seats",
        "status",
        "total_price",
        "created_at",
        "cancelled_at",
        "cancellable_until",
    }
    booking = Booking.objects.get()
    assert body["id"] == booking.pk
    assert booking.user == user
    assert REFERENCE_PATTERN.match(body["reference"])
    assert body["reference"] == booking.reference
    assert body["show"]["id"] == show.pk
    assert body["show"]["screen_name"] == "Screen 1"
    assert datetime.fromisoformat(body["show"]["start_time"]) == show.start_time
    assert body["show"]["movie"] == {"id": show.movie.pk, "title": "Dune: Part Two"}
    assert set(body["show"]) == {"id", "start_time", "screen_name", "movie"}
    assert body["seat_numbers"] == [12]
    assert body["seats"] == [
        {"number": 12, "label": "12", "category": "standard", "price": "250.00"}
    ]
    assert body["status"] == "booked"
    assert body["total_price"] == "250.00"
    assert datetime.fromisoformat(body["created_at"]) == booking.created_at
    assert body["cancelled_at"] is None
    assert datetime.fromisoformat(body["cancellable_until"]) == show.start_time


def test_booking_several_seats_charges_the_price_times_the_seats(auth_client, show):
    response = post_book(auth_client, show, {"seat_numbers": [12, 13]})

    assert response.status_code == 201
    assert response.json()["seat_numbers"] == [12, 13]
    assert response.json()["total_price"] == "500.00"
    assert booked_seat_numbers(show) == [12, 13]


def test_booking_ten_seats_in_any_order_books_them_all_sorted(auth_client, show):
    seats = [10, 3, 7, 1, 9, 2, 8, 4, 6, 5]

    response = post_book(auth_client, show, {"seat_numbers": seats})

    assert response.status_code == 201
    assert response.json()["seat_numbers"] == list(range(1, 11))
    assert response.json()["total_price"] == "2500.00"
    assert booked_seat_numbers(show) == list(range(1, 11))


def test_booked_seats_leave_the_seat_map_at_once(auth_client, api_client, show):
    post_book(auth_client, show, {"seat_numbers": [12, 13]})

    seat_map = api_client.get(f"/api/shows/{show.pk}/seats/").json()

    assert seat_map["booked_seats"] == [12, 13]
    assert 12 not in seat_map["available_seats"]
    assert len(seat_map["available_seats"]) == 118


@pytest.mark.parametrize(
    "body, seats",
    [
        ({"seat_number": "12"}, [12]),
        ({"seat_numbers": ["12", "13"]}, [12, 13]),
        ({"seat_numbers": [12, "13"]}, [12, 13]),
    ],
)
def test_numeric_strings_are_accepted_as_seat_numbers(auth_client, show, body, seats):
    response = post_book(auth_client, show, body)

    assert response.status_code == 201
    assert response.json()["seat_numbers"] == seats


def test_booking_a_taken_seat_returns_409_seat_unavailable_naming_it(auth_client, other_user, show):
    book_directly(other_user, show, [12])

    response = post_book(auth_client, show, {"seat_number": 12})

    assert response.status_code == 409
    assert response.json() == {
        "code": "seat_unavailable",
        "detail": "Seat 12 is already booked.",
        "seats": [12],
        "labels": ["12"],
    }


def test_a_partly_taken_request_books_none_of_its_seats(auth_client, user, other_user, show):
    book_directly(other_user, show, [12, 14])

    response = post_book(auth_client, show, {"seat_numbers": [14, 13, 12, 15]})

    assert response.status_code == 409
    assert response.json()["seats"] == [12, 14]
    assert response.json()["detail"] == "Seats 12, 14 are already booked."
    assert booked_seat_numbers(show) == [12, 14]  # 13 and 15 were not kept
    assert not Booking.objects.filter(user=user).exists()


def test_booking_a_started_show_returns_409_show_started(auth_client, movie):
    show = make_show(movie, start_time=timezone.now() - timedelta(minutes=1))

    response = post_book(auth_client, show, {"seat_number": 12})

    assert response.status_code == 409
    assert response.json()["code"] == "show_started"
    assert not Booking.objects.exists()


@pytest.mark.parametrize("seat", [0, -1, 121, 32768])
def test_a_seat_outside_the_show_returns_400_naming_the_range(auth_client, show, seat):
    response = post_book(auth_client, show, {"seat_number": seat})

    assert response.status_code == 400
    assert response.json() == {
        "code": "invalid",
        "detail": "Invalid input.",
        "errors": {"seat_numbers": [f"Seat {seat} does not exist in this show (1-120)."]},
    }
    assert not Booking.objects.exists()


def test_every_out_of_range_seat_of_a_list_is_named_and_none_is_booked(auth_client, show):
    response = post_book(auth_client, show, {"seat_numbers": [121, 5, 0]})

    assert response.status_code == 400
    assert response.json()["errors"]["seat_numbers"] == [
        "Seat 0 does not exist in this show (1-120).",
        "Seat 121 does not exist in this show (1-120).",
    ]
    assert booked_seat_numbers(show) == []


def test_the_last_seat_of_a_show_can_be_booked(auth_client, movie):
    show = make_show(movie, total_seats=7)

    response = post_book(auth_client, show, {"seat_number": 7})

    assert response.status_code == 201
    assert booked_seat_numbers(show) == [7]


@pytest.mark.parametrize(
    "body, field",
    [
        ({"seat_numbers": [12, 13, 12]}, "seat_numbers"),
        ({"seat_numbers": list(range(1, 12))}, "seat_numbers"),
        ({"seat_numbers": []}, "seat_numbers"),
        ({}, "non_field_errors"),
        ({"seats": [["B2"]]}, "seats"),
        ({"seats": ["1", "2"], "seat_numbers": [3]}, "non_field_errors"),
        ({"seat_number": 12, "seat_numbers": [13]}, "non_field_errors"),
        ({"seat_number": True}, "seat_number"),
        ({"seat_number": 12.5}, "seat_number"),
        ({"seat_number": None}, "seat_number"),
        ({"seat_number": [12]}, "seat_number"),
        ({"seat_number": "abc"}, "seat_number"),
        ({"seat_number": {"a": 1}}, "seat_number"),
        ({"seat_number": ""}, "seat_number"),
        ({"seat_numbers": "abc"}, "seat_numbers"),
        ({"seat_numbers": {"a": 1}}, "seat_numbers"),
        ({"seat_numbers": 12}, "seat_numbers"),
        ({"seat_numbers": None}, "seat_numbers"),
        ({"seat_numbers": [True]}, "seat_numbers"),
        ({"seat_numbers": [12.5]}, "seat_numbers"),
        ({"seat_numbers": [None]}, "seat_numbers"),
        ({"seat_numbers": [[12]]}, "seat_numbers"),
    ],
)
def test_a_malformed_body_returns_400_invalid_and_books_nothing(auth_client, show, body, field):
    response = post_book(auth_client, show, body)

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert field in response.json()["errors"]
    assert not Booking.objects.exists()


def test_a_json_body_that_is_not_an_object_returns_400(auth_client, show):
    response = post_book(auth_client, show, [12])

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"


def test_malformed_json_returns_400_invalid(auth_client, show):
    response = auth_client.post(book_url(show), "{not json", content_type="application/json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"


def test_a_form_encoded_body_returns_415(auth_client, show):
    response = auth_client.post(book_url(show), {"seat_number": 12}, format="multipart")

    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"
    assert not Booking.objects.exists()


def test_booking_an_unknown_show_returns_404(auth_client):
    response = post_book(auth_client, 999_999, {"seat_number": 12})

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_booking_without_a_token_returns_401_and_books_nothing(api_client, show):
    response = post_book(api_client, show, {"seat_number": 12})

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert not Booking.objects.exists()


# Order of checks: unknown id 404, then body 400, then show_started 409, then seat range
# 400, then seat_unavailable 409.


def test_an_unknown_show_is_reported_before_a_malformed_body(auth_client):
    response = post_book(auth_client, 999_999, {"seat_number": "abc"})

    assert response.status_code == 404


def test_a_malformed_body_is_reported_before_show_started(auth_client, movie):
    show = make_show(movie, start_time=timezone.now() - timedelta(hours=1))

    response = post_book(auth_client, show, {"seat_numbers": [1, 1]})

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"


def test_show_started_is_reported_before_an_out_of_range_seat(auth_client, movie):
    show = make_show(movie, start_time=timezone.now() - timedelta(hours=1))

    response = post_book(auth_client, show, {"seat_number": 500})

    assert response.status_code == 409
    assert response.json()["code"] == "show_started"


def test_show_started_is_reported_before_a_taken_seat(auth_client, other_user, show):
    book_directly(other_user, show, [12])
    move_show_start(show, timezone.now() - timedelta(minutes=5))

    response = post_book(auth_client, show, {"seat_number": 12})

    assert response.status_code == 409
    assert response.json()["code"] == "show_started"


def test_an_out_of_range_seat_is_reported_before_a_taken_seat(auth_client, other_user, show):
    book_directly(other_user, show, [12])

    response = post_book(auth_client, show, {"seat_numbers": [12, 121]})

    assert response.status_code == 400
    assert response.json()["errors"]["seat_numbers"] == [
        "Seat 121 does not exist in this show (1-120)."
    ]


def test_a_later_price_change_does_not_change_the_total_price(auth_client, staff_client, show):
    booking_id = post_book(auth_client, show, {"seat_numbers": [1, 2]}).json()["id"]

    patched = staff_client.patch(f"/api/shows/{show.pk}/", {"price": "999.00"}, format="json")

    assert patched.status_code == 200
    assert patched.json()["price"] == "999.00"
    assert auth_client.get(f"/api/bookings/{booking_id}/").json()["total_price"] == "500.00"
    new_booking = post_book(auth_client, show, {"seat_number": 3}).json()
    assert new_booking["total_price"] == "999.00"


# --- Cancelling -----------------------------------------------------------------------


def test_cancelling_returns_200_with_the_cancelled_booking(auth_client, show):
    booked = post_book(auth_client, show, {"seat_numbers": [12, 13]}).json()

    before = timezone.now()
    response = auth_client.post(cancel_url(booked["id"]))

    assert response.status_code == 200
    body = response.json()
    assert body["id"] == booked["id"]
    assert body["reference"] == booked["reference"]
    assert body["status"] == "cancelled"
    assert datetime.fromisoformat(body["cancelled_at"]) >= before
    assert body["seat_numbers"] == [12, 13]  # its history is kept
    assert body["total_price"] == "500.00"
    assert body["show"] == booked["show"]
    assert Booking.objects.get().status == Booking.Status.CANCELLED


def test_cancelled_seats_are_free_at_once_for_someone_else(
    auth_client, other_client, api_client, show
):
    booked = post_book(auth_client, show, {"seat_numbers": [12, 13]}).json()

    auth_client.post(cancel_url(booked["id"]))

    seat_map = api_client.get(f"/api/shows/{show.pk}/seats/").json()
    assert seat_map["booked_seats"] == []
    assert {12, 13} <= set(seat_map["available_seats"])
    rebooked = post_book(other_client, show, {"seat_numbers": [13, 12]})
    assert rebooked.status_code == 201
    assert rebooked.json()["id"] != booked["id"]
    # The cancelled booking still remembers its seats.
    mine = auth_client.get(f"/api/bookings/{booked['id']}/").json()
    assert mine["seat_numbers"] == [12, 13]
    assert mine["status"] == "cancelled"


def test_cancelling_twice_returns_409_already_cancelled(auth_client, show):
    booking_id = post_book(auth_client, show, {"seat_number": 12}).json()["id"]
    first = auth_client.post(cancel_url(booking_id))

    response = auth_client.post(cancel_url(booking_id))

    assert response.status_code == 409
    assert response.json()["code"] == "already_cancelled"
    refreshed = auth_client.get(f"/api/bookings/{booking_id}/").json()
    assert refreshed["cancelled_at"] == first.json()["cancelled_at"]


def test_already_cancelled_is_reported_before_show_started(auth_client, show):
    booking_id = post_book(auth_client, show, {"seat_number": 12}).json()["id"]
    auth_client.post(cancel_url(booking_id))
    move_show_start(show, timezone.now() - timedelta(minutes=5))

    response = auth_client.post(cancel_url(booking_id))

    assert response.status_code == 409
    assert response.json()["code"] == "already_cancelled"


def test_already_cancelled_is_reported_before_cancellation_closed(auth_client, show, settings):
    booking_id = post_book(auth_client, show, {"seat_number": 12}).json()["id"]
    auth_client.post(cancel_url(booking_id))
    settings.CANCELLATION_CUTOFF_MINUTES = 48 * 60  # the show starts in 24 hours

    response = auth_client.post(cancel_url(booking_id))

    assert response.status_code == 409
    assert response.json()["code"] == "already_cancelled"


def test_cancelling_after_the_show_started_returns_409_and_keeps_the_seats(auth_client, show):
    booking_id = post_book(auth_client, show, {"seat_number": 12}).json()["id"]
    move_show_start(show, timezone.now() - timedelta(minutes=5))

    response = auth_client.post(cancel_url(booking_id))

    assert response.status_code == 409
    assert response.json()["code"] == "show_started"
    assert Booking.objects.get().status == Booking.Status.BOOKED
    assert booked_seat_numbers(show) == [12]


def test_cancelling_inside_the_cutoff_returns_409_cancellation_closed(auth_client, movie, settings):
    settings.CANCELLATION_CUTOFF_MINUTES = 60
    show = make_show(movie, start_time=timezone.now() + timedelta(minutes=30))
    booking_id = post_book(auth_client, show, {"seat_number": 12}).json()["id"]

    response = auth_client.post(cancel_url(booking_id))

    assert response.status_code == 409
    assert response.json()["code"] == "cancellation_closed"
    assert Booking.objects.get().status == Booking.Status.BOOKED
    assert booked_seat_numbers(show) == [12]


def test_cancelling_before_the_cutoff_succeeds(auth_client, movie, settings):
    settings.CANCELLATION_CUTOFF_MINUTES = 60
    show = make_show(movie, start_time=timezone.now() + timedelta(minutes=90))
    booking_id = post_book(auth_client, show, {"seat_number": 12}).json()["id"]

    response = auth_client.post(cancel_url(booking_id))

    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"


def test_cancellable_until_is_the_start_time_minus_the_cutoff(auth_client, show, settings):
    settings.CANCELLATION_CUTOFF_MINUTES = 90

    body = post_book(auth_client, show, {"seat_number": 12}).json()

    cancellable_until = datetime.fromisoformat(body["cancellable_until"])
    assert cancellable_until == show.start_time - timedelta(minutes=90)


def test_cancelling_another_users_booking_returns_404_and_changes_nothing(
    auth_client, other_client, show
):
    booking_id = post_book(auth_client, show, {"seat_number": 12}).json()["id"]

    response = other_client.post(cancel_url(booking_id))

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert Booking.objects.get().status == Booking.Status.BOOKED
    assert booked_seat_numbers(show) == [12]


def test_staff_cannot_cancel_another_users_booking(auth_client, staff_client, show):
    booking_id = post_book(auth_client, show, {"seat_number": 12}).json()["id"]

    response = staff_client.post(cancel_url(booking_id))

    assert response.status_code == 404
    assert Booking.objects.get().status == Booking.Status.BOOKED


def test_cancelling_an_unknown_booking_returns_404(auth_client):
    response = auth_client.post(cancel_url(999_999))

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_cancelling_without_a_token_returns_401(api_client, user, show):
    booking = book_directly(user, show, [12])

    response = api_client.post(cancel_url(booking.pk))

    assert response.status_code == 401
    assert Booking.objects.get().status == Booking.Status.BOOKED


# --- Reading bookings -----------------------------------------------------------------


def test_reading_my_booking_returns_what_booking_returned(auth_client, show):
    booked = post_book(auth_client, show, {"seat_numbers": [12, 13]}).json()

    response = auth_client.get(f"/api/bookings/{booked['id']}/")

    assert response.status_code == 200
    assert response.json() == booked


@pytest.mark.parametrize("reader", ["other_client", "staff_client"])
def test_reading_another_users_booking_returns_404(auth_client, show, reader, request):
    booked = post_book(auth_client, show, {"seat_number": 12}).json()

    response = request.getfixturevalue(reader).get(f"/api/bookings/{booked['id']}/")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert booked["reference"] not in response.content.decode()


def test_reading_an_unknown_booking_returns_404(auth_client):
    response = auth_client.get("/api/bookings/999999/")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_reading_a_booking_without_a_token_returns_401(api_client, user, show):
    booking = book_directly(user, show, [12])

    response = api_client.get(f"/api/bookings/{booking.pk}/")

    assert response.status_code == 401


def test_my_bookings_lists_only_mine_newest_first(auth_client, user, other_user, show):
    first = book_directly(user, show, [1])
    book_directly(other_user, show, [2])
    second = book_directly(user, show, [3])
    third = book_directly(user, show, [4, 5])

    response = auth_client.get("/api/my-bookings/")

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3
    assert [b["id"] for b in body["results"]] == [third.pk, second.pk, first.pk]
    assert body["results"][0]["seat_numbers"] == [4, 5]
    assert body["results"][0]["total_price"] == "500.00"


@pytest.mark.parametrize("wanted", ["booked", "cancelled"])
def test_my_bookings_filters_by_status(auth_client, user, show, wanted):
    kept = book_directly(user, show, [1])
    dropped = book_directly(user, show, [2])
    services.cancel_booking(booking=dropped, now=timezone.now())

    response = auth_client.get("/api/my-bookings/", {"status": wanted})

    assert response.status_code == 200
    expected = kept if wanted == "booked" else dropped
    assert [b["id"] for b in response.json()["results"]] == [expected.pk]
    assert response.json()["results"][0]["status"] == wanted


def test_my_bookings_with_an_unknown_status_returns_400(auth_client):
    response = auth_client.get("/api/my-bookings/", {"status": "bogus"})

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert "status" in response.json()["errors"]


def test_my_bookings_are_paginated(auth_client, user, show, settings):
    settings.MAX_SEATS_PER_USER_PER_SHOW = 0  # 25 bookings of one show
    for seat in range(1, 26):
        book_directly(user, show, [seat])

    first_page = auth_client.get("/api/my-bookings/").json()
    small_page = auth_client.get("/api/my-bookings/", {"page_size": 10, "page": 3}).json()

    assert first_page["count"] == 25
    assert len(first_page["results"]) == 20
    assert first_page["next"] is not None
    assert first_page["previous"] is None
    assert [b["seat_numbers"] for b in small_page["results"]] == [[5], [4], [3], [2], [1]]
    assert small_page["next"] is None


def test_my_bookings_past_the_last_page_returns_404(auth_client, user, show):
    book_directly(user, show, [1])

    response = auth_client.get("/api/my-bookings/", {"page": 2})

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_my_bookings_without_a_token_returns_401(api_client):
    response = api_client.get("/api/my-bookings/")

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


# --- Idempotency-Key ------------------------------------------------------------------


def test_a_retry_with_the_same_key_replays_the_first_answer_and_books_once(auth_client, show):
    first = post_book(auth_client, show, {"seat_numbers": [12, 13]}, **{"Idempotency-Key": "k1"})

    retry = post_book(auth_client, show, {"seat_numbers": [12, 13]}, **{"Idempotency-Key": "k1"})

    assert first.status_code == 201
    assert "Idempotent-Replayed" not in first.headers
    assert retry.status_code == 201
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.json() == first.json()
    assert Booking.objects.count() == 1
    assert booked_seat_numbers(show) == [12, 13]


def test_the_same_key_with_another_body_returns_409_idempotency_key_reused(auth_client, show):
    post_book(auth_client, show, {"seat_number": 12}, **{"Idempotency-Key": "k1"})

    response = post_book(auth_client, show, {"seat_number": 13}, **{"Idempotency-Key": "k1"})

    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_key_reused"
    assert booked_seat_numbers(show) == [12]


def test_the_same_key_on_another_shows_booking_returns_409(auth_client, show, movie):
    other_show = make_show(movie, screen_name="Screen 2")
    post_book(auth_client, show, {"seat_number": 12}, **{"Idempotency-Key": "k1"})

    response = post_book(auth_client, other_show, {"seat_number": 12}, **{"Idempotency-Key": "k1"})

    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_key_reused"
    assert booked_seat_numbers(other_show) == []


@pytest.mark.parametrize(
    ("first_key", "second_key"),
    [("abc", "ABC"), ("key", "key "), ("cafe", "café")],
    ids=["case", "trailing-space", "accent"],
)
def test_keys_are_compared_exactly_not_by_the_databases_collation(
    auth_client, show, first_key, second_key
):
    # MySQL's default collation would call these equal; they are different keys.
    post_book(auth_client, show, {"seat_number": 12}, **{"Idempotency-Key": first_key})

    response = post_book(auth_client, show, {"seat_number": 13}, **{"Idempotency-Key": second_key})

    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response.headers
    assert booked_seat_numbers(show) == [12, 13]


def test_a_key_of_255_characters_is_accepted(auth_client, show):
    response = post_book(auth_client, show, {"seat_number": 12}, **{"Idempotency-Key": "k" * 255})

    assert response.status_code == 201


def test_a_key_over_255_characters_returns_400_and_books_nothing(auth_client, show):
    response = post_book(auth_client, show, {"seat_number": 12}, **{"Idempotency-Key": "k" * 256})

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert "Idempotency-Key" in response.json()["errors"]
    assert not Booking.objects.exists()


def test_a_failed_request_stores_no_key_so_its_retry_is_handled_afresh(
    auth_client, other_user, show
):
    taken = book_directly(other_user, show, [12])
    failed = post_book(auth_client, show, {"seat_number": 12}, **{"Idempotency-Key": "k1"})
    assert failed.status_code == 409
    assert failed.json()["code"] == "seat_unavailable"
    assert not IdempotencyKey.objects.exists()
    services.cancel_booking(booking=taken, now=timezone.now())

    retry = post_book(auth_client, show, {"seat_number": 12}, **{"Idempotency-Key": "k1"})

    assert retry.status_code == 201
    assert "Idempotent-Replayed" not in retry.headers
    assert IdempotencyKey.objects.count() == 1


def test_a_replay_returns_the_original_body_even_after_cancelling(auth_client, show):
    first = post_book(auth_client, show, {"seat_number": 12}, **{"Idempotency-Key": "k1"})
    auth_client.post(cancel_url(first.json()["id"]))

    retry = post_book(auth_client, show, {"seat_number": 12}, **{"Idempotency-Key": "k1"})

    assert retry.status_code == 201
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.json() == first.json()
    assert retry.json()["status"] == "booked"
    assert booked_seat_numbers(show) == []  # the replay booked nothing


def test_keys_belong_to_one_user(auth_client, other_client, other_user, show):
    post_book(auth_client, show, {"seat_number": 12}, **{"Idempotency-Key": "shared"})

    response = post_book(other_client, show, {"seat_number": 13}, **{"Idempotency-Key": "shared"})

    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response.headers
    assert Booking.objects.get(pk=response.json()["id"]).user == other_user
    assert booked_seat_numbers(show) == [12, 13]


def test_another_users_retry_with_my_key_and_body_is_not_given_my_booking(
    auth_client, other_client, show
):
    mine = post_book(auth_client, show, {"seat_number": 12}, **{"Idempotency-Key": "shared"})

    theirs = post_book(other_client, show, {"seat_number": 12}, **{"Idempotency-Key": "shared"})

    assert theirs.status_code == 409
    assert theirs.json()["code"] == "seat_unavailable"
    assert mine.json()["reference"] not in theirs.content.decode()


def test_a_key_older_than_24_hours_has_expired(auth_client, show):
    first = post_book(auth_client, show, {"seat_number": 12}, **{"Idempotency-Key": "k1"})
    auth_client.post(cancel_url(first.json()["id"]))
    IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(hours=24, minutes=1))

    retry = post_book(auth_client, show, {"seat_number": 12}, **{"Idempotency-Key": "k1"})

    assert retry.status_code == 201
    assert "Idempotent-Replayed" not in retry.headers
    assert retry.json()["id"] != first.json()["id"]
    assert booked_seat_numbers(show) == [12]
    assert IdempotencyKey.objects.count() == 1


def test_a_key_younger_than_24_hours_still_replays(auth_client, show):
    first = post_book(auth_client, show, {"seat_number": 12}, **{"Idempotency-Key": "k1"})
    IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(hours=23, minutes=59))

    retry = post_book(auth_client, show, {"seat_number": 12}, **{"Idempotency-Key": "k1"})

    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.json() == first.json()
    assert Booking.objects.count() == 1


# --- Query budgets --------------------------------------------------------------------


@pytest.mark.parametrize("bookings", [2, 15])
def test_my_bookings_costs_the_same_queries_for_any_number_of_bookings(
    auth_client, user, django_assert_num_queries, bookings
):
    # Bookings of different shows and movies: their show and movie must come in the join.
    for n in range(bookings):
        show = make_show(make_movie(title=f"Movie {n}"))
        book_directly(user, show, [1, 2])

    # 1. the user behind the access token
    # 2. COUNT(*) of the user's bookings, for the page
    # 3. one page of bookings JOIN show JOIN movie
    with django_assert_num_queries(3):
        response = auth_client.get("/api/my-bookings/")

    assert response.status_code == 200
    assert len(response.json()["results"]) == bookings


@pytest.mark.parametrize("booked", [0, 30])
def test_the_seat_map_costs_one_query(api_client, show, booked, django_assert_num_queries):
    for first_seat in range(1, booked + 1, 10):
        book_directly(make_user(f"fan{first_seat}"), show, list(range(first_seat, first_seat + 10)))

    # 1. its seats' numbers and booking ids, JOIN the show
    with django_assert_num_queries(1):
        response = api_client.get(f"/api/shows/{show.pk}/seats/")

    assert response.status_code == 200
    assert len(response.json()["booked_seats"]) == booked
