"""Checkout through HTTP: holds, their release, expiry and confirmation, best available
seats, the per-user seat limit, and what all of it does to the seat map and its ETag.

Time moves in two ways, never by sleeping: holds made through the service with a `now`
in the past (so they are already expired), and `django.utils.timezone.now` patched for
one request when a hold must expire between two requests.
"""

import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from unittest import mock

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from booking import services
from booking.models import Booking, Hold, Seat, Show

from .conftest import make_movie, make_screen, make_show, make_show_on_screen, make_user

pytestmark = pytest.mark.django_db

HOLD_FIELDS = {
    "id",
    "show",
    "seat_numbers",
    "seats",
    "total_price",
    "status",
    "expires_at",
    "created_at",
    "booking",
}
BOOKING_FIELDS = {
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
# laid_out_show (the contract's example screen): row A is seats 1-12, standard at 250.00,
# with aisles after A3 and A9; row J is seats 13-22 (J1-J10), premium at 400.00.
ROW_A = list(range(1, 13))
ROW_J = list(range(13, 23))
ALL_SEATS = ROW_A + ROW_J


# --- Helpers --------------------------------------------------------------------------


def holds_url(show) -> str:
    return f"/api/shows/{show.pk}/holds/"


def book_url(show) -> str:
    return f"/api/shows/{show.pk}/book/"


def hold_url(hold_id) -> str:
    return f"/api/holds/{hold_id}/"


def confirm_url(hold_id) -> str:
    return f"/api/holds/{hold_id}/confirm/"


def seats_url(show) -> str:
    return f"/api/shows/{show.pk}/seats/"


def show_url(show) -> str:
    return f"/api/shows/{show.pk}/"


ENDPOINTS = {"book": book_url, "holds": holds_url}


def post_to(endpoint: str, client, show, body, **headers):
    """POST body to the show's book/ or holds/ endpoint."""
    return client.post(ENDPOINTS[endpoint](show), body, format="json", headers=headers)


def post_hold(client, show, body):
    return post_to("holds", client, show, body)


def post_book(client, show, body):
    return post_to("book", client, show, body)


def confirm(client, hold_id, **headers):
    return client.post(confirm_url(hold_id), format="json", headers=headers)


def minutes_ago(minutes: int) -> datetime:
    return timezone.now() - timedelta(minutes=minutes)


def hold_directly(user, show, seats, *, now=None) -> Hold:
    """Hold seats through the service (no HTTP, no throttle), at now (default: now)."""
    return services.hold_seats(user=user, show=show, seat_numbers=seats, now=now or timezone.now())


def expired_hold(user, show, seats) -> Hold:
    """A hold made one minute longer ago than holds last: expired, and not swept."""
    return hold_directly(user, show, seats, now=minutes_ago(django_settings.SEAT_HOLD_MINUTES + 1))


def book_directly(user, show, seats) -> Booking:
    return services.book_seats(user=user, show=show, seat_numbers=seats, now=timezone.now())


def move_show_start(show, start_time) -> None:
    # A plain UPDATE: time passing is what moves a show into the past.
    Show.objects.filter(pk=show.pk).update(start_time=start_time)


def seat_statuses(client, show) -> dict[int, str]:
    seat_map = client.get(seats_url(show)).json()
    return {seat["number"]: seat["status"] for row in seat_map["rows"] for seat in row["seats"]}


def seats_held_by(show) -> dict[int, uuid.UUID]:
    """Seat number -> the hold its row points at, for the show's pointed-at seats."""
    return dict(
        Seat.objects.filter(show=show, hold__isnull=False)
        .order_by("number")
        .values_list("number", "hold_id")
    )


def booked_seats(show) -> list[int]:
    return list(
        Seat.objects.filter(show=show, booking__isnull=False)
        .order_by("number")
        .values_list("number", flat=True)
    )


def status_of(hold) -> str:
    return Hold.objects.values_list("status", flat=True).get(pk=hold.pk)


def error(response) -> str:
    return response.json()["code"]


# --- Holding seats --------------------------------------------------------------------


@pytest.mark.parametrize("hold_minutes", [10, 3])
def test_holding_seats_returns_201_with_exactly_the_hold_fields(
    auth_client, user, laid_out_show, settings, hold_minutes
):
    settings.SEAT_HOLD_MINUTES = hold_minutes

    response = post_hold(auth_client, laid_out_show, {"seat_numbers": [13, 4]})

    assert response.status_code == 201
    body = response.json()
    assert set(body) == HOLD_FIELDS
    hold = Hold.objects.get()
    assert hold.user == user
    assert body["id"] == str(uuid.UUID(body["id"])) == str(hold.pk)
    assert body["show"] == {
        "id": laid_out_show.pk,
        "start_time": body["show"]["start_time"],
        "screen_name": "Screen 1",
        "movie": {"id": laid_out_show.movie.pk, "title": "Dune: Part Two"},
    }
    assert datetime.fromisoformat(body["show"]["start_time"]) == laid_out_show.start_time
    assert body["seat_numbers"] == [4, 13]
    assert body["seats"] == [
        {"number": 4, "label": "A4", "category": "standard", "price": "250.00"},
        {"number": 13, "label": "J1", "category": "premium", "price": "400.00"},
    ]
    assert body["total_price"] == "650.00"
    assert body["status"] == "active"
    assert body["booking"] is None
    created_at = datetime.fromisoformat(body["created_at"])
    expires_at = datetime.fromisoformat(body["expires_at"])
    assert created_at == hold.created_at
    assert expires_at == hold.expires_at
    assert expires_at - created_at == timedelta(minutes=hold_minutes)
    assert created_at.utcoffset() == expires_at.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("body", "expected_seats"),
    [
        pytest.param({"seat_number": 5}, [5], id="seat_number"),
        pytest.param({"seat_numbers": [14, 5]}, [5, 14], id="seat_numbers"),
        pytest.param({"seats": ["a5", "J2"]}, [5, 14], id="seats as labels, any case"),
        pytest.param({"best_available": {"count": 2}}, [17, 18], id="best_available"),
        pytest.param(
            {"best_available": {"count": 2, "category": "standard"}},
            [6, 7],
            id="best_available of a category",
        ),
    ],
)
def test_every_body_form_of_book_holds_those_seats(
    auth_client, laid_out_show, body, expected_seats
):
    response = post_hold(auth_client, laid_out_show, body)

    assert response.status_code == 201
    assert response.json()["seat_numbers"] == expected_seats
    hold = Hold.objects.get()
    assert hold.seat_numbers == expected_seats
    assert seats_held_by(laid_out_show) == dict.fromkeys(expected_seats, hold.pk)
    assert booked_seats(laid_out_show) == []


def test_held_seats_are_held_in_the_seat_map_and_never_available(
    auth_client, api_client, laid_out_show
):
    post_hold(auth_client, laid_out_show, {"seats": ["A4", "J1"]})

    seat_map = api_client.get(seats_url(laid_out_show)).json()

    assert seat_map["held_seats"] == [4, 13]
    assert seat_map["booked_seats"] == []
    assert seat_map["available_seats"] == [n for n in ALL_SEATS if n not in (4, 13)]
    statuses = {s["number"]: s["status"] for row in seat_map["rows"] for s in row["seats"]}
    assert statuses == {n: "held" if n in (4, 13) else "available" for n in ALL_SEATS}
    assert seat_map["categories"] == [
        {"name": "standard", "price": "250.00", "available": 11},
        {"name": "premium", "price": "400.00", "available": 9},
    ]


def test_the_shows_available_count_leaves_out_held_seats_but_not_expired_ones(
    auth_client, api_client, user, other_user, laid_out_show
):
    book_directly(other_user, laid_out_show, [1])
    expired_hold(other_user, laid_out_show, [20, 21, 22])  # blocks nobody any more
    post_hold(auth_client, laid_out_show, {"seat_numbers": [4, 13]})

    detail = api_client.get(show_url(laid_out_show)).json()
    listed = api_client.get("/api/shows/").json()["results"]

    # 22 seats - 1 booked - 2 held; the expired hold's 3 seats are available again.
    assert detail["available_seats"] == 19
    assert [show["available_seats"] for show in listed] == [19]


@pytest.mark.parametrize("endpoint", ["book", "holds"])
def test_another_users_request_for_held_seats_is_409_seat_unavailable_naming_them(
    other_client, user, laid_out_show, endpoint
):
    hold = hold_directly(user, laid_out_show, [4, 5])

    response = post_to(endpoint, other_client, laid_out_show, {"seat_numbers": [3, 4, 5]})

    assert response.status_code == 409
    assert response.json()["code"] == "seat_unavailable"
    assert response.json()["seats"] == [4, 5]
    assert response.json()["labels"] == ["A4", "A5"]
    assert seats_held_by(laid_out_show) == {4: hold.pk, 5: hold.pk}  # still the holder's
    assert booked_seats(laid_out_show) == []
    assert list(Hold.objects.values_list("pk", flat=True)) == [hold.pk]


@pytest.mark.parametrize("endpoint", ["book", "holds"])
def test_another_users_best_available_goes_around_held_seats(
    other_client, user, laid_out_show, endpoint
):
    hold_directly(user, laid_out_show, [16, 17, 18, 19])  # J4-J7

    response = post_to(
        endpoint,
        other_client,
        laid_out_show,
        {"best_available": {"count": 3, "category": "premium"}},
    )

    # J1-J3 and J8-J10 are equally central and leave no orphan: the leftmost wins.
    assert response.status_code == 201
    assert response.json()["seat_numbers"] == [13, 14, 15]


# --- Reading a hold -------------------------------------------------------------------


def test_the_holder_reads_their_hold_as_it_was_created(auth_client, laid_out_show):
    created = post_hold(auth_client, laid_out_show, {"seat_numbers": [4, 5]})

    response = auth_client.get(hold_url(created.json()["id"]))

    assert response.status_code == 200
    assert response.json() == created.json()


@pytest.mark.parametrize(
    ("method", "suffix"),
    [("get", ""), ("delete", ""), ("post", "confirm/")],
    ids=["GET", "DELETE", "confirm"],
)
def test_another_users_hold_is_404_for_every_action_and_stays_untouched(
    other_client, user, laid_out_show, method, suffix
):
    hold = hold_directly(user, laid_out_show, [4, 5])

    response = getattr(other_client, method)(hold_url(hold.pk) + suffix, format="json")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert status_of(hold) == "active"
    assert seats_held_by(laid_out_show) == {4: hold.pk, 5: hold.pk}
    assert booked_seats(laid_out_show) == []


@pytest.mark.parametrize(
    "hold_id",
    [
        "not-a-uuid",
        "12345",
        "-" * 36,
        "g" * 32,
        "0" * 33,
        str(uuid.UUID(int=1)),  # well formed, but no such hold
    ],
)
@pytest.mark.parametrize(
    ("method", "suffix"),
    [("get", ""), ("delete", ""), ("post", "confirm/")],
    ids=["GET", "DELETE", "confirm"],
)
def test_a_malformed_or_unknown_hold_id_is_404(auth_client, method, suffix, hold_id):
    response = getattr(auth_client, method)(hold_url(hold_id) + suffix, format="json")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/api/shows/{show}/holds/"),
        ("get", "/api/holds/{hold}/"),
        ("delete", "/api/holds/{hold}/"),
        ("post", "/api/holds/{hold}/confirm/"),
    ],
)
def test_the_hold_endpoints_need_a_token(api_client, user, laid_out_show, method, path):
    hold = hold_directly(user, laid_out_show, [4])

    url = path.format(show=laid_out_show.pk, hold=hold.pk)
    response = getattr(api_client, method)(url, {"seat_number": 5}, format="json")

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert status_of(hold) == "active"


# --- Releasing a hold -----------------------------------------------------------------


def test_releasing_a_hold_is_204_and_its_seats_are_free_at_once(
    auth_client, other_client, api_client, laid_out_show
):
    hold_id = post_hold(auth_client, laid_out_show, {"seat_numbers": [4, 13]}).json()["id"]

    response = auth_client.delete(hold_url(hold_id))

    assert response.status_code == 204
    assert response.content == b""
    assert Hold.objects.get(pk=hold_id).status == "released"
    assert seats_held_by(laid_out_show) == {}
    assert auth_client.get(hold_url(hold_id)).json()["status"] == "released"
    assert set(seat_statuses(api_client, laid_out_show).values()) == {"available"}
    assert post_book(other_client, laid_out_show, {"seat_numbers": [4, 13]}).status_code == 201


def test_releasing_a_released_hold_again_is_409_hold_not_active(auth_client, laid_out_show):
    hold_id = post_hold(auth_client, laid_out_show, {"seat_numbers": [4]}).json()["id"]
    auth_client.delete(hold_url(hold_id))

    response = auth_client.delete(hold_url(hold_id))

    assert response.status_code == 409
    assert error(response) == "hold_not_active"


def test_releasing_a_confirmed_hold_is_409_hold_not_active_and_keeps_the_booking(
    auth_client, laid_out_show
):
    hold_id = post_hold(auth_client, laid_out_show, {"seat_numbers": [4]}).json()["id"]
    confirm(auth_client, hold_id)

    response = auth_client.delete(hold_url(hold_id))

    assert response.status_code == 409
    assert error(response) == "hold_not_active"
    assert booked_seats(laid_out_show) == [4]


@pytest.mark.parametrize("swept", [False, True], ids=["not swept", "swept"])
def test_releasing_an_expired_hold_is_409_hold_expired(auth_client, user, laid_out_show, swept):
    hold = expired_hold(user, laid_out_show, [4])
    if swept:
        services.expire_holds(now=timezone.now())

    response = auth_client.delete(hold_url(hold.pk))

    assert response.status_code == 409
    assert error(response) == "hold_expired"
    assert status_of(hold) == ("expired" if swept else "active")


def test_releasing_a_hold_that_was_released_before_it_expired_is_hold_not_active(
    auth_client, user, laid_out_show
):
    hold = expired_hold(user, laid_out_show, [4])
    services.release_hold(hold=hold, now=hold.created_at + timedelta(minutes=1))

    response = auth_client.delete(hold_url(hold.pk))

    assert response.status_code == 409
    assert error(response) == "hold_not_active"


# --- Expiry ---------------------------------------------------------------------------


def test_an_expired_hold_reads_expired_without_any_sweep(auth_client, user, laid_out_show):
    hold = expired_hold(user, laid_out_show, [4, 5])

    response = auth_client.get(hold_url(hold.pk))

    assert response.status_code == 200
    assert response.json()["status"] == "expired"
    assert status_of(hold) == "active"  # nothing swept it: the clock alone decides


def test_a_hold_reads_expired_the_moment_its_expiry_passes(auth_client, user, laid_out_show):
    hold = hold_directly(user, laid_out_show, [4])

    with mock.patch("django.utils.timezone.now", return_value=hold.expires_at):
        at_expiry = auth_client.get(hold_url(hold.pk))
    with mock.patch(
        "django.utils.timezone.now", return_value=hold.expires_at - timedelta(microseconds=1)
    ):
        just_before = auth_client.get(hold_url(hold.pk))

    assert at_expiry.json()["status"] == "expired"
    assert just_before.json()["status"] == "active"


@pytest.mark.parametrize("endpoint", ["book", "holds"])
def test_an_expired_hold_blocks_nobody(other_client, api_client, user, laid_out_show, endpoint):
    hold = expired_hold(user, laid_out_show, [4, 5])
    assert seat_statuses(api_client, laid_out_show)[4] == "available"

    response = post_to(endpoint, other_client, laid_out_show, {"seat_numbers": [4, 5]})

    assert response.status_code == 201
    assert response.json()["seat_numbers"] == [4, 5]
    assert status_of(hold) == "active"  # still unswept; it simply no longer counts


def test_best_available_takes_the_seats_of_an_expired_hold(other_client, user, laid_out_show):
    expired_hold(user, laid_out_show, ROW_J)

    response = post_hold(
        other_client, laid_out_show, {"best_available": {"count": 10, "category": "premium"}}
    )

    assert response.status_code == 201
    assert response.json()["seat_numbers"] == ROW_J


def test_expire_holds_marks_expired_holds_and_frees_their_seats_only(
    user, other_user, laid_out_show
):
    stale = expired_hold(user, laid_out_show, [1, 2])
    live = hold_directly(other_user, laid_out_show, [3, 4])
    third = make_user("carol")
    released = expired_hold(third, laid_out_show, [5])
    services.release_hold(hold=released, now=released.created_at + timedelta(minutes=1))
    confirmed = hold_directly(third, laid_out_show, [6])
    booking = services.confirm_hold(hold=confirmed, now=timezone.now())

    swept = services.expire_holds(now=timezone.now())

    assert swept == 1
    assert status_of(stale) == "expired"
    assert status_of(live) == "active"
    assert status_of(released) == "released"
    assert status_of(confirmed) == "confirmed"
    assert seats_held_by(laid_out_show) == {3: live.pk, 4: live.pk}
    assert not Seat.objects.filter(show=laid_out_show, number__in=[1, 2], held_until__isnull=False)
    assert booked_seats(laid_out_show) == [6]
    assert Hold.objects.get(pk=confirmed.pk).booking_id == booking.pk
    assert services.expire_holds(now=timezone.now()) == 0  # nothing left to do


def test_expire_holds_leaves_a_seat_that_someone_else_held_since(user, other_user, laid_out_show):
    stale = expired_hold(user, laid_out_show, [4])
    fresh = hold_directly(other_user, laid_out_show, [4])

    services.expire_holds(now=timezone.now())

    assert status_of(stale) == "expired"
    assert status_of(fresh) == "active"
    assert seats_held_by(laid_out_show) == {4: fresh.pk}


def test_expire_holds_leaves_a_hold_that_has_not_expired_at_the_given_time(user, laid_out_show):
    hold = hold_directly(user, laid_out_show, [4])

    assert services.expire_holds(now=hold.expires_at - timedelta(seconds=1)) == 0
    assert status_of(hold) == "active"
    assert services.expire_holds(now=hold.expires_at) == 1
    assert status_of(hold) == "expired"
    assert seats_held_by(laid_out_show) == {}


def test_an_expired_and_swept_hold_reads_expired(auth_client, user, laid_out_show):
    hold = expired_hold(user, laid_out_show, [4])
    services.expire_holds(now=timezone.now())

    assert auth_client.get(hold_url(hold.pk)).json()["status"] == "expired"


# --- One active hold per user per show ------------------------------------------------


def test_a_second_hold_replaces_the_first(auth_client, api_client, laid_out_show):
    first = post_hold(auth_client, laid_out_show, {"seat_numbers": [4, 5]}).json()["id"]

    response = post_hold(auth_client, laid_out_show, {"seat_numbers": [5, 6]})

    assert response.status_code == 201
    second = response.json()["id"]
    assert auth_client.get(hold_url(first)).json()["status"] == "released"
    assert auth_client.get(hold_url(second)).json()["status"] == "active"
    # Seat 4 is free again; seat 5, in both, now belongs to the new hold.
    second_pk = uuid.UUID(second)
    assert seats_held_by(laid_out_show) == {5: second_pk, 6: second_pk}
    seat_map = api_client.get(seats_url(laid_out_show)).json()
    assert seat_map["held_seats"] == [5, 6]
    assert 4 in seat_map["available_seats"]


def test_asking_again_for_the_best_seats_keeps_the_ones_already_held(auth_client, laid_out_show):
    first = post_hold(auth_client, laid_out_show, {"best_available": {"count": 2}}).json()

    second = post_hold(auth_client, laid_out_show, {"best_available": {"count": 2}}).json()

    # The caller's own held seats count as free for them: the best block is the same.
    assert first["seat_numbers"] == second["seat_numbers"] == [17, 18]
    assert status_of(Hold(pk=first["id"])) == "released"
    assert seats_held_by(laid_out_show) == dict.fromkeys([17, 18], uuid.UUID(second["id"]))


def test_booking_the_best_seats_may_take_the_ones_the_caller_holds(auth_client, laid_out_show):
    held = post_hold(auth_client, laid_out_show, {"best_available": {"count": 2}}).json()

    response = post_book(auth_client, laid_out_show, {"best_available": {"count": 2}})

    assert response.status_code == 201
    assert response.json()["seat_numbers"] == held["seat_numbers"] == [17, 18]
    assert status_of(Hold(pk=held["id"])) == "released"
    assert booked_seats(laid_out_show) == [17, 18]


def test_a_hold_on_another_show_does_not_replace_this_one(auth_client, user, laid_out_show):
    other_show = make_show_on_screen(
        laid_out_show.movie, laid_out_show.screen, start_time=timezone.now() + timedelta(days=3)
    )
    hold = hold_directly(user, laid_out_show, [4])

    response = post_hold(auth_client, other_show, {"seat_numbers": [4]})

    assert response.status_code == 201
    assert status_of(hold) == "active"
    assert seats_held_by(laid_out_show) == {4: hold.pk}


def test_a_refused_new_hold_leaves_the_old_one_in_place(
    auth_client, user, other_user, laid_out_show
):
    hold = hold_directly(user, laid_out_show, [4])
    book_directly(other_user, laid_out_show, [6])

    response = post_hold(auth_client, laid_out_show, {"seat_numbers": [4, 6]})

    assert response.status_code == 409
    assert response.json()["seats"] == [6]  # the caller's own held seat 4 is not in the way
    assert status_of(hold) == "active"
    assert seats_held_by(laid_out_show) == {4: hold.pk}
    assert Hold.objects.count() == 1


def test_an_expired_hold_is_not_replaced_but_stays_expired(auth_client, user, laid_out_show):
    stale = expired_hold(user, laid_out_show, [4])

    response = post_hold(auth_client, laid_out_show, {"seat_numbers": [4, 5]})

    assert response.status_code == 201
    assert auth_client.get(hold_url(stale.pk)).json()["status"] == "expired"
    assert seats_held_by(laid_out_show) == dict.fromkeys([4, 5], uuid.UUID(response.json()["id"]))


# --- book/ by the holder --------------------------------------------------------------


def test_the_holder_may_book_their_held_seats_and_the_hold_ends_released(
    auth_client, api_client, user, laid_out_show
):
    hold = hold_directly(user, laid_out_show, [4, 5])

    response = post_book(auth_client, laid_out_show, {"seat_numbers": [4, 5]})

    assert response.status_code == 201
    assert booked_seats(laid_out_show) == [4, 5]
    assert status_of(hold) == "released"
    assert seats_held_by(laid_out_show) == {}
    assert api_client.get(seats_url(laid_out_show)).json()["held_seats"] == []


def test_booking_part_of_a_hold_frees_the_rest(auth_client, api_client, user, laid_out_show):
    hold = hold_directly(user, laid_out_show, [4, 5])

    response = post_book(auth_client, laid_out_show, {"seat_numbers": [5, 6]})

    assert response.status_code == 201
    assert booked_seats(laid_out_show) == [5, 6]
    assert status_of(hold) == "released"
    assert seat_statuses(api_client, laid_out_show)[4] == "available"


def test_a_refused_booking_leaves_the_holders_hold_active(
    auth_client, user, other_user, laid_out_show
):
    hold = hold_directly(user, laid_out_show, [4, 5])
    book_directly(other_user, laid_out_show, [6])

    response = post_book(auth_client, laid_out_show, {"seat_numbers": [5, 6]})

    assert response.status_code == 409
    assert response.json()["seats"] == [6]
    assert status_of(hold) == "active"
    assert seats_held_by(laid_out_show) == {4: hold.pk, 5: hold.pk}


# --- Confirming a hold ----------------------------------------------------------------


def test_confirming_books_exactly_the_held_seats_and_marks_the_hold_confirmed(
    auth_client, api_client, user, laid_out_show
):
    hold = post_hold(auth_client, laid_out_show, {"seat_numbers": [4, 13]}).json()

    response = confirm(auth_client, hold["id"])

    assert response.status_code == 201
    body = response.json()
    assert set(body) == BOOKING_FIELDS
    booking = Booking.objects.get()
    assert booking.user == user
    assert body["id"] == booking.pk
    assert body["status"] == "booked"
    assert body["show"] == hold["show"]
    assert body["seat_numbers"] == [4, 13]
    assert body["seats"] == hold["seats"]
    assert body["total_price"] == "650.00"
    reread = auth_client.get(hold_url(hold["id"])).json()
    assert reread["status"] == "confirmed"
    assert reread["booking"] == booking.pk
    assert booked_seats(laid_out_show) == [4, 13]
    assert seats_held_by(laid_out_show) == {}
    seat_map = api_client.get(seats_url(laid_out_show)).json()
    assert (seat_map["booked_seats"], seat_map["held_seats"]) == ([4, 13], [])


def test_confirming_charges_the_prices_quoted_in_the_hold(
    auth_client, other_client, staff_client, laid_out_show
):
    hold_id = post_hold(auth_client, laid_out_show, {"seat_numbers": [4, 13]}).json()["id"]
    repriced = staff_client.patch(
        show_url(laid_out_show),
        {"price": "300.00", "prices": {"premium": "500.00"}},
        format="json",
    )
    assert repriced.status_code == 200
    # Someone booking now pays the new prices...
    fresh = post_book(other_client, laid_out_show, {"seat_numbers": [5, 14]}).json()
    assert fresh["total_price"] == "800.00"

    response = confirm(auth_client, hold_id)

    # ...but the hold keeps the prices it was quoted.
    assert response.status_code == 201
    assert [seat["price"] for seat in response.json()["seats"]] == ["250.00", "400.00"]
    assert response.json()["total_price"] == "650.00"
    assert Booking.objects.get(pk=response.json()["id"]).total_price == Decimal("650.00")


def test_confirming_again_is_409_hold_not_active(auth_client, laid_out_show):
    hold_id = post_hold(auth_client, laid_out_show, {"seat_numbers": [4]}).json()["id"]
    confirm(auth_client, hold_id)

    response = confirm(auth_client, hold_id)

    assert response.status_code == 409
    assert error(response) == "hold_not_active"
    assert Booking.objects.count() == 1


def test_confirming_again_with_the_same_idempotency_key_replays_the_201(auth_client, laid_out_show):
    hold_id = post_hold(auth_client, laid_out_show, {"seat_numbers": [4]}).json()["id"]
    first = confirm(auth_client, hold_id, **{"Idempotency-Key": "pay-4"})

    replay = confirm(auth_client, hold_id, **{"Idempotency-Key": "pay-4"})
    other_key = confirm(auth_client, hold_id, **{"Idempotency-Key": "pay-5"})

    assert first.status_code == 201
    assert "Idempotent-Replayed" not in first.headers
    assert replay.status_code == 201
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json() == first.json()
    assert (other_key.status_code, error(other_key)) == (409, "hold_not_active")
    assert Booking.objects.count() == 1


def test_an_idempotency_key_used_to_confirm_one_hold_is_refused_for_another(
    auth_client, user, laid_out_show
):
    other_show = make_show(laid_out_show.movie)
    first = hold_directly(user, laid_out_show, [4])
    second = hold_directly(user, other_show, [4])
    confirm(auth_client, first.pk, **{"Idempotency-Key": "pay"})

    response = confirm(auth_client, second.pk, **{"Idempotency-Key": "pay"})

    assert response.status_code == 409
    assert error(response) == "idempotency_key_reused"
    assert status_of(second) == "active"
    assert booked_seats(other_show) == []


def test_confirming_after_expiry_is_409_hold_expired_and_books_nothing(
    auth_client, user, laid_out_show
):
    hold = expired_hold(user, laid_out_show, [4, 5])

    response = confirm(auth_client, hold.pk)

    assert response.status_code == 409
    assert error(response) == "hold_expired"
    assert Booking.objects.count() == 0
    assert status_of(hold) == "active"  # unswept, and reads expired


def test_confirming_an_expired_hold_whose_seat_was_taken_since_is_hold_expired(
    auth_client, user, other_user, laid_out_show
):
    hold = expired_hold(user, laid_out_show, [4, 5])
    book_directly(other_user, laid_out_show, [5])

    response = confirm(auth_client, hold.pk)

    assert response.status_code == 409
    assert error(response) == "hold_expired"
    assert booked_seats(laid_out_show) == [5]
    assert Booking.objects.get().user == other_user


def test_confirming_a_hold_whose_show_has_started_is_409_show_started(
    auth_client, user, laid_out_show
):
    hold = hold_directly(user, laid_out_show, [4], now=minutes_ago(5))
    move_show_start(laid_out_show, minutes_ago(1))

    response = confirm(auth_client, hold.pk)

    assert response.status_code == 409
    assert error(response) == "show_started"
    assert Booking.objects.count() == 0
    assert status_of(hold) == "active"


def _released_then_expired(user, show):
    hold = expired_hold(user, show, [4])
    services.release_hold(hold=hold, now=hold.created_at + timedelta(minutes=1))
    return hold


def _confirmed_then_started(user, show):
    hold = hold_directly(user, show, [4], now=minutes_ago(5))
    services.confirm_hold(hold=hold, now=minutes_ago(4))
    move_show_start(show, minutes_ago(1))
    return hold


def _expired_then_started(user, show):
    hold = expired_hold(user, show, [4])
    move_show_start(show, minutes_ago(1))
    return hold


def _released_expired_and_started(user, show):
    hold = _released_then_expired(user, show)
    move_show_start(show, minutes_ago(1))
    return hold


@pytest.mark.parametrize(
    ("make_hold", "expected"),
    [
        pytest.param(_released_then_expired, "hold_not_active", id="released and expired"),
        pytest.param(_confirmed_then_started, "hold_not_active", id="confirmed, show started"),
        pytest.param(
            _released_expired_and_started, "hold_not_active", id="released, expired, started"
        ),
        pytest.param(_expired_then_started, "hold_expired", id="expired, show started"),
    ],
)
def test_confirm_checks_not_active_then_expired_then_show_started(
    auth_client, user, laid_out_show, make_hold, expected
):
    hold = make_hold(user, laid_out_show)
    bookings_before = Booking.objects.count()

    response = confirm(auth_client, hold.pk)

    assert response.status_code == 409
    assert error(response) == expected
    assert Booking.objects.count() == bookings_before


# --- Best available -------------------------------------------------------------------


@pytest.mark.parametrize("endpoint", ["book", "holds"])
def test_best_available_takes_seats_side_by_side_of_the_category_asked(
    auth_client, api_client, laid_out_show, endpoint
):
    response = post_to(
        endpoint,
        auth_client,
        laid_out_show,
        {"best_available": {"count": 3, "category": "premium"}},
    )

    assert response.status_code == 201
    assert response.json()["seat_numbers"] == [16, 17, 18]
    assert [seat["label"] for seat in response.json()["seats"]] == ["J4", "J5", "J6"]
    assert {seat["category"] for seat in response.json()["seats"]} == {"premium"}
    seat_map = api_client.get(seats_url(laid_out_show)).json()
    (row_j,) = (row for row in seat_map["rows"] if row["label"] == "J")
    taken = [seat for seat in row_j["seats"] if seat["status"] != "available"]
    assert [seat["column"] for seat in taken] == [4, 5, 6]


def test_best_available_on_a_show_created_the_old_way_takes_the_middle(auth_client, show):
    response = post_hold(auth_client, show, {"best_available": {"count": 2}})

    assert response.status_code == 201
    assert response.json()["seat_numbers"] == [60, 61]


@pytest.mark.parametrize("endpoint", ["book", "holds"])
@pytest.mark.parametrize(
    "best_available",
    [
        pytest.param({"count": 7, "category": "standard"}, id="longer than any run of row A"),
        pytest.param({"count": 7, "category": "imax"}, id="a category the show does not have"),
        pytest.param({"count": 3, "category": "premium"}, id="only pairs left in row J"),
    ],
)
def test_best_available_without_a_block_is_409_no_adjacent_seats(
    other_client, user, laid_out_show, endpoint, best_available
):
    hold = hold_directly(user, laid_out_show, [15, 18, 21])  # J: ..x..x..x.

    response = post_to(endpoint, other_client, laid_out_show, {"best_available": best_available})

    assert response.status_code == 409
    assert error(response) == "no_adjacent_seats"
    assert Hold.objects.get() == hold
    assert Booking.objects.count() == 0


@pytest.mark.parametrize("endpoint", ["book", "holds"])
@pytest.mark.parametrize(
    "best_available",
    [
        pytest.param({"count": 0}, id="count 0"),
        pytest.param({"count": 11}, id="count 11"),
        pytest.param({}, id="no count"),
        pytest.param({"count": "two"}, id="count not a number"),
        pytest.param({"count": True}, id="count a boolean"),
        pytest.param(2, id="not an object"),
    ],
)
def test_a_malformed_best_available_is_400(auth_client, laid_out_show, endpoint, best_available):
    response = post_to(endpoint, auth_client, laid_out_show, {"best_available": best_available})

    assert response.status_code == 400
    assert error(response) == "invalid"
    assert "best_available" in response.json()["errors"]
    assert Hold.objects.count() == Booking.objects.count() == 0


@pytest.mark.parametrize("endpoint", ["book", "holds"])
@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"seat_number": 4, "seat_numbers": [5]}, id="seat_number+seat_numbers"),
        pytest.param({"seat_numbers": [4], "seats": ["A5"]}, id="seat_numbers+seats"),
        pytest.param({"seats": ["A4"], "best_available": {"count": 1}}, id="seats+best"),
        pytest.param({"seat_number": 4, "best_available": {"count": 1}}, id="seat_number+best"),
        pytest.param(
            {
                "seat_number": 4,
                "seat_numbers": [5],
                "seats": ["A6"],
                "best_available": {"count": 1},
            },
            id="all four",
        ),
    ],
)
def test_more_than_one_way_of_naming_seats_is_400(auth_client, laid_out_show, endpoint, body):
    response = post_to(endpoint, auth_client, laid_out_show, body)

    assert response.status_code == 400
    assert error(response) == "invalid"
    assert Hold.objects.count() == Booking.objects.count() == 0


def test_an_unknown_seat_label_in_a_hold_is_400_on_seats(auth_client, laid_out_show):
    response = post_hold(auth_client, laid_out_show, {"seats": ["A4", "K1"]})

    assert response.status_code == 400
    assert error(response) == "invalid"
    assert "seats" in response.json()["errors"]
    assert Hold.objects.count() == 0


# --- Limits per user ------------------------------------------------------------------


@pytest.fixture
def limit_of_four(settings):
    settings.MAX_SEATS_PER_USER_PER_SHOW = 4
    return 4


@pytest.mark.parametrize("endpoint", ["book", "holds"])
@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"seat_numbers": [10, 11]}, id="seat_numbers"),
        pytest.param({"seats": ["10", "11"]}, id="seats"),
        pytest.param({"best_available": {"count": 2}}, id="best_available"),
    ],
)
def test_going_past_the_per_user_limit_is_409_with_limit_and_remaining(
    auth_client, show, limit_of_four, endpoint, body
):
    assert post_book(auth_client, show, {"seat_numbers": [1, 2, 3]}).status_code == 201

    response = post_to(endpoint, auth_client, show, body)

    assert response.status_code == 409
    assert response.json()["code"] == "seat_limit_reached"
    assert response.json()["limit"] == 4
    assert response.json()["remaining"] == 1
    assert booked_seats(show) == [1, 2, 3]
    assert Hold.objects.count() == 0


@pytest.mark.parametrize("endpoint", ["book", "holds"])
def test_taking_exactly_up_to_the_limit_is_allowed(auth_client, show, limit_of_four, endpoint):
    post_book(auth_client, show, {"seat_numbers": [1, 2, 3]})

    response = post_to(endpoint, auth_client, show, {"seat_number": 10})

    assert response.status_code == 201


def test_confirm_rechecks_the_limit_when_it_was_lowered_after_the_hold(
    auth_client, user, show, settings, limit_of_four
):
    book_directly(user, show, [1])
    hold = hold_directly(user, show, [10, 11, 12])  # 1 + 3 = 4: within the limit then
    settings.MAX_SEATS_PER_USER_PER_SHOW = 3

    response = confirm(auth_client, hold.pk)

    assert response.status_code == 409
    assert response.json()["code"] == "seat_limit_reached"
    assert (response.json()["limit"], response.json()["remaining"]) == (3, 2)
    assert status_of(hold) == "active"
    assert booked_seats(show) == [1]
    assert seats_held_by(show) == dict.fromkeys([10, 11, 12], hold.pk)


def test_confirm_within_the_limit_counts_the_users_bookings_and_the_hold(
    auth_client, user, show, limit_of_four
):
    book_directly(user, show, [1])
    hold = hold_directly(user, show, [10, 11, 12])

    response = confirm(auth_client, hold.pk)

    assert response.status_code == 201
    assert booked_seats(show) == [1, 10, 11, 12]


def test_a_new_hold_does_not_count_the_one_it_replaces(auth_client, show, limit_of_four):
    first = post_hold(auth_client, show, {"seat_numbers": [1, 2, 3, 4]}).json()["id"]

    response = post_hold(auth_client, show, {"seat_numbers": [5, 6, 7, 8]})

    assert response.status_code == 201
    assert Hold.objects.get(pk=first).status == "released"


def test_booking_does_not_count_the_holders_own_hold(auth_client, user, show, limit_of_four):
    hold = hold_directly(user, show, [1, 2, 3, 4])

    response = post_book(auth_client, show, {"seat_numbers": [5, 6, 7, 8]})

    assert response.status_code == 201
    assert status_of(hold) == "released"
    assert seats_held_by(show) == {}


def test_the_limit_counts_live_bookings_of_this_show_only(auth_client, user, show, limit_of_four):
    cancelled = book_directly(user, show, [1, 2, 3, 4])
    services.cancel_booking(booking=cancelled, now=timezone.now())
    book_directly(user, make_show(show.movie), [1, 2, 3, 4])

    response = post_book(auth_client, show, {"seat_numbers": [5, 6, 7, 8]})

    assert response.status_code == 201


def test_a_limit_of_0_disables_it(auth_client, show, settings):
    settings.MAX_SEATS_PER_USER_PER_SHOW = 0

    first = post_book(auth_client, show, {"seat_numbers": list(range(1, 11))})
    second = post_book(auth_client, show, {"seat_numbers": list(range(11, 21))})
    held = post_hold(auth_client, show, {"best_available": {"count": 10}})

    assert (first.status_code, second.status_code, held.status_code) == (201, 201, 201)
    assert len(booked_seats(show)) == 20


@pytest.mark.parametrize("endpoint", ["book", "holds"])
def test_the_per_user_limit_is_per_user(auth_client, other_client, show, limit_of_four, endpoint):
    post_book(auth_client, show, {"seat_numbers": [1, 2, 3, 4]})

    response = post_to(endpoint, other_client, show, {"seat_numbers": [5, 6, 7, 8]})

    assert response.status_code == 201


# --- Order of checks ------------------------------------------------------------------


@pytest.mark.parametrize("endpoint", ["book", "holds"])
def test_an_unknown_show_is_404_before_the_body_is_looked_at(auth_client, endpoint):
    response = auth_client.post(
        f"/api/shows/999999/{endpoint}/", {"seat_numbers": "many"}, format="json"
    )

    assert response.status_code == 404
    assert error(response) == "not_found"


@pytest.mark.parametrize("endpoint", ["book", "holds"])
def test_a_malformed_body_is_400_before_show_started(auth_client, show, endpoint):
    move_show_start(show, minutes_ago(1))

    response = post_to(endpoint, auth_client, show, {"seat_numbers": "many"})

    assert response.status_code == 400
    assert error(response) == "invalid"


@pytest.mark.parametrize("endpoint", ["book", "holds"])
@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"seat_numbers": [1, 999]}, id="seat out of range"),
        pytest.param({"seats": ["Z9"]}, id="unknown label"),
        pytest.param({"best_available": {"count": 10}}, id="best_available"),
    ],
)
def test_show_started_comes_before_seat_range_and_limit(
    auth_client, show, settings, endpoint, body
):
    settings.MAX_SEATS_PER_USER_PER_SHOW = 1
    move_show_start(show, minutes_ago(1))

    response = post_to(endpoint, auth_client, show, body)

    assert response.status_code == 409
    assert error(response) == "show_started"


@pytest.mark.parametrize("endpoint", ["book", "holds"])
@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({"seat_numbers": [1, 999]}, "seat_numbers", id="seat out of range"),
        pytest.param({"seats": ["1", "Z9"]}, "seats", id="unknown label"),
    ],
)
def test_seat_range_comes_before_the_limit(auth_client, show, settings, endpoint, body, field):
    settings.MAX_SEATS_PER_USER_PER_SHOW = 1

    response = post_to(endpoint, auth_client, show, body)

    assert response.status_code == 400
    assert error(response) == "invalid"
    assert field in response.json()["errors"]


@pytest.mark.parametrize("endpoint", ["book", "holds"])
@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"seat_numbers": [1, 2]}, id="named seats, one taken"),
        pytest.param({"best_available": {"count": 3}}, id="best_available, no block"),
    ],
)
def test_the_limit_comes_before_seat_unavailable_and_no_adjacent_seats(
    auth_client, other_user, settings, endpoint, body
):
    settings.MAX_SEATS_PER_USER_PER_SHOW = 1
    tiny = make_show(make_movie(), total_seats=2)
    book_directly(other_user, tiny, [1])

    response = post_to(endpoint, auth_client, tiny, body)

    assert response.status_code == 409
    assert error(response) == "seat_limit_reached"
    assert (response.json()["limit"], response.json()["remaining"]) == (1, 1)


@pytest.mark.parametrize("endpoint", ["book", "holds"])
def test_within_the_limit_a_taken_seat_is_seat_unavailable(
    auth_client, other_user, settings, endpoint
):
    settings.MAX_SEATS_PER_USER_PER_SHOW = 2
    tiny = make_show(make_movie(), total_seats=2)
    book_directly(other_user, tiny, [1])

    response = post_to(endpoint, auth_client, tiny, {"seat_numbers": [1, 2]})

    assert response.status_code == 409
    assert error(response) == "seat_unavailable"
    assert response.json()["seats"] == [1]


# --- The seat map's ETag --------------------------------------------------------------


def etag_of(client, show) -> str:
    response = client.get(seats_url(show))
    assert response.status_code == 200
    return response.headers["ETag"]


def test_the_etag_changes_when_a_hold_is_made(auth_client, api_client, laid_out_show):
    before = etag_of(api_client, laid_out_show)

    post_hold(auth_client, laid_out_show, {"seat_numbers": [4]})

    assert etag_of(api_client, laid_out_show) != before


def test_the_etag_changes_when_a_hold_is_released(auth_client, api_client, laid_out_show):
    hold_id = post_hold(auth_client, laid_out_show, {"seat_numbers": [4]}).json()["id"]
    held = etag_of(api_client, laid_out_show)

    auth_client.delete(hold_url(hold_id))

    assert etag_of(api_client, laid_out_show) != held


def test_the_etag_changes_when_a_hold_is_confirmed(auth_client, api_client, laid_out_show):
    hold_id = post_hold(auth_client, laid_out_show, {"seat_numbers": [4]}).json()["id"]
    held = etag_of(api_client, laid_out_show)

    confirm(auth_client, hold_id)

    assert etag_of(api_client, laid_out_show) != held


def test_the_etag_changes_when_a_hold_expires_without_any_request_touching_it(
    api_client, user, laid_out_show
):
    hold = hold_directly(user, laid_out_show, [4])
    held = api_client.get(seats_url(laid_out_show))

    with mock.patch("django.utils.timezone.now", return_value=hold.expires_at):
        expired = api_client.get(seats_url(laid_out_show), headers={"If-None-Match": held["ETag"]})

    assert held.json()["held_seats"] == [4]
    assert expired.status_code == 200  # the old ETag no longer matches
    assert expired["ETag"] != held["ETag"]
    assert expired.json()["held_seats"] == []
    assert 4 in expired.json()["available_seats"]
    assert status_of(hold) == "active"  # no request touched it, no sweep ran


def test_sweeping_an_expired_hold_leaves_the_seat_map_as_it_was(api_client, user, laid_out_show):
    expired_hold(user, laid_out_show, [4])
    before = api_client.get(seats_url(laid_out_show))

    services.expire_holds(now=timezone.now())

    after = api_client.get(seats_url(laid_out_show))
    assert after.json() == before.json()  # no seat's status changed: only tidying


def test_if_none_match_with_the_current_etag_is_304_with_no_body(
    auth_client, api_client, laid_out_show
):
    post_hold(auth_client, laid_out_show, {"seat_numbers": [4]})
    etag = etag_of(api_client, laid_out_show)

    response = api_client.get(seats_url(laid_out_show), headers={"If-None-Match": etag})

    assert response.status_code == 304
    assert response.content == b""
    assert response["ETag"] == etag


def test_if_none_match_with_the_etag_from_before_a_hold_is_200(
    auth_client, api_client, laid_out_show
):
    before = etag_of(api_client, laid_out_show)
    post_hold(auth_client, laid_out_show, {"seat_numbers": [4]})

    response = api_client.get(seats_url(laid_out_show), headers={"If-None-Match": before})

    assert response.status_code == 200
    assert response.json()["held_seats"] == [4]


# --- Staff edits of a show with a hold ------------------------------------------------


def _another_movie(show):
    return {"movie_id": make_movie(title="Heat").pk}


def _another_screen(show):
    return {"screen_id": make_screen(show.screen.cinema, name="Screen 2").pk}


@pytest.mark.parametrize("change", [_another_movie, _another_screen], ids=["movie", "screen"])
def test_a_show_with_an_active_hold_cannot_change_its_movie_or_screen(
    staff_client, user, laid_out_show, change
):
    hold = hold_directly(user, laid_out_show, [4])

    response = staff_client.patch(show_url(laid_out_show), change(laid_out_show), format="json")

    assert response.status_code == 409
    assert error(response) == "show_has_bookings"
    show = Show.objects.get(pk=laid_out_show.pk)
    assert (show.movie_id, show.screen_id) == (laid_out_show.movie_id, laid_out_show.screen_id)
    assert status_of(hold) == "active"
    assert seats_held_by(laid_out_show) == {4: hold.pk}


def test_shrinking_a_show_below_a_held_seat_is_409_show_has_bookings(staff_client, user, movie):
    show = make_show(movie, total_seats=10)
    hold = hold_directly(user, show, [8])

    response = staff_client.patch(show_url(show), {"total_seats": 7}, format="json")

    assert response.status_code == 409
    assert error(response) == "show_has_bookings"
    assert Seat.objects.filter(show=show).count() == 10
    assert seats_held_by(show) == {8: hold.pk}


def test_shrinking_a_show_below_an_expired_holds_seat_is_allowed(staff_client, user, movie):
    show = make_show(movie, total_seats=10)
    expired_hold(user, show, [8])

    response = staff_client.patch(show_url(show), {"total_seats": 7}, format="json")

    assert response.status_code == 200
    assert Seat.objects.filter(show=show).count() == 7


def test_a_show_whose_only_hold_expired_may_change_its_movie(staff_client, user, laid_out_show):
    expired_hold(user, laid_out_show, [4])
    other_movie = make_movie(title="Heat")

    response = staff_client.patch(
        show_url(laid_out_show), {"movie_id": other_movie.pk}, format="json"
    )

    assert response.status_code == 200
    assert Show.objects.get(pk=laid_out_show.pk).movie_id == other_movie.pk


# --- Query budgets --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seats", "confirmed"),
    [([4], False), (ROW_J, False), (ROW_J, True)],
    ids=["one seat", "ten seats", "confirmed"],
)
def test_reading_a_hold_costs_two_queries(
    auth_client, user, laid_out_show, django_assert_num_queries, seats, confirmed
):
    hold = hold_directly(user, laid_out_show, seats)
    if confirmed:
        services.confirm_hold(hold=hold, now=timezone.now())

    # 1. the user behind the access token
    # 2. the hold JOIN show JOIN movie, scoped to that user
    with django_assert_num_queries(2):
        response = auth_client.get(hold_url(hold.pk))

    assert response.status_code == 200
    assert response.json()["seat_numbers"] == seats


@pytest.mark.parametrize("holders", [0, 1, 3])
def test_the_seat_map_with_holds_costs_one_query(
    api_client, laid_out_show, django_assert_num_queries, holders
):
    for n in range(holders):
        hold_directly(make_user(f"holder{n}"), laid_out_show, [1 + 2 * n, 2 + 2 * n])
    expired_hold(make_user("late"), laid_out_show, ROW_J)

    # 1. its seats: numbers, layout, booking ids and held_until, JOIN the show
    with django_assert_num_queries(1):
        response = api_client.get(seats_url(laid_out_show))

    assert response.status_code == 200
    assert response.json()["held_seats"] == list(range(1, 2 * holders + 1))
