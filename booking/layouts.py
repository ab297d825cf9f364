"""Seat layouts as plain data: check a screen's rows, and lay its seats out.

Pure functions, no database: the serializers, the admin and the services share them.
A layout is a list of rows front to back; each row has a label, a number of seats, the
aisles (an aisle after place k runs between seats k and k+1), a price category and the
wheelchair places. Seats are numbered 1..capacity through the whole screen, row by
row, left to right; a seat's label is its row label and its place (`F12`); its column
counts each aisle before it as one empty column, so a frontend can draw the gaps.
"""

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from .models import (
    DEFAULT_CATEGORY,
    MAX_CATEGORY_LENGTH,
    MAX_ROW_LABEL_LENGTH,
    MAX_SEATS_PER_SHOW,
)

MAX_ROWS = 50
MAX_SEATS_PER_ROW = 100
# Used with fullmatch: "$" alone would also accept a trailing newline.
ROW_LABEL_PATTERN = re.compile(rf"[A-Za-z0-9]{{1,{MAX_ROW_LABEL_LENGTH}}}")
CATEGORY_PATTERN = re.compile(rf"[a-z0-9_-]{{1,{MAX_CATEGORY_LENGTH}}}")


@dataclass(frozen=True)
class Row:
    label: str
    seats: int
    aisles_after: tuple[int, ...] = ()
    category: str = DEFAULT_CATEGORY
    wheelchair: tuple[int, ...] = field(default=())


@dataclass(frozen=True)
class SeatSpec:
    number: int
    label: str
    row: int  # index, 0 = front
    row_label: str  # empty for a show created the old way
    column: int
    category: str
    wheelchair: bool


def row_problems(row: Row) -> list[str]:
    """Return what is wrong with one row on its own (empty if nothing)."""
    problems = []
    if not isinstance(row.label, str) or not ROW_LABEL_PATTERN.fullmatch(row.label):
        problems.append(
            f"Row label {row.label!r} must be 1-{MAX_ROW_LABEL_LENGTH} letters or digits."
        )
    name = f"Row {row.label}"
    if not 1 <= row.seats <= MAX_SEATS_PER_ROW:
        problems.append(f"{name}: seats must be 1-{MAX_SEATS_PER_ROW}.")
        return problems  # the positions below cannot be checked against it
    if len(set(row.aisles_after)) != len(row.aisles_after):
        problems.append(f"{name}: aisles_after must be distinct.")
    if any(not 1 <= k <= row.seats - 1 for k in row.aisles_after):
        problems.append(f"{name}: aisles_after must be places in 1..{row.seats - 1}.")
    if not CATEGORY_PATTERN.fullmatch(row.category):
        problems.append(
            f"{name}: category must be 1-{MAX_CATEGORY_LENGTH} characters of a-z 0-9 _ -."
        )
    if len(set(row.wheelchair)) != len(row.wheelchair):
        problems.append(f"{name}: wheelchair must be distinct.")
    if any(not 1 <= k <= row.seats for k in row.wheelchair):
        problems.append(f"{name}: wheelchair must be places in 1..{row.seats}.")
    return problems


def layout_problems(rows: Sequence[Row]) -> list[str]:
    """Return what is wrong with a whole layout (empty if it is valid)."""
    if not 1 <= len(rows) <= MAX_ROWS:
        return [f"A screen has 1-{MAX_ROWS} rows."]
    problems = [problem for row in rows for problem in row_problems(row)]
    if problems:
        return problems
    seen: dict[str, str] = {}
    for row in rows:
        # Case-insensitive: MariaDB's collation compares labels that way, and a person
        # reading "row a" and "row A" off a ticket cannot tell them apart either.
        key = row.label.upper()
        if key in seen:
            problems.append(f"Row label {row.label} is used twice.")
        seen[key] = row.label
    capacity = sum(row.seats for row in rows)
    if capacity > MAX_SEATS_PER_SHOW:
        problems.append(f"A screen has at most {MAX_SEATS_PER_SHOW} seats (this one {capacity}).")
    if problems:
        return problems
    labels: dict[str, str] = {}
    for seat in seats_of(rows):
        # "A11" is seat 11 of row A or seat 1 of row A1: refuse a layout where both exist.
        key = seat.label.upper()
        if key in labels:
            problems.append(
                f"Seat label {seat.label} would name two seats (rows {labels[key]} and "
                f"{seat.row_label}); choose row labels that cannot run together."
            )
            break
        labels[key] = seat.row_label
    return problems


def column_of(place: int, aisles_after: Iterable[int]) -> int:
    """Return the column of the seat at place, each aisle before it one empty column."""
    return place + sum(1 for k in aisles_after if k < place)


def seats_of(rows: Sequence[Row]) -> list[SeatSpec]:
    """Lay out every seat of a valid layout, numbered through the screen."""
    seats = []
    number = 0
    for index, row in enumerate(rows):
        wheelchair = set(row.wheelchair)
        for place in range(1, row.seats + 1):
            number += 1
            seats.append(
                SeatSpec(
                    number=number,
                    label=f"{row.label}{place}",
                    row=index,
                    row_label=row.label,
                    column=column_of(place, row.aisles_after),
                    category=row.category,
                    wheelchair=place in wheelchair,
                )
            )
    return seats


def plain_seats(numbers: Iterable[int]) -> list[SeatSpec]:
    """Lay out seats of a show created the old way: one unlabelled row."""
    return [
        SeatSpec(
            number=number,
            label=str(number),
            row=0,
            row_label="",
            column=number,
            category=DEFAULT_CATEGORY,
            wheelchair=False,
        )
        for number in numbers
    ]


def categories_of(rows: Sequence[Row]) -> list[str]:
    """Return the layout's categories, front to back in order of first appearance."""
    return list(dict.fromkeys(row.category for row in rows))


def capacity_of(rows: Sequence[Row]) -> int:
    return sum(row.seats for row in rows)
