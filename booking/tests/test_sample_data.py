"""The sample data loader: idempotent, realistic enough, usable through the API."""

from collections import Counter, defaultdict
from datetime import datetime, time, timedelta
from decimal import Decimal
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.db import transaction
from django.db.models import Count, F
from django.test import override_settings
from django.utils import timezone

import load_sample_data
from booking import services
from booking.layouts import layout_problems
from booking.models import (
    Booking,
    Cinema,
    Movie,
    Screen,
    ScreenRow,
    Seat,
    Show,
    User,
)
from booking.services.venues import rows_of

pytestmark = pytest.mark.django_db

FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
BACK_CATEGORIES = {"premium", "recliner"}


def row_counts() -> dict[str, int]:
    models = (Cinema, Screen, ScreenRow, Movie, Show, Seat, Booking, User)
    counts = {model.__name__: model.objects.count() for model in models}
    counts["booked seats"] = Seat.objects.filter(booking__isnull=False).count()
    return counts


def local_date(moment: datetime):
    return moment.astimezone(ZoneInfo(settings.TIME_ZONE)).date()


def shows_per_local_day() -> Counter:
    return Counter(local_date(start) for start in Show.objects.values_list("start_time", flat=True))


def before_the_first_show(day_offset: int = 1) -> datetime:
    """Return 07:00 local on a coming day: every show of that day is still ahead."""
    zone = ZoneInfo(settings.TIME_ZONE)
    day = timezone.now().astimezone(zone).date() + timedelta(days=day_offset)
    return datetime.combine(day, time(7, 0), tzinfo=zone)


def booked_labels() -> set[tuple[str, str, datetime, str, str]]:
    """Every booked seat as (cinema, screen, start, customer, label): ids left out."""
    seats = Seat.objects.filter(booking__isnull=False).values_list(
        "show__screen__cinema__name",
        "show__screen__name",
        "show__start_time",
        "booking__user__username",
        "label",
    )
    return set(seats)


@pytest.fixture(scope="class")
def full_load(django_db_setup, django_db_blocker):
    """Load the sample data once for a class of read-only checks; roll it back after.

    A full load takes seconds; each test still runs in its own savepoint inside this
    transaction, so a test that writes leaves the next one the same data.
    """
    now = before_the_first_show()
    with (
        django_db_blocker.unblock(),
        override_settings(PASSWORD_HASHERS=FAST_HASHERS),
        transaction.atomic(),
    ):
        load_sample_data.main(now=now)
        yield now
        transaction.set_rollback(True)


@pytest.fixture
def short_schedule(monkeypatch):
    """Two days of shows instead of two weeks: for the tests about how a run behaves."""
    monkeypatch.setattr(load_sample_data, "SCHEDULE_DAYS", 2)


@pytest.mark.usefixtures("full_load")
class TestAFullLoad:
    def test_a_second_run_creates_nothing(self, full_load, capsys):
        before = row_counts()

        load_sample_data.main(now=full_load)

        assert row_counts() == before
        output = capsys.readouterr().out
        for line in ("movies: 0 created", "cinemas: 0 created", "screens: 0 created"):
            assert line in output
        assert "shows: 0 created" in output
        assert "customers: 0 created" in output
        assert "customer bookings: 0 created" in output
        assert "bookings of demo: 0 created" not in output  # found, not retried

    def test_a_run_on_a_later_day_adds_only_the_new_day(self, full_load):
        before = shows_per_local_day()
        bookings_before = Booking.objects.count()
        later = full_load + timedelta(days=1)

        load_sample_data.main(now=later)

        after = shows_per_local_day()
        new_days = after.keys() - before.keys()
        assert len(new_days) == 1
        new_day = new_days.pop()
        planned = load_sample_data.day_schedule(
            new_day, load_sample_data.load_venues(), load_sample_data.load_movies()
        )
        assert after - before == {new_day: len(planned)}
        # Only the new day's shows were booked on.
        new_bookings = Booking.objects.order_by("pk")[bookings_before:]
        assert {local_date(booking.show.start_time) for booking in new_bookings} == {new_day}

    def test_there_are_two_cinemas_in_two_cities(self):
        cinemas = Cinema.objects.all()

        assert cinemas.count() >= 2
        assert len({cinema.city for cinema in cinemas}) >= 2
        assert all(cinema.address for cinema in cinemas)
        assert not Cinema.objects.annotate(screens_count=Count("screens")).filter(screens_count=0)

    def test_five_screens_are_laid_out_like_real_auditoriums(self):
        screens = list(Screen.objects.all())

        assert len(screens) == 5
        capacities = []
        for screen in screens:
            rows = rows_of(screen)
            name = f"{screen.cinema.name} {screen.name}"
            assert layout_problems(rows) == [], name
            assert 10 <= len(rows) <= 16, name
            assert [row.label for row in rows] == list(load_sample_data.ROW_LABELS[: len(rows)])
            assert not {"I", "O"} & {row.label for row in rows}, name
            assert all(1 <= len(row.aisles_after) <= 2 for row in rows), name
            assert any(row.wheelchair for row in rows), name
            # The dearer seats are a block at the back: after the first one, no standard row.
            categories = [row.category for row in rows]
            first_back = next(i for i, c in enumerate(categories) if c in BACK_CATEGORIES)
            assert categories[0] == "standard", name
            assert set(categories[first_back:]) <= BACK_CATEGORIES, name
            # Fewer, wider seats at the back.
            assert rows[-1].seats < max(row.seats for row in rows), name
            capacity = sum(row.seats for row in rows)
            assert 80 <= capacity <= 300, name
            capacities.append(capacity)
        assert len(set(capacities)) == len(screens)  # no two halls alike
        assert sum(capacities) <= 1000

    def test_two_weeks_of_upcoming_shows_are_all_on_screens(self, full_load):
        per_day = shows_per_local_day()

        assert Movie.objects.count() >= 8
        assert Movie.objects.exclude(language="English").exists()
        assert len(per_day) == load_sample_data.SCHEDULE_DAYS == 14
        assert min(per_day) == local_date(full_load)
        assert not Show.objects.filter(start_time__lte=full_load).exists()
        assert not Show.objects.filter(screen__isnull=True).exists()
        per_screen_day = Counter(
            (screen_id, local_date(start))
            for screen_id, start in Show.objects.values_list("screen_id", "start_time")
        )
        assert len(per_screen_day) == 5 * 14
        assert min(per_screen_day.values()) >= 4
        # Every planned show was created: none was refused as overlapping another.
        venues, movies = load_sample_data.load_venues(), load_sample_data.load_movies()
        planned = [
            slot
            for day in per_day
            for slot in load_sample_data.day_schedule(day, venues, movies)
            if slot.start_time > full_load
        ]
        assert len(planned) == Show.objects.count()

    def test_no_two_shows_of_a_screen_overlap_turnover_included(self):
        turnover = timedelta(minutes=settings.SCREEN_TURNOVER_MINUTES)
        shows = Show.objects.select_related("movie").order_by("screen", "start_time")
        by_screen = defaultdict(list)
        for show in shows:
            by_screen[show.screen_id].append(show)

        assert len(by_screen) == 5
        for screen_shows in by_screen.values():
            for earlier, later in pairwise(screen_shows):
                free_again = (
                    earlier.start_time
                    + timedelta(minutes=earlier.movie.duration_minutes)
                    + turnover
                )
                assert later.start_time >= free_again, (earlier, later)

    def test_shows_start_on_the_quarter_hour_in_local_time(self):
        zone = ZoneInfo(settings.TIME_ZONE)
        for start in Show.objects.values_list("start_time", flat=True):
            local = start.astimezone(zone)
            assert local.minute % 15 == 0
            assert local.second == local.microsecond == 0
            assert local.time() <= load_sample_data.LAST_START

    def test_the_seats_at_the_back_cost_more(self):
        shows = list(Show.objects.all())

        assert {"premium", "recliner"} <= {c for show in shows for c in show.categories}
        for show in shows:
            prices = show.prices
            assert prices["standard"] == show.price
            for category in set(show.categories) & BACK_CATEGORIES:
                assert prices[category] > show.price
        assert len({show.price for show in shows}) > 1  # evenings cost more than mornings

    def test_many_shows_have_groups_of_seats_booked(self):
        shows = Show.objects.all()
        booked_shows = Show.objects.filter(seats__booking__isnull=False).distinct().count()
        customers = User.objects.filter(username__in=load_sample_data.CUSTOMERS)

        assert shows.count() > booked_shows >= shows.count() // 2  # many, not all
        assert customers.count() == len(load_sample_data.CUSTOMERS)
        assert not any(customer.has_usable_password() for customer in customers)
        bookings = Booking.objects.filter(user__in=customers)
        assert bookings.count() > booked_shows
        for booking in bookings:
            seats = list(Seat.objects.filter(booking=booking).order_by("column"))
            assert len(seats) == len(booking.seat_numbers) <= 6
            # Side by side in one row, no aisle between, never the front row or a
            # wheelchair space.
            assert len({seat.row for seat in seats}) == 1
            assert seats[-1].column - seats[0].column == len(seats) - 1
            assert seats[0].row > 0
            assert not any(seat.wheelchair for seat in seats)
        per_user_and_show = Counter(bookings.values_list("user", "show"))
        assert max(per_user_and_show.values()) == 1

    def test_every_show_has_one_seat_row_per_seat(self):
        shows = Show.objects.annotate(seat_rows=Count("seats"))

        assert shows.exists()
        assert not shows.exclude(seat_rows=F("total_seats")).exists()
        assert not Show.objects.exclude(
            total_seats__in=[sum(r.seats for r in rows_of(s)) for s in Screen.objects.all()]
        ).exists()

    def test_the_demo_user_holds_a_few_seats(self, full_load):
        bookings = Booking.objects.filter(user__username="demo", status=Booking.Status.BOOKED)

        assert bookings.count() == len(load_sample_data.DEMO_BOOKINGS)
        assert {booking.show.screen.cinema.name for booking in bookings} == {
            cinema for cinema, _, _ in load_sample_data.DEMO_BOOKINGS
        }
        for booking in bookings:
            assert booking.show.start_time > full_load + timedelta(days=1)
            held = Seat.objects.filter(booking=booking).values_list("number", flat=True)
            assert sorted(held) == booking.seat_numbers

    def test_the_admin_is_a_staff_superuser(self):
        admin = User.objects.get(username="admin")

        assert admin.is_staff
        assert admin.is_superuser

    def test_the_staff_user_is_cinema_staff_without_superuser_powers(self):
        staff = User.objects.get(username="staff")

        assert staff.is_staff and not staff.is_superuser
        assert list(staff.groups.values_list("name", flat=True)) == ["Cinema staff"]

    @pytest.mark.parametrize(
        ("username", "password"),
        [("demo", "demo-pass-2026"), ("admin", "admin-pass-2026"), ("staff", "staff-pass-2026")],
    )
    def test_the_sample_users_can_log_in(self, api_client, username, password):
        response = api_client.post(
            "/api/login/", {"username": username, "password": password}, format="json"
        )

        assert response.status_code == 200, response.content
        assert {"access", "refresh"} <= response.json().keys()


@pytest.mark.usefixtures("short_schedule")
def test_an_existing_users_password_is_not_reset():
    User.objects.create_user(username="demo", email="demo@example.com", password="changed-1234")

    load_sample_data.main(now=before_the_first_show())

    assert User.objects.get(username="demo").check_password("changed-1234")


@pytest.mark.usefixtures("short_schedule")
def test_every_fresh_load_books_the_same_seats():
    now = before_the_first_show()
    with transaction.atomic():
        load_sample_data.main(now=now)
        first = booked_labels()
        transaction.set_rollback(True)
    assert not Show.objects.exists()

    load_sample_data.main(now=now)

    assert first
    assert booked_labels() == first


@pytest.mark.usefixtures("short_schedule")
def test_a_show_staff_scheduled_in_a_planned_slot_is_kept(capsys):
    now = before_the_first_show()
    load_sample_data.load_movies()
    screen = load_sample_data.load_venues()[0].screen
    staff_show = services.create_show(
        movie=services.create_movie(title="Director's Cut", duration_minutes=200),
        screen=screen,
        start_time=now + timedelta(hours=4),
        price=Decimal("500.00"),
    )

    load_sample_data.main(now=now)

    assert Show.objects.filter(pk=staff_show.pk).exists()
    output = capsys.readouterr().out
    assert "skipped (screen busy)" in output
    assert "0 skipped" not in output


@pytest.mark.usefixtures("short_schedule")
def test_show_times_are_fixed_local_hours_of_the_cinemas_time_zone(settings):
    settings.TIME_ZONE = "Asia/Kolkata"  # UTC+05:30: local hours are not UTC hours
    zone = ZoneInfo(settings.TIME_ZONE)

    load_sample_data.main(now=before_the_first_show())

    openings = {
        screen.name: screen.opens
        for cinema in load_sample_data.CINEMAS
        for screen in cinema.screens
    }
    firsts = {}
    for name, start in Show.objects.order_by("start_time").values_list(
        "screen__name", "start_time"
    ):
        local = start.astimezone(zone)
        firsts.setdefault((name, local.date()), local.time())
        assert local.minute % 15 == 0
    assert firsts
    assert all(first == openings[name] for (name, _), first in firsts.items())
