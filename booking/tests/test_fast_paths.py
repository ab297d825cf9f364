"""The booking hot paths: their fast answers, their query counts, and the claim's guard.

Booking and confirming build their 201 body without the serializers (serializers.
bookings.booking_body) and claim seats with plain SQL (services.seating). BookingOutput
stays the documented shape: these tests hold the two together, pin how many queries
each path costs, and show that the conditional UPDATE's row count is what decides.
"""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from booking import services
from booking.authentication import user_by_id
from booking.models import Booking, Hold, Seat, Show, User
from booking.serializers import BookingOutput, HoldOutput
from booking.serializers.bookings import booking_body, hold_body
from booking.services import seating
from booking.sql import insert

from .conftest import client_for, make_movie, make_show, make_show_on_screen, make_user


def as_json(data) -> object:
    return json.loads(json.dumps(data))


def stored(booking: Booking) -> Booking:
    return Booking.objects.select_related("show__movie").get(pk=booking.pk)


# --- The fast body is BookingOutput's ----------------------------------------------------


def booking_of_a_laid_out_show(user, laid_out_show):
    return services.book_seats(
        user=user, show=laid_out_show, now=timezone.now(), seat_labels=["A2", "J1"]
    )


def booking_of_an_old_style_show(user, _):
    return services.book_seats(
        user=user,
        show=make_show(make_movie(title="Amélie — 東京物語")),
        now=timezone.now(),
        seat_numbers=[7],
    )


def cancelled_booking(user, laid_out_show):
    booking = services.book_seats(
        user=user, show=laid_out_show, now=timezone.now(), seat_numbers=[3, 4]
    )
    return services.cancel_booking(booking=booking, now=timezone.now())


def booking_at_odd_prices(user, _):
    show = make_show_on_screen(
        make_movie(title="Odd"),
        price=Decimal("9.99"),
        prices={"premium": Decimal("12.50")},
        start_time=timezone.now().replace(microsecond=0) + timedelta(days=3),
    )
    return services.book_seats(
        user=user, show=show, now=timezone.now(), best_available={"count": 3, "category": "premium"}
    )


def confirmed_hold(user, laid_out_show):
    hold = services.hold_seats(
        user=user, show=laid_out_show, now=timezone.now(), seat_numbers=[13, 14]
    )
    hold = Hold.objects.select_related("user", "show__movie").get(pk=hold.pk)
    return services.confirm_hold(hold=hold, now=timezone.now())


@pytest.mark.parametrize(
    "make",
    [
        booking_of_a_laid_out_show,
        booking_of_an_old_style_show,
        cancelled_booking,
        booking_at_odd_prices,
        confirmed_hold,
    ],
)
def test_the_fast_booking_body_is_what_booking_output_renders(make, user, laid_out_show, settings):
    settings.CANCELLATION_CUTOFF_MINUTES = 45
    booking = make(user, laid_out_show)

    # As the service returns it (what the views render), and as read back from the database.
    assert as_json(booking_body(booking)) == as_json(BookingOutput(booking).data)
    assert as_json(booking_body(stored(booking))) == as_json(BookingOutput(stored(booking)).data)


def test_a_201_from_book_is_booking_output_of_the_booking_stored(auth_client, laid_out_show):
    response = auth_client.post(
        f"/api/shows/{laid_out_show.pk}/book/", {"seats": ["A1", "J10"]}, format="json"
    )

    assert response.status_code == 201
    assert response.json() == as_json(BookingOutput(stored(Booking.objects.get())).data)


def test_a_201_from_confirm_is_booking_output_of_the_booking_stored(auth_client, laid_out_show):
    hold = auth_client.post(
        f"/api/shows/{laid_out_show.pk}/holds/", {"seat_numbers": [5, 6]}, format="json"
    ).json()

    response = auth_client.post(f"/api/holds/{hold['id']}/confirm/")

    assert response.status_code == 201
    assert response.json() == as_json(BookingOutput(stored(Booking.objects.get())).data)


def model_fields(instance) -> dict:
    return {field.attname: getattr(instance, field.attname) for field in instance._meta.fields}


def test_the_user_a_token_names_is_loaded_as_the_orm_loads_it(user):
    user.last_login = timezone.now()
    user.save()

    loaded = user_by_id(user.pk)

    assert model_fields(loaded) == model_fields(User.objects.get(pk=user.pk))
    assert loaded.get_deferred_fields() == set()  # nothing left to load later, query by query
    assert user_by_id(user.pk + 1000) is None


def test_the_show_a_claim_reads_is_the_stored_show(laid_out_show):
    claimed = seating.show_to_claim(laid_out_show.pk)
    fields = ("id", "movie_id", "start_time", "total_seats", "price", "category_prices")

    stored_show = Show.objects.get(pk=laid_out_show.pk)
    assert {f: getattr(claimed, f) for f in fields} == {f: getattr(stored_show, f) for f in fields}
    assert claimed.movie.title == laid_out_show.movie.title
    assert seating.show_to_claim(laid_out_show.pk + 1000) is None


def test_the_hold_confirm_reads_is_the_stored_hold_of_its_user_only(
    user, other_user, laid_out_show
):
    hold = services.hold_seats(user=user, show=laid_out_show, now=timezone.now(), seat_numbers=[3])

    loaded = services.checkout.hold_to_confirm(hold.pk, user)

    assert model_fields(loaded) == model_fields(Hold.objects.get(pk=hold.pk))
    assert loaded.show.start_time == laid_out_show.start_time
    assert loaded.show.movie.title == laid_out_show.movie.title
    assert services.checkout.hold_to_confirm(hold.pk, other_user) is None


def test_a_row_inserted_with_plain_sql_reads_back_as_it_was_built(user, laid_out_show):
    hold = Hold(
        user=user,
        show=laid_out_show,
        seat_numbers=[1],
        seats=[{"number": 1, "label": "A1", "category": "standard", "price": "9.50"}],
        total_price=Decimal("9.50"),
        expires_at=timezone.now() + timedelta(minutes=5),
        created_at=timezone.now(),
    )
    booking = Booking(
        reference="PLAINSQL",
        user=user,
        show=laid_out_show,
        seat_numbers=[2],
        seats=[],
        total_price=Decimal("12.00"),
    )

    insert(hold)  # a UUID key the model draws
    insert(booking)  # a key the database draws; created_at by auto_now_add

    assert booking.pk is not None and booking.created_at is not None
    assert model_fields(Hold.objects.get(pk=hold.pk)) == model_fields(hold)
    assert model_fields(Booking.objects.get(pk=booking.pk)) == model_fields(booking)


HOLDS = {
    "active": lambda hold, now: now,
    "expired": lambda hold, now: hold.expires_at + timedelta(seconds=1),
}


@pytest.mark.parametrize("moment", HOLDS.values(), ids=HOLDS.keys())
def test_the_fast_hold_body_is_what_hold_output_renders(moment, user, laid_out_show):
    now = timezone.now()
    hold = services.hold_seats(user=user, show=laid_out_show, now=now, seat_labels=["J3", "a5"])
    later = moment(hold, now)

    assert as_json(hold_body(hold, now=later)) == as_json(
        HoldOutput(hold, context={"now": later}).data
    )


def test_the_fast_hold_body_of_a_confirmed_hold_names_its_booking(user, laid_out_show):
    booking = confirmed_hold(user, laid_out_show)
    hold = Hold.objects.select_related("show__movie").get(booking=booking)
    now = timezone.now()

    body = hold_body(hold, now=now)

    assert body["booking"] == booking.pk
    assert as_json(body) == as_json(HoldOutput(hold, context={"now": now}).data)


def test_a_201_from_holds_is_hold_output_of_the_hold_stored(auth_client, laid_out_show):
    response = auth_client.post(
        f"/api/shows/{laid_out_show.pk}/holds/", {"seats": ["J1"]}, format="json"
    )

    assert response.status_code == 201
    hold = Hold.objects.select_related("show__movie").get()
    assert response.json() == as_json(HoldOutput(hold, context={"now": timezone.now()}).data)


# --- Queries per request ----------------------------------------------------------------

# Inside a test every transaction is a savepoint: SAVEPOINT and RELEASE count as two. On
# PostgreSQL the booking's INSERT runs in a savepoint of its own (bookings._undo_on_error).
TEST_SAVEPOINT = 2


def insert_savepoint() -> int:
    return 2 if connection.vendor == "postgresql" else 0


BOOK_BODIES = {
    # the user, the show; the user's row; the seats with the user's stake; the booking;
    # the seats' conditional UPDATE
    "numbers": ({"seat_numbers": [1, 2, 3]}, 6),
    "labels": ({"seats": ["A1", "J2"]}, 7),  # + the labels' numbers
    "best available": ({"best_available": {"count": 4}}, 7),  # stake, then every seat
}


@pytest.mark.parametrize("body, queries", BOOK_BODIES.values(), ids=BOOK_BODIES.keys())
def test_a_booking_costs_a_fixed_number_of_queries(
    auth_client, laid_out_show, django_assert_num_queries, body, queries
):
    with django_assert_num_queries(queries + TEST_SAVEPOINT + insert_savepoint()):
        response = auth_client.post(f"/api/shows/{laid_out_show.pk}/book/", body, format="json")

    assert response.status_code == 201


def test_a_hold_costs_as_many_queries_as_a_booking(
    auth_client, laid_out_show, django_assert_num_queries
):
    with django_assert_num_queries(6 + TEST_SAVEPOINT):  # no reference to draw: no savepoint
        response = auth_client.post(
            f"/api/shows/{laid_out_show.pk}/holds/", {"seat_numbers": [1, 2]}, format="json"
        )

    assert response.status_code == 201


def test_a_confirmation_costs_a_fixed_number_of_queries(
    auth_client, laid_out_show, django_assert_num_queries
):
    hold = auth_client.post(
        f"/api/shows/{laid_out_show.pk}/holds/", {"seat_numbers": [1, 2]}, format="json"
    ).json()

    # the user; the hold with its show and movie; the user's row; the hold's status with
    # the user's stake; the booking; the seats; the hold's new status
    with django_assert_num_queries(7 + TEST_SAVEPOINT + insert_savepoint()):
        response = auth_client.post(f"/api/holds/{hold['id']}/confirm/")

    assert response.status_code == 201


def test_a_refused_booking_writes_nothing_but_the_users_row(
    auth_client, other_user, laid_out_show, django_assert_num_queries
):
    services.book_seats(user=other_user, show=laid_out_show, now=timezone.now(), seat_numbers=[2])

    # the user, the show; the user's row; the seats: 409 before any INSERT (and the
    # savepoint is rolled back too: one statement more)
    with django_assert_num_queries(4 + TEST_SAVEPOINT + 1):
        response = auth_client.post(
            f"/api/shows/{laid_out_show.pk}/book/", {"seat_numbers": [1, 2]}, format="json"
        )

    assert response.status_code == 409
    assert response.json()["code"] == "seat_unavailable"


# --- The conditional UPDATE decides -------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_claim_that_read_a_taken_seat_as_free_books_nothing_and_answers_409(monkeypatch):
    """The read can be stale by the time of the write; the UPDATE's row count catches it."""
    first, second = make_user("first"), make_user("second")
    show = make_show_on_screen()
    services.book_seats(user=first, show=show, now=timezone.now(), seat_numbers=[5])
    real_claim = seating.claim
    reads = []

    def stale_claim(user, show, request, *, now):
        reads.append(request.numbers)
        if len(reads) > 1:
            return real_claim(user, show, request, now=now)
        # What a read just before the first booking committed would have seen.
        seats = [
            seating.SeatState(number=n, label=f"A{n}", category="standard", free=True, held=False)
            for n in request.numbers
        ]
        return seats, seating.Claimant(owned=0, hold_id=None)

    monkeypatch.setattr(seating, "claim", stale_claim)

    response = client_for(second).post(
        f"/api/shows/{show.pk}/book/", {"seat_numbers": [4, 5, 6]}, format="json"
    )

    assert response.status_code == 409
    assert response.json()["seats"] == [5]
    assert len(reads) == 2  # the lost claim started over and read afresh
    assert Booking.objects.filter(user=second).count() == 0  # its INSERT rolled back
    holders = dict(Seat.objects.filter(show=show).values_list("number", "booking__user"))
    assert (holders[4], holders[5], holders[6]) == (None, first.pk, None)
