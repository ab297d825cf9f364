"""The database scripts/bench.py measures: recreated, then seeded through the services.

The scenarios get many shows to spread bookings over, one hot show and one laid-out show;
the ratios get a catalogue to read and shows to book and hold. Django and the project are
imported inside the functions: bench.py sets the settings up first.
"""

import argparse
import os
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from bench_clients import USER_PASSWORD

CATALOGUE_MOVIES = 24  # /api/movies/ answers a full page of 20
FEATURED_SHOWS = 10  # the upcoming shows of the movie whose shows are read


def recreate_database(name: str) -> None:
    import MySQLdb

    connection = MySQLdb.connect(
        host=os.environ["DB_HOST"],
        port=int(os.environ["DB_PORT"]),
        user=os.environ["DB_USER"],
        password=os.environ["DB_PASSWORD"],
    )
    try:
        cursor = connection.cursor()
        cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
        cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    finally:
        connection.close()


def create_users(count: int) -> list[str]:
    """Create count users with USER_PASSWORD; return their usernames."""
    from django.contrib.auth.hashers import make_password

    from booking.models import User

    # One hash for everyone: hashing a password per user would take minutes.
    password = make_password(USER_PASSWORD)
    usernames = [f"bench{n:04d}" for n in range(count)]
    User.objects.bulk_create(
        User(username=name, email=f"{name}@example.com", password=password) for name in usernames
    )
    return usernames


def layout(
    rows: int, seats: int, *, aisles_after: tuple[int, ...], premium_rows: int, wheelchair=True
):
    """Return the rows of a screen, the back ones premium and, if wheelchair, the front row
    with two wheelchair spaces."""
    from booking.layouts import Row

    return [
        Row(
            label=chr(ord("A") + n),
            seats=seats,
            aisles_after=aisles_after,
            category="premium" if n >= rows - premium_rows else "standard",
            wheelchair=(1, seats) if wheelchair and n == 0 else (),
        )
        for n in range(rows)
    ]


@dataclass
class Seed:
    spread_shows: dict[int, int]  # show id -> total seats
    hot_show: int
    checkout_shows: dict[int, int]
    laid_out_show: int
    laid_out_seats: int
    usernames: list[str]


def seed(args: argparse.Namespace) -> Seed:
    """Create the scenarios' shows and the users through the ORM and the services."""
    from django.utils import timezone

    from booking import services

    movie = services.create_movie(
        title="Benchmark: The Movie", duration_minutes=120, genre="Drama", language="English"
    )
    start = timezone.now() + timedelta(days=7)

    def plain_shows(first_start) -> dict[int, int]:
        shows = [
            services.create_show(
                movie=movie,
                screen_name=f"Screen {n % 8 + 1}",
                start_time=first_start + timedelta(hours=n),
                total_seats=args.seats,
                price=Decimal("250.00"),
            )
            for n in range(args.shows)
        ]
        return {show.pk: show.total_seats for show in shows}

    spread = plain_shows(start)
    hot = services.create_show(
        movie=movie,
        screen_name="Premiere",
        start_time=start,
        total_seats=args.hot_seats,
        price=Decimal("450.00"),
    )
    checkout = plain_shows(start + timedelta(days=1))
    cinema = services.create_cinema(name="Bench Cinema", city="Pune")
    screen = services.create_screen(
        cinema=cinema,
        name="Hall 1",
        rows=layout(15, 20, aisles_after=(4, 16), premium_rows=3, wheelchair=False),  # 300 seats
    )
    laid_out = services.create_show(
        movie=movie, screen=screen, start_time=start, price=Decimal("300.00")
    )
    return Seed(
        spread_shows=spread,
        hot_show=hot.pk,
        checkout_shows=checkout,
        laid_out_show=laid_out.pk,
        laid_out_seats=laid_out.total_seats,
        usernames=create_users(args.users),
    )


@dataclass
class RatioSeed:
    featured_movie: int  # its FEATURED_SHOWS upcoming shows are read
    seat_map_show: int  # a 300-seat laid-out show, some seats booked and held
    seat_map_seats: int
    booking_shows: dict[int, int]  # show id -> seats, booked during the book segments
    hold_shows: dict[int, int]  # held, then confirmed during the confirm segments


def seed_ratios(args: argparse.Namespace) -> RatioSeed:
    """Create the catalogue the ratio segments read and the shows they book, as staff would."""
    from django.utils import timezone

    from booking import services

    genres = ("Drama", "Comedy", "Thriller", "Animation", "Science fiction", "Romance")
    languages = ("English", "Hindi", "Marathi", "Tamil")
    movies = [
        services.create_movie(
            title=f"Bench Feature {n:02d}",
            description=(
                f"Feature number {n} of the benchmark's catalogue: a story told in "
                f"{languages[n % len(languages)]}, long enough to look like a real synopsis "
                "on a listing page, with a twist in the third act."
            ),
            duration_minutes=95 + n,
            genre=genres[n % len(genres)],
            language=languages[n % len(languages)],
            release_date=date(2025, n % 12 + 1, n % 28 + 1),
        )
        for n in range(CATALOGUE_MOVIES)
    ]
    featured, sold_daily = movies[0], movies[1]
    cinema = services.create_cinema(name="Bench Multiplex", city="Mumbai", address="1 Bench Road")
    big = services.create_screen(
        cinema=cinema,
        name="Audi 1",
        rows=layout(15, 20, aisles_after=(4, 16), premium_rows=3),  # 300 seats
    )
    small = services.create_screen(
        cinema=cinema,
        name="Audi 2",
        rows=layout(12, 14, aisles_after=(3, 11), premium_rows=2),  # 168 seats
    )
    premium = {"premium": Decimal("400.00")}
    start = timezone.now() + timedelta(days=2)
    featured_shows = [
        services.create_show(
            movie=featured,
            screen=(big, small)[n % 2],
            start_time=start + timedelta(hours=3 * n),  # one screen every 6 hours
            price=Decimal("250.00"),
            prices=premium,
        )
        for n in range(FEATURED_SHOWS)
    ]
    # The shows booked and held: laid out as the others, on six more screens.
    screens = [
        services.create_screen(
            cinema=cinema,
            name=f"Audi {n + 3}",
            rows=layout(8, 15, aisles_after=(7,), premium_rows=2),  # 120 seats
        )
        for n in range(6)
    ]
    booking_shows, hold_shows = {}, {}
    for n in range(2 * args.ratio_shows):
        show = services.create_show(
            movie=sold_daily,
            screen=screens[n % len(screens)],
            start_time=start + timedelta(days=1, hours=3 * (n // len(screens))),
            price=Decimal("250.00"),
            prices=premium,
        )
        (booking_shows if n % 2 == 0 else hold_shows)[show.pk] = show.total_seats
    return RatioSeed(
        featured_movie=featured.pk,
        seat_map_show=featured_shows[0].pk,
        seat_map_seats=featured_shows[0].total_seats,
        booking_shows=booking_shows,
        hold_shows=hold_shows,
    )
