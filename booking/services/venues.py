"""Venues: cinemas and their screens, each screen with its layout of rows."""

from collections.abc import Sequence

from django.db import IntegrityError, transaction
from django.db.models import ProtectedError

from ..exceptions import CinemaHasScreens, ScreenHasShows
from ..layouts import Row
from ..models import Cinema, Screen, ScreenRow, Show
from .transactions import retry_on_lock_conflict


@retry_on_lock_conflict
@transaction.atomic
def create_cinema(**fields) -> Cinema:
    """Create a cinema from validated fields."""
    return Cinema.objects.create(**fields)


@retry_on_lock_conflict
@transaction.atomic
def update_cinema(*, cinema: Cinema, **changes) -> Cinema:
    """Apply validated changes to a cinema."""
    for name, value in changes.items():
        setattr(cinema, name, value)
    cinema.save()
    return cinema


@retry_on_lock_conflict
def delete_cinema(*, cinema: Cinema) -> None:
    """Delete a cinema that has no screens."""
    if cinema.screens.exists():
        raise CinemaHasScreens()
    try:
        with transaction.atomic():
            # By primary key: Model.delete() forgets the instance's pk before COMMIT,
            # and a retry after a conflict at COMMIT needs it.
            Cinema.objects.filter(pk=cinema.pk).delete()
    except (ProtectedError, IntegrityError):
        raise CinemaHasScreens() from None  # a screen was added since the check


@retry_on_lock_conflict
@transaction.atomic
def create_screen(*, cinema: Cinema, name: str, rows: Sequence[Row]) -> Screen:
    """Create a screen with its layout (rows already checked by booking.layouts)."""
    screen = Screen.objects.create(cinema=cinema, name=name)
    _write_rows(screen, rows)
    return screen


@retry_on_lock_conflict
@transaction.atomic
def update_screen(*, screen: Screen, rows: Sequence[Row] | None = None, **changes) -> Screen:
    """Apply changes to a screen; new rows replace the layout for future shows only.

    Shows already scheduled keep the seats they copied when they were created.
    """
    for name, value in changes.items():
        setattr(screen, name, value)
    # Only the changed fields: never write back a stale schedule_version.
    screen.save(update_fields=[*changes, "updated_at"])
    if "name" in changes:  # its shows are in the same room, renamed
        Show.objects.filter(screen=screen).update(screen_name=screen.name)
    if rows is not None:
        screen.rows.all().delete()
        _write_rows(screen, rows)
    return screen


@retry_on_lock_conflict
def delete_screen(*, screen: Screen) -> None:
    """Delete a screen that has no shows (past shows are booking history)."""
    try:
        with transaction.atomic():
            if Show.objects.filter(screen=screen).exists():
                raise ScreenHasShows()
            Screen.objects.filter(pk=screen.pk).delete()  # by pk: see delete_cinema
    except (ProtectedError, IntegrityError):
        raise ScreenHasShows() from None  # a show was scheduled since the check


def rows_of(screen: Screen) -> list[Row]:
    """Return a screen's layout as plain rows, front to back."""
    return [row_from_model(row) for row in screen.rows.order_by("position")]


def row_from_model(row: ScreenRow) -> Row:
    return Row(
        label=row.label,
        seats=row.seats,
        aisles_after=tuple(row.aisles_after),
        category=row.category,
        wheelchair=tuple(row.wheelchair),
    )


def _write_rows(screen: Screen, rows: Sequence[Row]) -> None:
    ScreenRow.objects.bulk_create(
        ScreenRow(
            screen=screen,
            position=position,
            label=row.label,
            seats=row.seats,
            aisles_after=sorted(row.aisles_after),
            category=row.category,
            wheelchair=sorted(row.wheelchair),
        )
        for position, row in enumerate(rows)
    )
