"""Load demo data: a small cinema chain, movies, two weeks of shows, and some bookings.

Run from the project root after `manage.py migrate`:

    python load_sample_data.py

Two cinemas in two cities with five screens between them, each laid out like a real
auditorium: rows A, B, C... from the front (no I or O, which read as 1 and 0 on a
ticket), one or two aisles, wheelchair spaces, and premium seats or recliners at the
back that cost more. Every screen shows movies from its opening time until late; each
show starts when the previous one and the screen's turnover are over (rounded up to the
quarter hour), so two shows of a screen never overlap. A few sample customers have
booked seats on many of the shows, in groups, so the seat maps look alive.

Everything is created through `booking.services`. Running it again adds nothing:
cinemas are found by (name, city), screens by (cinema, name), movies by title, shows
by (screen, start time), users by username; sample customers book seats only on the
shows this run created. Show times follow from each screen's opening hour in
settings.TIME_ZONE and the calendar date alone, so a later run only adds the days that
have come into range, and a fresh load books the same seats every time. Each day's
shows and bookings are written in one transaction: a run that stops halfway leaves
whole days behind, never shows that missed their bookings.

The two accounts are for a local machine only:
    demo  / demo-pass-2026   (a customer with a couple of bookings)
    admin / admin-pass-2026  (staff superuser, for /admin/)
    staff / staff-pass-2026  (Cinema staff: the admin and the staff API, no superuser powers)
The sample customers (priya, arjun, ...) have no usable password: they cannot log in.
Existing users are left as they are; their passwords are never reset.
"""

import os
import random
import time as clock
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Protocol
from zoneinfo import ZoneInfo

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "movie_booking.settings")
django.setup()

from django.conf import settings  # noqa: E402
from django.db import transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from booking import services  # noqa: E402
from booking.exceptions import ScreenBusy, SeatUnavailable  # noqa: E402
from booking.layouts import (  # noqa: E402
    Row,
    SeatSpec,
    categories_of,
    layout_problems,
    seats_of,
)
from booking.models import Booking, Cinema, Movie, Screen, Seat, Show, User  # noqa: E402
from booking.services.venues import rows_of  # noqa: E402

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

STANDARD, PREMIUM, RECLINER = "standard", "premium", "recliner"
ROW_LABELS = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # no I or O: on a ticket they read as 1 and 0


def rows(
    count: int,
    seats: int,
    aisles_after: tuple[int, ...],
    category: str = STANDARD,
    wheelchair: tuple[int, ...] = (),
) -> list[Row]:
    """Return count alike rows, labelled later by layout()."""
    return [Row("", seats, aisles_after, category, wheelchair)] * count


def layout(*blocks: list[Row]) -> list[Row]:
    """Join blocks of rows front to back and label them A, B, C..."""
    all_rows = [row for block in blocks for row in block]
    labels = ROW_LABELS[: len(all_rows)]
    return [replace(row, label=label) for row, label in zip(all_rows, labels, strict=True)]


@dataclass(frozen=True)
class ScreenSpec:
    name: str
    opens: time  # local start of the first show of the day
    rows: list[Row]


@dataclass(frozen=True)
class CinemaSpec:
    name: str
    city: str
    address: str
    surcharge: Decimal  # over BASE_PRICES: rents differ between cities
    screens: list[ScreenSpec]


CINEMAS = [
    CinemaSpec(
        name="Riverside Multiplex",
        city="Pune",
        address="Riverside Mall, 12 Mundhwa Road, Koregaon Park, Pune 411001",
        surcharge=Decimal("0.00"),
        screens=[
            # The big one: a wide hall, wheelchair bays at both ends of the front row.
            ScreenSpec(
                name="Audi 1",
                opens=time(9, 0),
                rows=layout(
                    rows(1, 18, (4, 14), wheelchair=(1, 2, 17, 18)),
                    rows(7, 20, (4, 16)),
                    rows(5, 22, (5, 17)),
                    rows(3, 10, (5,), RECLINER),
                ),
            ),
            # Wheelchair spaces on the cross aisle behind the standard block.
            ScreenSpec(
                name="Audi 2",
                opens=time(9, 30),
                rows=layout(
                    rows(8, 16, (3, 13)),
                    rows(1, 14, (3, 11), wheelchair=(1, 14)),
                    rows(3, 12, (6,), PREMIUM),
                ),
            ),
            # A small hall with one centre aisle.
            ScreenSpec(
                name="Audi 3",
                opens=time(10, 0),
                rows=layout(
                    rows(1, 8, (4,), wheelchair=(1, 8)),
                    rows(7, 10, (5,)),
                    rows(2, 6, (3,), PREMIUM),
                ),
            ),
        ],
    ),
    CinemaSpec(
        name="Grand Central Cinemas",
        city="Mumbai",
        address="Phoenix Arcade, 462 Senapati Bapat Marg, Lower Parel, Mumbai 400013",
        surcharge=Decimal("50.00"),
        screens=[
            # Three categories: standard, premium, and one row of recliners at the back.
            ScreenSpec(
                name="Screen 1",
                opens=time(9, 15),
                rows=layout(
                    rows(6, 18, (4, 14)),
                    rows(1, 18, (4, 14), wheelchair=(1, 2, 17, 18)),
                    rows(4, 20, (5, 15)),
                    rows(2, 16, (4, 12), PREMIUM),
                    rows(1, 8, (4,), RECLINER),
                ),
            ),
            ScreenSpec(
                name="Screen 2 Gold",
                opens=time(10, 30),
                rows=layout(
                    rows(1, 12, (2, 10), wheelchair=(1, 12)),
                    rows(7, 12, (2, 10)),
                    rows(3, 8, (2, 6), RECLINER),
                ),
            ),
        ],
    ),
]

SCHEDULE_DAYS = 14
LAST_START = time(22, 30)  # local: no show of the day starts later
SLOT_ROUNDING = timedelta(minutes=15)  # shows start on the quarter hour
# The standard seat's price by local start time (the latest that has begun applies):
# mornings cost least, evenings most.
BASE_PRICES = [
    (time(0, 0), Decimal("180.00")),
    (time(12, 0), Decimal("220.00")),
    (time(17, 0), Decimal("280.00")),
    (time(20, 0), Decimal("320.00")),
]
CATEGORY_SURCHARGES = {PREMIUM: Decimal("120.00"), RECLINER: Decimal("380.00")}

DEMO_USER = {"username": "demo", "email": "demo@example.com", "password": "demo-pass-2026"}
ADMIN_USER = {"username": "admin", "email": "admin@example.com", "password": "admin-pass-2026"}
STAFF_USER = {"username": "staff", "email": "staff@example.com", "password": "staff-pass-2026"}
# Booked for the demo user, a day or more ahead: (cinema, category, seats).
DEMO_BOOKINGS = [
    ("Riverside Multiplex", STANDARD, 2),
    ("Grand Central Cinemas", RECLINER, 2),
]
# They fill the seat maps: one booking each at most per show, of a group of 1-6.
CUSTOMERS = ["priya", "arjun", "meera", "rahul", "ananya", "vikram", "kavya", "rohan"]
GROUP_SIZES = [1, 2, 3, 4, 5, 6]
GROUP_WEIGHTS = [2, 8, 4, 4, 2, 1]  # mostly couples
EMPTY_SHOW_SHARE = 0.3  # of the new shows nobody has booked yet


class SeatLike(Protocol):
    """A seat of a layout (booking.layouts.SeatSpec) or of a show (booking.models.Seat)."""

    label: str
    row: int
    column: int
    category: str
    wheelchair: bool


@dataclass(frozen=True)
class Block:
    labels: tuple[str, ...]
    category: str
    appeal: float  # how much people want it: near the best row, near the middle


def blocks_of(seats: Iterable[SeatLike], size: int) -> list[Block]:
    """Return every run of size seats side by side (no aisle between) that people book.

    The front row and the wheelchair spaces are left out: nobody picks the former, and
    the latter are kept for the people who need them.
    """
    by_row = defaultdict(list)
    for seat in seats:
        by_row[seat.row].append(seat)
    # The best row is two thirds of the way back, as for "best available" seats.
    best_row = round(2 * (len(by_row) - 1) / 3)
    blocks = []
    for row, row_seats in by_row.items():
        if row == 0:
            continue
        row_seats.sort(key=lambda seat: seat.column)
        middle = (row_seats[0].column + row_seats[-1].column) / 2
        for i in range(len(row_seats) - size + 1):
            run = row_seats[i : i + size]
            if run[-1].column - run[0].column != size - 1:
                continue  # an aisle runs through it
            if any(seat.wheelchair for seat in run) or len({s.category for s in run}) > 1:
                continue
            off_centre = abs((run[0].column + run[-1].column) / 2 - middle)
            appeal = (1 / (1 + abs(row - best_row)) / (1 + off_centre / 3)) ** 2
            blocks.append(Block(tuple(seat.label for seat in run), run[0].category, appeal))
    return blocks


def round_up(moment: datetime, step: timedelta = SLOT_ROUNDING) -> datetime:
    """Return moment rounded up to a multiple of step (in UTC; zones differ by 15 min)."""
    since = moment - datetime(2000, 1, 1, tzinfo=UTC)
    return moment + (-since % step)


def base_price(local_start: time) -> Decimal:
    return [price for starts, price in BASE_PRICES if starts <= local_start][-1]


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


@dataclass(frozen=True)
class Venue:
    """A sample screen as it is in the database, with the spec it was made from."""

    cinema: CinemaSpec
    spec: ScreenSpec
    screen: Screen
    seats: list[SeatSpec]  # its layout now: what a show created now copies
    categories: list[str]
    _blocks: dict[int, list[Block]] = field(default_factory=dict, repr=False)

    def blocks(self, size: int) -> list[Block]:
        """Return the blocks of size seats people book here (computed once per size)."""
        if size not in self._blocks:
            self._blocks[size] = blocks_of(self.seats, size)
        return self._blocks[size]


def load_venues() -> list[Venue]:
    """Return the sample screens, creating the missing cinemas and screens.

    A screen that exists keeps its layout, even if staff have changed it.
    """
    venues = []
    cinemas_created = screens_created = 0
    for cinema_spec in CINEMAS:
        cinema = (
            Cinema.objects.filter(name=cinema_spec.name, city=cinema_spec.city)
            .order_by("pk")
            .first()
        )
        if cinema is None:
            cinema = services.create_cinema(
                name=cinema_spec.name, city=cinema_spec.city, address=cinema_spec.address
            )
            cinemas_created += 1
        for spec in cinema_spec.screens:
            screen = Screen.objects.filter(cinema=cinema, name=spec.name).first()
            if screen is None:
                problems = layout_problems(spec.rows)
                if problems:
                    raise ValueError(f"{cinema_spec.name}, {spec.name}: {problems}")
                screen = services.create_screen(cinema=cinema, name=spec.name, rows=spec.rows)
                screens_created += 1
            rows = rows_of(screen)
            venues.append(Venue(cinema_spec, spec, screen, seats_of(rows), categories_of(rows)))
    found = len(CINEMAS) - cinemas_created
    print(f"cinemas: {cinemas_created} created, {found} found")
    print(f"screens: {screens_created} created, {len(venues) - screens_created} found")
    return venues


@dataclass(frozen=True)
class Slot:
    venue: Venue
    movie: Movie
    start_time: datetime  # UTC
    price: Decimal
    prices: dict[str, Decimal]


def day_schedule(day: date, venues: Sequence[Venue], movies: Sequence[Movie]) -> list[Slot]:
    """Return the shows of one local calendar day on each screen, back to back.

    Depends on the date, the screens and the movies alone (never on the time of the
    run), so every run plans the same shows for a day.
    """
    zone = ZoneInfo(settings.TIME_ZONE)
    turnover = timedelta(minutes=settings.SCREEN_TURNOVER_MINUTES)
    last_start = datetime.combine(day, LAST_START, tzinfo=zone)
    slots = []
    for screen_index, venue in enumerate(venues):
        # Work in UTC: adding hours to a local time would ignore a DST change.
        start = datetime.combine(day, venue.spec.opens, tzinfo=zone).astimezone(UTC)
        slot_index = 0
        while start <= last_start:
            # Rotate movies by the calendar date, not by "days from today", so that a
            # run tomorrow picks the same movie for a slot as today's run did.
            movie = movies[(day.toordinal() + screen_index * 3 + slot_index) % len(movies)]
            price = base_price(start.astimezone(zone).time()) + venue.cinema.surcharge
            prices = {
                category: price + CATEGORY_SURCHARGES[category]
                for category in venue.categories
                if category in CATEGORY_SURCHARGES
            }
            slots.append(Slot(venue, movie, start, price, prices))
            start = round_up(start + timedelta(minutes=movie.duration_minutes) + turnover)
            slot_index += 1
    return slots


def load_schedule(
    venues: list[Venue], movies: list[Movie], customers: list[User], *, now: datetime
) -> None:
    """Create the missing shows of the coming SCHEDULE_DAYS days; book on the new ones."""
    today = now.astimezone(ZoneInfo(settings.TIME_ZONE)).date()
    screens = [venue.screen for venue in venues]
    existing = set(
        Show.objects.filter(screen__in=screens, start_time__gte=now).values_list(
            "screen_id", "start_time"
        )
    )
    shows = found = busy = 0
    bookings = Counter()
    for day in (today + timedelta(days=n) for n in range(SCHEDULE_DAYS)):
        slots = [
            slot
            for slot in day_schedule(day, venues, movies)
            if slot.start_time > now  # a show that has started cannot be booked: no use here
        ]
        missing = [s for s in slots if (s.venue.screen.pk, s.start_time) not in existing]
        found += len(slots) - len(missing)
        # One transaction per day, not one per show and per booking: on a busy disk
        # each commit's flush costs more than the writes themselves.
        with transaction.atomic():
            created = load_shows(missing)
            bookings += load_customer_bookings(created, customers, now=now)
        shows += len(created)
        busy += len(missing) - len(created)
    print(
        f"shows: {shows} created, {found} found, {busy} skipped (screen busy) "
        f"({today} + {SCHEDULE_DAYS - 1} days)"
    )
    print(
        f"customer bookings: {bookings['bookings']} created ({bookings['seats']} seats) "
        f"on {bookings['shows']} of {shows} new shows"
    )


def load_shows(slots: Iterable[Slot]) -> list[tuple[Show, Venue]]:
    """Create a show in each slot unless its screen is busy then; return the new ones."""
    created = []
    for slot in slots:
        try:
            show = services.create_show(
                movie=slot.movie,
                screen=slot.venue.screen,
                start_time=slot.start_time,
                price=slot.price,
                prices=slot.prices,
            )
        except ScreenBusy:
            # Staff put another show there: theirs stays. create_show ran in its own
            # savepoint, so the day's transaction goes on unharmed.
            continue
        created.append((show, slot.venue))
    return created


def find_or_create_user(username: str, email: str, password: str | None) -> tuple[User, bool]:
    """Return the user with this username and whether it was created just now.

    A password of None is unusable: that user cannot log in.
    """
    user = User.objects.filter(username__iexact=username).first()
    if user is not None:
        return user, False
    return services.create_user(username=username, email=email, password=password), True


def load_user(username: str, email: str, password: str, *, staff: bool = False) -> User:
    """Return the user with this username, creating it if it does not exist."""
    if staff and not User.objects.filter(username__iexact=username).exists():
        user = User.objects.create_superuser(username=username, email=email, password=password)
        print(f"user {username}: created")
        return user
    user, created = find_or_create_user(username, email, password)
    print(f"user {username}: {'created' if created else 'found (password left as it is)'}")
    return user


def load_customers() -> list[User]:
    """Return the sample customers, creating the missing ones (they cannot log in)."""
    customers = [
        find_or_create_user(name, f"{name}@example.com", password=None) for name in CUSTOMERS
    ]
    created = sum(1 for _, was_created in customers if was_created)
    print(f"customers: {created} created, {len(customers) - created} found")
    return [user for user, _ in customers]


def load_customer_bookings(
    shows: list[tuple[Show, Venue]], customers: list[User], *, now: datetime
) -> Counter:
    """Book groups of seats on most of shows (new, so still empty) for the customers.

    Return how many bookings, seats and shows were booked.
    """
    zone = ZoneInfo(settings.TIME_ZONE)
    # One booking per customer per show, so a group never exceeds what one user may hold.
    largest_group = min(
        max(GROUP_SIZES), getattr(settings, "MAX_SEATS_PER_USER_PER_SHOW", max(GROUP_SIZES))
    )
    booked = Counter()
    for show, venue in shows:
        # Seeded by what the show is, not by its id: every fresh load books the same.
        seed = f"{venue.cinema.name}/{venue.spec.name}/{show.start_time.isoformat()}"
        rng = random.Random(seed)  # noqa: S311 - demo data, not a secret
        if rng.random() < EMPTY_SHOW_SHARE:
            continue
        local = show.start_time.astimezone(zone)
        busy = local.hour >= 17 or local.weekday() >= 5  # evenings and weekends sell
        groups = rng.randint(3, len(customers)) if busy else rng.randint(1, 3)
        taken: set[str] = set()
        for customer in rng.sample(customers, groups):
            size = min(rng.choices(GROUP_SIZES, weights=GROUP_WEIGHTS)[0], largest_group)
            free = [block for block in venue.blocks(size) if taken.isdisjoint(block.labels)]
            if not free:
                continue
            block = rng.choices(free, weights=[block.appeal for block in free])[0]
            try:
                services.book_seats(
                    user=customer, show=show, now=now, seat_labels=list(block.labels)
                )
            except SeatUnavailable:
                continue  # someone booked them through the API meanwhile
            taken.update(block.labels)
            booked["bookings"] += 1
            booked["seats"] += len(block.labels)
        booked["shows"] += bool(taken)
    return booked


def load_demo_bookings(user: User, *, now: datetime) -> None:
    """Book a few seats for user unless they already hold a booking of an upcoming show."""
    upcoming = Booking.objects.filter(
        user=user, status=Booking.Status.BOOKED, show__start_time__gt=now
    )
    if upcoming.exists():
        print(f"bookings of {user.username}: {upcoming.count()} found")
        return
    created = 0
    for cinema, category, size in DEMO_BOOKINGS:
        # Skip a day so the demo bookings do not start while someone is looking at them.
        shows = Show.objects.filter(
            screen__cinema__name=cinema, start_time__gt=now + timedelta(days=1)
        ).order_by("start_time", "pk")
        for show in shows[:20]:
            seats = Seat.objects.filter(show=show)
            taken = {seat.label for seat in seats if seat.booking_id is not None}
            free = [
                block
                for block in blocks_of(seats, size)
                if block.category == category and taken.isdisjoint(block.labels)
            ]
            if not free:
                continue
            best = max(free, key=lambda block: block.appeal)
            try:
                services.book_seats(user=user, show=show, now=now, seat_labels=list(best.labels))
            except SeatUnavailable:
                continue  # someone else took them: try the next show
            created += 1
            break
    print(f"bookings of {user.username}: {created} created")


def main(*, now: datetime | None = None) -> None:
    """Load the sample data, creating only what is missing."""
    began = clock.perf_counter()
    now = now or timezone.now()
    movies = load_movies()
    venues = load_venues()
    demo = load_user(**DEMO_USER)
    load_user(**ADMIN_USER, staff=True)
    services.make_cinema_staff(user=load_user(**STAFF_USER))
    customers = load_customers()
    load_schedule(venues, movies, customers, now=now)
    load_demo_bookings(demo, now=now)
    print(f"done in {clock.perf_counter() - began:.1f} s")


if __name__ == "__main__":
    main()
