"""Tables of the booking service and the guarantees the database holds for them.

A cinema has screens; a screen's layout is its rows (`ScreenRow`). A show on a screen
copies that layout into its own seats when it is created (a snapshot: editing the
screen later never moves a sold seat). A show owns one `Seat` row per seat. A seat
points at the live booking that holds it, or at nothing. "Is seat 12 free?" is
therefore one row, unique on (show, number), that a booking locks and updates — never
"no booking row exists", which nothing can lock. A cancelled `Booking` keeps its seats
as history and releases the rows.
"""

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.contrib.auth.models import UserManager as DjangoUserManager
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower

# Ids are 64-bit (BigAutoField): no row has a larger id, and no database binds a larger
# integer (SQLite cannot even compare one).
MAX_ID = 2**63 - 1
MAX_TITLE_LENGTH = 200
MAX_DESCRIPTION_LENGTH = 5000
MAX_LABEL_LENGTH = 50
MAX_DURATION_MINUTES = 1000
MAX_SEATS_PER_SHOW = 1000
# Any start, past included (staff correct history), within bounds that keep a show's
# arithmetic (its film's length, the screen's turnover, cut-offs) inside Python's dates.
EARLIEST_SHOW_START = datetime(1900, 1, 1, tzinfo=UTC)
LATEST_SHOW_START = datetime(9000, 1, 1, tzinfo=UTC)
MAX_SEAT_PRICE = 100_000
MAX_CINEMA_NAME_LENGTH = 100
MAX_CITY_LENGTH = 50
MAX_ADDRESS_LENGTH = 200
MAX_ROW_LABEL_LENGTH = 5
MAX_SEAT_LABEL_LENGTH = 8  # a row label and a place in the row: "ABCDE100"
MAX_CATEGORY_LENGTH = 30
DEFAULT_CATEGORY = "standard"
REFERENCE_LENGTH = 8
REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read out at a counter


class UserManager(DjangoUserManager):
    @classmethod
    def normalize_email(cls, email):
        # Stored as typed (API.md); uniqueness is case-insensitive anyway.
        return email or ""

    def get_by_natural_key(self, username):
        # Login (and the admin's) matches usernames case-insensitively; the unique
        # constraints below make the match unambiguous.
        return self.get(**{f"{self.model.USERNAME_FIELD}__iexact": username})


class User(AbstractUser):
    email = models.EmailField("email address", unique=True)
    # Bumped by every transaction that claims seats for this user: a write, not just a
    # lock, so that it also excludes a claim running on another Galera node (Galera
    # certifies the rows a transaction writes; it ignores the rows it only locked).
    claim_version = models.PositiveBigIntegerField(default=0, editable=False)

    objects = UserManager()

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"
        constraints = [
            # Case-insensitive uniqueness on SQLite and PostgreSQL. MariaDB/MySQL cannot
            # index expressions, but there the plain unique indexes already compare with
            # the case-insensitive utf8mb4 collation.
            models.UniqueConstraint(Lower("username"), name="user_username_ci_unique"),
            models.UniqueConstraint(Lower("email"), name="user_email_ci_unique"),
        ]


class Movie(models.Model):
    title = models.CharField(max_length=MAX_TITLE_LENGTH)
    description = models.TextField(blank=True, max_length=MAX_DESCRIPTION_LENGTH)
    duration_minutes = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(MAX_DURATION_MINUTES)]
    )
    genre = models.CharField(max_length=MAX_LABEL_LENGTH, blank=True)
    language = models.CharField(max_length=MAX_LABEL_LENGTH, blank=True)
    release_date = models.DateField(null=True, blank=True)
    # Bumped whenever a show of this movie is scheduled or its duration changes (see
    # Screen.schedule_version).
    schedule_version = models.PositiveBigIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title", "pk"]
        indexes = [
            models.Index(fields=["title"], name="movie_title_idx"),
            models.Index(fields=["genre"], name="movie_genre_idx"),
            models.Index(fields=["language"], name="movie_language_idx"),
            models.Index(fields=["release_date"], name="movie_release_date_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(duration_minutes__gte=1, duration_minutes__lte=MAX_DURATION_MINUTES),
                name="movie_duration_in_range",
            ),
        ]

    def __str__(self):
        year = f" ({self.release_date.year})" if self.release_date else ""
        return f"{self.title}{year}"


class Cinema(models.Model):
    name = models.CharField(max_length=MAX_CINEMA_NAME_LENGTH)
    city = models.CharField(max_length=MAX_CITY_LENGTH)
    address = models.CharField(max_length=MAX_ADDRESS_LENGTH, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "pk"]
        indexes = [
            models.Index(fields=["city"], name="cinema_city_idx"),
            models.Index(fields=["name"], name="cinema_name_idx"),
        ]

    def __str__(self):
        return f"{self.name}, {self.city}"


class Screen(models.Model):
    """An auditorium. Its layout is its rows (`ScreenRow`), front to back."""

    # PROTECT: a cinema with screens cannot be deleted (409 cinema_has_screens).
    cinema = models.ForeignKey(Cinema, on_delete=models.PROTECT, related_name="screens")
    name = models.CharField(max_length=MAX_LABEL_LENGTH)
    # Bumped by every write that schedules a show on this screen: two schedulings of one
    # screen always write the same row, so they exclude each other on one server (the
    # row lock) and across Galera nodes (certification) alike.
    schedule_version = models.PositiveBigIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["cinema", "name", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["cinema", "name"], name="screen_name_unique_per_cinema"
            ),
            # Any case, on SQLite and PostgreSQL; MariaDB's collation already compares
            # names that way (it cannot index expressions).
            models.UniqueConstraint(
                "cinema", Lower("name"), name="screen_name_ci_unique_per_cinema"
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.cinema.name})"


class ScreenRow(models.Model):
    """One row of seats of a screen, as staff describe it (see booking.layouts)."""

    screen = models.ForeignKey(Screen, on_delete=models.CASCADE, related_name="rows")
    position = models.PositiveSmallIntegerField(help_text="0 is the front row.")
    label = models.CharField(max_length=MAX_ROW_LABEL_LENGTH)
    seats = models.PositiveSmallIntegerField()
    # Places k after which an aisle runs (between seat k and k+1), ascending.
    aisles_after = models.JSONField(default=list, blank=True)
    category = models.CharField(max_length=MAX_CATEGORY_LENGTH, default=DEFAULT_CATEGORY)
    # Places of the wheelchair spaces, ascending.
    wheelchair = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["screen", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["screen", "position"], name="screen_row_unique_position"
            ),
            models.UniqueConstraint(fields=["screen", "label"], name="screen_row_unique_label"),
            models.CheckConstraint(condition=Q(seats__gte=1), name="screen_row_has_seats"),
        ]

    def __str__(self):
        return f"Row {self.label}"


class Show(models.Model):
    # PROTECT: a movie with shows cannot be deleted (409 movie_has_shows).
    movie = models.ForeignKey(Movie, on_delete=models.PROTECT, related_name="shows")
    # NULL for a show created the old way (screen_name + total_seats, no layout).
    # PROTECT: a screen with shows cannot be deleted (409 screen_has_shows).
    screen = models.ForeignKey(
        Screen, on_delete=models.PROTECT, null=True, blank=True, related_name="shows"
    )
    screen_name = models.CharField(max_length=MAX_LABEL_LENGTH)
    start_time = models.DateTimeField(
        validators=[MinValueValidator(EARLIEST_SHOW_START), MaxValueValidator(LATEST_SHOW_START)]
    )
    total_seats = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(MAX_SEATS_PER_SHOW)]
    )
    price = models.DecimalField(
        max_digits=8,
        decimal_places=2,
        validators=[MinValueValidator(0), MaxValueValidator(MAX_SEAT_PRICE)],
    )
    # The seat categories of the show's snapshot, front to back in order of first
    # appearance, and the prices staff set for some of them ("400.00" strings); a
    # category without one costs `price`.
    categories = models.JSONField(default=list)
    category_prices = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["start_time", "pk"]
        indexes = [
            models.Index(fields=["start_time"], name="show_start_time_idx"),
            models.Index(fields=["screen", "start_time"], name="show_screen_start_time_idx"),
            models.Index(fields=["movie", "start_time"], name="show_movie_start_time_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(price__gte=0), name="show_price_non_negative"),
            models.CheckConstraint(
                condition=Q(total_seats__gte=1, total_seats__lte=MAX_SEATS_PER_SHOW),
                name="show_total_seats_in_range",
            ),
        ]

    def __str__(self):
        when = self.start_time.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
        return f"{self.movie.title} — {self.screen_name} — {when}"

    @property
    def cancellable_until(self) -> datetime:
        """Return the last moment a booking of this show may be cancelled."""
        return self.start_time - timedelta(minutes=settings.CANCELLATION_CUTOFF_MINUTES)

    @property
    def prices(self) -> dict[str, Decimal]:
        """Return the price of each seat category of the show."""
        return {
            category: Decimal(self.category_prices.get(category, self.price))
            for category in self.categories
        }

    def price_of(self, category: str) -> Decimal:
        """Return what a seat of category costs now."""
        return Decimal(self.category_prices.get(category, self.price))


class Booking(models.Model):
    class Status(models.TextChoices):
        BOOKED = "booked", "Booked"
        CANCELLED = "cancelled", "Cancelled"

    reference = models.CharField(max_length=REFERENCE_LENGTH, unique=True, editable=False)
    # PROTECT: bookings are history; neither their user nor their show may vanish.
    user = models.ForeignKey("User", on_delete=models.PROTECT, related_name="bookings")
    show = models.ForeignKey(Show, on_delete=models.PROTECT, related_name="bookings")
    # The seats this booking had, kept after cancellation; the Seat rows are the live truth.
    seat_numbers = models.JSONField()
    # The same seats as they were sold: [{"number", "label", "category", "price"}].
    seats = models.JSONField(default=list)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.BOOKED)
    # Price x seats at booking time: a later price change never rewrites history.
    total_price = models.DecimalField(max_digits=10, decimal_places=2)
    created_at = models.DateTimeField(auto_now_add=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="booking_user_created_idx"),
            models.Index(fields=["user", "status"], name="booking_user_status_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(total_price__gte=0), name="booking_total_price_non_negative"
            ),
            models.CheckConstraint(
                condition=(
                    Q(status="booked", cancelled_at__isnull=True)
                    | Q(status="cancelled", cancelled_at__isnull=False)
                ),
                name="booking_cancelled_iff_cancelled_at",
            ),
        ]

    def __str__(self):
        seats = ", ".join(str(n) for n in self.seat_numbers)
        return f"{self.reference} — seat(s) {seats} ({self.get_status_display()})"


class Seat(models.Model):
    """One seat of one show: a snapshot of its place in the layout, and who holds it."""

    show = models.ForeignKey(Show, on_delete=models.CASCADE, related_name="seats")
    number = models.PositiveSmallIntegerField()
    label = models.CharField(max_length=MAX_SEAT_LABEL_LENGTH)
    row = models.PositiveSmallIntegerField(default=0, help_text="0 is the front row.")
    # Empty for a show created the old way: one unlabelled row.
    row_label = models.CharField(max_length=MAX_ROW_LABEL_LENGTH, blank=True, default="")
    column = models.PositiveSmallIntegerField(help_text="Place in the row, aisles counted.")
    category = models.CharField(max_length=MAX_CATEGORY_LENGTH, default=DEFAULT_CATEGORY)
    wheelchair = models.BooleanField(default=False)
    # The live booking holding this seat; NULL means free. One column, so one holder.
    booking = models.ForeignKey(
        Booking, on_delete=models.PROTECT, null=True, blank=True, related_name="seat_rows"
    )
    # The hold keeping this seat for someone until held_until; past it, the seat is
    # free again whether or not the hold was swept. Never set together with booking.
    hold = models.ForeignKey(
        "Hold", on_delete=models.SET_NULL, null=True, blank=True, related_name="seat_rows"
    )
    held_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["show", "number"]
        indexes = [
            # Serves "how many seats of this show are booked" from the index alone.
            models.Index(fields=["show", "booking"], name="seat_show_booking_idx"),
            # Serves "how many seats of this show are held now" as a range scan.
            models.Index(fields=["show", "held_until"], name="seat_show_held_until_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["show", "number"], name="seat_unique_per_show"),
            models.UniqueConstraint(fields=["show", "label"], name="seat_label_unique_per_show"),
            models.CheckConstraint(condition=Q(number__gte=1), name="seat_number_positive"),
            models.CheckConstraint(
                condition=Q(booking__isnull=True) | Q(hold__isnull=True, held_until__isnull=True),
                name="seat_booked_or_held_not_both",
            ),
        ]

    def __str__(self):
        return f"Seat {self.number} of show {self.show_id}"


class Hold(models.Model):
    """Seats kept for one user while they pay, until `expires_at` (SEAT_HOLD_MINUTES).

    The held seats point at the hold (`Seat.hold`, with `Seat.held_until` = expires_at),
    the way booked seats point at their booking. A hold is over the moment `expires_at`
    passes, whether or not anything swept it: every path that claims or shows seats
    compares `held_until` with the clock, so correctness never waits for a sweeper.
    """

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        CONFIRMED = "confirmed", "Confirmed"
        RELEASED = "released", "Released"
        EXPIRED = "expired", "Expired"  # written by the sweeper; read as such at once

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey("User", on_delete=models.CASCADE, related_name="holds")
    show = models.ForeignKey(Show, on_delete=models.CASCADE, related_name="holds")
    seat_numbers = models.JSONField()
    # The held seats: [{"number", "label", "category", "price"}], priced when held.
    seats = models.JSONField(default=list)
    total_price = models.DecimalField(max_digits=10, decimal_places=2)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    booking = models.OneToOneField(
        "Booking", on_delete=models.PROTECT, null=True, blank=True, related_name="hold"
    )

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["user", "show", "status"], name="hold_user_show_status_idx"),
            models.Index(fields=["status", "expires_at"], name="hold_status_expires_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="confirmed", booking__isnull=False)
                | (~Q(status="confirmed") & Q(booking__isnull=True)),
                name="hold_confirmed_iff_booking",
            ),
        ]

    def __str__(self):
        seats = ", ".join(seat["label"] for seat in self.seats)
        return f"Hold of {seats} (show {self.show_id}, {self.status})"

    def status_at(self, now: datetime) -> str:
        """Return the hold's status as the API shows it: expired as soon as it is."""
        if self.status == self.Status.ACTIVE and self.expires_at <= now:
            return self.Status.EXPIRED
        return self.status


class IdempotencyKey(models.Model):
    """A stored 201 answer to `POST .../book/`, replayed to a retry with the same key."""

    user = models.ForeignKey("User", on_delete=models.CASCADE, related_name="+")
    # sha256 of the client's key, so keys compare byte for byte on every database:
    # MySQL's default collation would make "abc" and "ABC", or "e" and "é", one key.
    key_digest = models.CharField(max_length=64)
    # sha256 of method, path and body: the same key with another request is refused.
    fingerprint = models.CharField(max_length=64)
    response_body = models.JSONField()
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "key_digest"], name="idempotency_key_unique_per_user"
            ),
        ]

    def __str__(self):
        return f"{self.key_digest[:12]}… (user {self.user_id})"
