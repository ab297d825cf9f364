"""Django admin: staff pages load, writes go through the services, queries stay flat."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from booking import services
from booking.models import Booking, Seat, Show

from .conftest import make_movie, make_show, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_web(db):
    """A browser signed in to the admin as a superuser on the staff."""
    boss = make_user("boss", is_staff=True)
    boss.is_superuser = True
    boss.save()
    client = Client()
    client.force_login(boss)
    return client


def book(show, seats, user=None):
    user = user or make_user(f"booker{Booking.objects.count()}")
    return services.book_seats(user=user, show=show, seat_numbers=seats, now=timezone.now())


def queries_for(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured)


@pytest.mark.parametrize(
    "url",
    [
        "/admin/",
        "/admin/booking/movie/",
        "/admin/booking/movie/add/",
        "/admin/booking/show/",
        "/admin/booking/show/add/",
        "/admin/booking/booking/",
        "/admin/booking/user/",
        "/admin/booking/user/add/",
    ],
)
def test_staff_can_load_the_admin_pages(admin_web, show, url):
    book(show, [1])

    response = admin_web.get(url)

    assert response.status_code == 200
    assert b"<html" in response.content.lower()


def test_the_change_pages_of_each_model_load(admin_web, show):
    booking = book(show, [7])

    for url in [
        f"/admin/booking/movie/{show.movie.pk}/change/",
        f"/admin/booking/show/{show.pk}/change/",
        f"/admin/booking/booking/{booking.pk}/change/",
        f"/admin/booking/user/{booking.user.pk}/change/",
    ]:
        assert admin_web.get(url).status_code == 200, url


def test_a_non_staff_user_is_sent_to_the_admin_login_page(user):
    client = Client()
    client.force_login(user)

    response = client.get("/admin/booking/booking/")

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_bookings_cannot_be_added_in_the_admin(admin_web):
    assert admin_web.get("/admin/booking/booking/add/").status_code == 403


def test_creating_a_show_in_the_admin_creates_its_seats(admin_web, movie):
    response = admin_web.post(
        "/admin/booking/show/add/",
        {
            "movie": movie.pk,
            "screen_name": "Screen 9",
            "start_time_0": "2031-12-01",
            "start_time_1": "18:30:00",
            "total_seats": 25,
            "price": "150.00",
            "_save": "Save",
        },
    )

    assert response.status_code == 302, response.content.decode()[-2000:]
    show = Show.objects.get(screen_name="Screen 9")
    assert (show.movie_id, show.total_seats, show.price) == (movie.pk, 25, Decimal("150.00"))
    numbers = list(Seat.objects.filter(show=show).values_list("number", flat=True))
    assert numbers == list(range(1, 26))
    assert Show.objects.count() == 1


def show_form(show, **overrides) -> dict:
    start = timezone.localtime(show.start_time)
    data = {
        "movie": show.movie_id,
        "screen_name": show.screen_name,
        "start_time_0": start.date().isoformat(),
        "start_time_1": start.time().strftime("%H:%M:%S"),
        "total_seats": show.total_seats,
        "price": str(show.price),
        "_save": "Save",
    }
    data.update(overrides)
    return data


def test_growing_a_shows_seats_in_the_admin_adds_seat_rows(admin_web, movie):
    show = make_show(movie, total_seats=10)

    response = admin_web.post(
        f"/admin/booking/show/{show.pk}/change/", show_form(show, total_seats=12)
    )

    assert response.status_code == 302
    assert Seat.objects.filter(show=show).count() == 12


def test_the_admin_refuses_to_shrink_a_show_below_a_booked_seat(admin_web, movie):
    show = make_show(movie, total_seats=10)
    book(show, [9])

    response = admin_web.post(
        f"/admin/booking/show/{show.pk}/change/", show_form(show, total_seats=5)
    )

    assert response.status_code == 200  # the form again, with the error
    assert b"Seat 9 is booked" in response.content
    show.refresh_from_db()
    assert show.total_seats == 10
    assert Seat.objects.filter(show=show).count() == 10


def test_the_show_change_page_contains_the_seat_map(admin_web, movie):
    show = make_show(movie, total_seats=30)
    book(show, [5, 6])

    html = admin_web.get(f"/admin/booking/show/{show.pk}/change/").content.decode()

    assert 'class="seatmap"' in html
    assert '<span class="seat booked">5</span>' in html
    assert '<span class="seat booked">6</span>' in html
    assert '<span class="seat">7</span>' in html
    assert "28 free, 2 booked" in html


def test_a_show_with_bookings_cannot_be_deleted_in_the_admin(admin_web, show):
    book(show, [1])

    response = admin_web.get(f"/admin/booking/show/{show.pk}/delete/")

    assert response.status_code == 403
    assert Show.objects.filter(pk=show.pk).exists()


def test_the_bookings_changelist_takes_as_many_queries_for_10_rows_as_for_2(admin_web, movie):
    show = make_show(movie, total_seats=20)
    for seat in (1, 2):
        book(show, [seat])
    with_two = queries_for(admin_web, "/admin/booking/booking/")

    other_show = make_show(make_movie(title="Heat"), total_seats=20)
    for seat in range(3, 11):
        book(other_show if seat % 2 else show, [seat])
    with_ten = queries_for(admin_web, "/admin/booking/booking/")

    assert Booking.objects.count() == 10
    assert with_ten == with_two


def test_the_shows_changelist_takes_as_many_queries_for_10_rows_as_for_2(admin_web):
    for n in range(2):
        book(make_show(make_movie(title=f"Movie {n}"), total_seats=5), [1])
    with_two = queries_for(admin_web, "/admin/booking/show/")

    for n in range(2, 10):
        book(make_show(make_movie(title=f"Movie {n}"), total_seats=5), [1, 2])
    with_ten = queries_for(admin_web, "/admin/booking/show/")

    assert Show.objects.count() == 10
    assert with_ten == with_two


def test_the_cancel_action_cancels_the_booking_and_frees_its_seats(admin_web, show):
    booking = book(show, [4, 5])
    kept = book(show, [6])

    response = admin_web.post(
        "/admin/booking/booking/",
        {"action": "cancel_selected", "_selected_action": [booking.pk]},
    )

    assert response.status_code == 302
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CANCELLED
    assert booking.cancelled_at is not None
    assert booking.seat_numbers == [4, 5]  # history is kept
    free = Seat.objects.filter(show=show, booking__isnull=True).values_list("number", flat=True)
    assert {4, 5} <= set(free)
    kept.refresh_from_db()
    assert kept.status == Booking.Status.BOOKED
    assert Seat.objects.get(show=show, number=6).booking_id == kept.pk


def test_the_cancel_action_leaves_a_booking_of_a_started_show_alone(admin_web, show):
    booking = book(show, [4])
    Show.objects.filter(pk=show.pk).update(start_time=timezone.now() - timedelta(minutes=5))

    response = admin_web.post(
        "/admin/booking/booking/",
        {"action": "cancel_selected", "_selected_action": [booking.pk]},
        follow=True,
    )

    assert response.status_code == 200
    assert b"already started" in response.content
    booking.refresh_from_db()
    assert booking.status == Booking.Status.BOOKED
    assert Seat.objects.get(show=show, number=4).booking_id == booking.pk


def test_staff_who_may_only_view_bookings_cannot_cancel_them(show):
    viewer = make_user("viewer", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_booking"))
    client = Client()
    client.force_login(viewer)
    booking = book(show, [4])

    client.post(
        "/admin/booking/booking/", {"action": "cancel_selected", "_selected_action": [booking.pk]}
    )

    booking.refresh_from_db()
    assert booking.status == Booking.Status.BOOKED
    assert Seat.objects.get(show=show, number=4).booking_id == booking.pk
