"""Load demo data: movies, two weeks of shows, a demo user and a staff admin.

Run from the project root after `manage.py migrate`:

    python load_sample_data.py

Everything is created through `booking.services`, so every show has its seat rows.
Running it again adds nothing: movies are found by title, shows by (movie, screen,
start time), users by username. Show times are fixed local hours of each calendar day
in settings.TIME_ZONE, so a later run only adds the days that have come into range.

The two accounts are for a local machine only:
    demo  / demo-pass-2026   (a customer with a couple of bookings)
    admin / admin-pass-2026  (staff superuser, for /admin/)
Existing users are left as they are; their passwords are never reset.
"""

import os
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "movie_booking.settings")
django.setup()

from django.conf import settings  # noqa: E402
from django.utils import timezone  # noqa: E402

from booking import services  # noqa: E402
from booking.exceptions import SeatUnavailable  # noqa: E402
from booking.models import Booking, Movie, Show, User  # noqa: E402

MOVIES = [
    {
        "title": "Dune: Part Two",
        "description": (
            "Paul Atreides unites with Chani and the Fremen while seeking revenge against "
            "the conspirators who destroyed his family."
        ),
        "duration_minutes": 166,
        "genre": "Sci-Fi",
        "language": "English",
        "release_date": date(2024, 3, 1),
    },
    {
        "title": "Oppenheimer",
        "description": (
            "The story of J. Robert Oppenheimer and the Manhattan Project, from Los Alamos "
            "to the security hearing that ended his career."
        ),
        "duration_minutes": 180,
        "genre": "Drama",
        "language": "English",
        "release_date": date(2023, 7, 21),
    },
    {
        "title": "Everything Everywhere All at Once",
        "description": (
            "A laundromat owner buried in a tax audit discovers she must connect with "
            "versions of herself in other universes to save the multiverse."
        ),
        "duration_minutes": 139,
        "genre": "Comedy",
        "language": "English",
        "release_date": date(2022, 3, 25),
    },
    {
        "title": "Inside Out 2",
        "description": (
            "Riley is thirteen, and Joy, Sadness and the others make room for new "
            "emotions led by Anxiety, who has plans of her own."
        ),
        "duration_minutes": 96,
        "genre": "Animation",
        "language": "English",
        "release_date": date(2024, 6, 14),
    },
    {
        "title": "Parasite",
        "description": (
            "The penniless Kim family talk their way, one by one, into jobs with the "
            "wealthy Park family, until a secret in the basement changes everything."
        ),
        "duration_minutes": 132,
        "genre": "Thriller",
        "language": "Korean",
        "release_date": date(2019, 5, 30),
    },
    {
        "title": "RRR",
        "description": (
            "Two revolutionaries in 1920s India, on opposite sides of the law, forge a "
            "friendship that is tested by their fight against the British Raj."
        ),
        "duration_minutes": 187,
        "genre": "Action",
        "language": "Telugu",
        "release_date": date(2022, 3, 25),
    },
    {
        "title": "3 Idiots",
        "description": (
            "Two friends search for their long-lost college companion, remembering how "
            "he challenged an engineering school obsessed with marks."
        ),
        "duration_minutes": 170,
        "genre": "Comedy",
        "language": "Hindi",
        "release_date": date(2009, 12, 25),
    },
    {
        "title": "Spirited Away",
        "description": (
            "Ten-year-old Chihiro wanders into a world of spirits and must work in a "
            "witch's bathhouse to free herself and her parents."
        ),
        "duration_minutes": 125,
        "genre": "Animation",
        "language": "Japanese",
        "release_date": date(2001, 7, 20),
    },
    {
        "title": "Amélie",
        "description": (
            "A shy waitress in Montmartre decides to secretly change the lives of the "
            "people around her, while struggling with her own loneliness."
        ),
        "duration_minutes": 122,
        "genre": "Romance",
        "language": "French",
        "release_date": date(2001, 4, 25),
    },
    {
        "title": "Pan's Labyrinth",
        "description": (
            "In Francoist Spain in 1944, a young girl escapes into an eerie fantasy world "
            "where a faun sets her three dangerous tasks."
        ),
        "duration_minutes": 118,
        "genre": "Fantasy",
        "language": "Spanish",
        "release_date": date(2006, 10, 11),
    },
]

# (name, seats, surcharge over the slot's base price)
SCREENS = [
    ("Screen 1", 150, Decimal("100.00")),  # the big screen costs more
    ("Screen 2", 120, Decimal("50.00")),
    ("Screen 3", 90, Decimal("0.00")),
    ("Screen 4", 60, Decimal("0.00")),
]
# Local start times and base prices; evenings cost more. Slots are 3.5 hours apart,
# longer than the longest movie, so the shows of one screen never overlap.
SLOTS = [
    (time(10, 0), Decimal("180.00")),
    (time(13, 30), Decimal("220.00")),
    (time(17, 0), Decimal("280.00")),
    (time(20, 30), Decimal("350.00")),
]
SCHEDULE_DAYS = 14

DEMO_USER = {"username": "demo", "email": "demo@example.com", "password": "demo-pass-2026"}
ADMIN_USER = {"username": "admin", "email": "admin@example.com", "password": "admin-pass-2026"}
# Booked for the demo user on the first upcoming shows, so the seat map is not empty.
DEMO_SEATS = [[7, 8], [12]]


def load_movies() -> list[Movie]:
    """Return the sample movies, creating the missing ones."""
    movies, created = [], 0
    for fields in MOVIES:
        movie = Movie.objects.filter(title=fields["title"]).order_by("pk").first()
        if movie is None:
            movie = services.create_movie(**fields)
            created += 1
        movies.append(movie)
    print(f"movies: {created} created, {len(movies) - created} found")
    return movies


def load_shows(movies: list[Movie], *, now: datetime) -> None:
    """Create the shows of the coming SCHEDULE_DAYS days that are missing."""
    zone = ZoneInfo(settings.TIME_ZONE)
    today = now.astimezone(zone).date()
    created = found = 0
    for day in (today + timedelta(days=n) for n in range(SCHEDULE_DAYS)):
        for screen_index, (screen_name, seats, surcharge) in enumerate(SCREENS):
            for slot_index, (start, base_price) in enumerate(SLOTS):
                start_time = datetime.combine(day, start, tzinfo=zone).astimezone(UTC)
                if start_time <= now:
                    continue  # a show that has started cannot be booked: no use in a demo
                # Rotate movies by the calendar date, not by "days from today", so that a
                # run tomorrow picks the same movie for a slot as today's run did.
                movie = movies[(day.toordinal() + screen_index * 3 + slot_index) % len(movies)]
                exists = Show.objects.filter(
                    movie=movie, screen_name=screen_name, start_time=start_time
                ).exists()
                if exists:
                    found += 1
                    continue
                services.create_show(
                    movie=movie,
                    screen_name=screen_name,
                    start_time=start_time,
                    total_seats=seats,
                    price=base_price + surcharge,
                )
                created += 1
    print(f"shows: {created} created, {found} found ({today} + {SCHEDULE_DAYS - 1} days)")


def load_user(username: str, email: str, password: str, *, staff: bool = False) -> User:
    """Return the user with this username, creating it if it does not exist."""
    user = User.objects.filter(username__iexact=username).first()
    if user is not None:
        print(f"user {username}: found (password left as it is)")
        return user
    if staff:
        user = User.objects.create_superuser(username=username, email=email, password=password)
    else:
        user = services.create_user(username=username, email=email, password=password)
    print(f"user {username}: created")
    return user


def load_demo_bookings(user: User, *, now: datetime) -> None:
    """Book a few seats for user unless they already hold a booking of an upcoming show."""
    upcoming = Booking.objects.filter(
        user=user, status=Booking.Status.BOOKED, show__start_time__gt=now
    )
    if upcoming.exists():
        print(f"bookings of {user.username}: {upcoming.count()} found")
        return
    created = 0
    # Skip a day so the demo bookings do not start while someone is looking at them.
    shows = Show.objects.filter(start_time__gt=now + timedelta(days=1)).order_by("start_time", "pk")
    for show, seats in zip(shows[: len(DEMO_SEATS)], DEMO_SEATS, strict=False):
        try:
            services.book_seats(user=user, show=show, seat_numbers=seats, now=now)
            created += 1
        except SeatUnavailable:
            pass  # someone else took them: the seat map is not empty anyway
    print(f"bookings of {user.username}: {created} created")


def main(*, now: datetime | None = None) -> None:
    """Load the sample data, creating only what is missing."""
    now = now or timezone.now()
    movies = load_movies()
    load_shows(movies, now=now)
    demo = load_user(**DEMO_USER)
    load_user(**ADMIN_USER, staff=True)
    load_demo_bookings(demo, now=now)


if __name__ == "__main__":
    main()
