"""The sample data loader: idempotent, realistic enough, usable through the API."""

from collections import Counter
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.db.models import Count, F
from django.utils import timezone

import load_sample_data
from booking.models import Booking, Movie, Seat, Show, User

pytestmark = pytest.mark.django_db


def row_counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in (Movie, Show, Seat, Booking, User)}


def shows_per_local_day() -> Counter:
    zone = ZoneInfo(settings.TIME_ZONE)
    starts = Show.objects.values_list("start_time", flat=True)
    return Counter(start.astimezone(zone).date() for start in starts)


@pytest.fixture
def now():
    return timezone.now()


@pytest.fixture
def sample_data(now):
    load_sample_data.main(now=now)


def test_a_second_run_creates_nothing(sample_data, now, capsys):
    before = row_counts()

    load_sample_data.main(now=now)

    assert row_counts() == before
    output = capsys.readouterr().out
    assert "movies: 0 created" in output
    assert "shows: 0 created" in output
    assert "bookings of demo: 0 created" not in output  # found, not retried


def test_a_run_on_a_later_day_adds_only_the_new_day(sample_data, now):
    before = shows_per_local_day()

    load_sample_data.main(now=now + timedelta(days=1))

    after = shows_per_local_day()
    new_days = after.keys() - before.keys()
    assert len(new_days) == 1
    assert after - before == {
        new_days.pop(): len(load_sample_data.SCREENS) * len(load_sample_data.SLOTS)
    }


def test_the_catalogue_has_movies_and_two_weeks_of_upcoming_shows(sample_data, now):
    assert Movie.objects.count() >= 8
    assert Movie.objects.exclude(language="English").exists()
    assert len(shows_per_local_day()) >= 10
    assert not Show.objects.filter(start_time__lte=now).exists()
    assert Show.objects.values("screen_name").distinct().count() >= 3


def test_every_show_has_one_seat_row_per_seat(sample_data):
    shows = Show.objects.annotate(seat_rows=Count("seats"))

    assert shows.exists()
    assert not shows.exclude(seat_rows=F("total_seats")).exists()


def test_the_demo_user_holds_a_few_seats(sample_data):
    bookings = Booking.objects.filter(user__username="demo", status=Booking.Status.BOOKED)

    assert bookings.exists()
    for booking in bookings:
        held = Seat.objects.filter(booking=booking).values_list("number", flat=True)
        assert sorted(held) == booking.seat_numbers


def test_the_admin_is_a_staff_superuser(sample_data):
    admin = User.objects.get(username="admin")

    assert admin.is_staff
    assert admin.is_superuser


@pytest.mark.parametrize(
    ("username", "password"),
    [("demo", "demo-pass-2026"), ("admin", "admin-pass-2026")],
)
def test_the_sample_users_can_log_in(sample_data, api_client, username, password):
    response = api_client.post(
        "/api/login/", {"username": username, "password": password}, format="json"
    )

    assert response.status_code == 200, response.content
    assert {"access", "refresh"} <= response.json().keys()


def test_an_existing_users_password_is_not_reset(now):
    User.objects.create_user(username="demo", email="demo@example.com", password="changed-1234")

    load_sample_data.main(now=now)

    assert User.objects.get(username="demo").check_password("changed-1234")
