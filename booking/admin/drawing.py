"""HTML drawings of an auditorium for the admin: a screen's layout, a show's seat map.

Pure functions of plain data, no queries: the admin reads the seats (one query for a
show, the prefetched rows for a screen) and hands them over. The front row is drawn
nearest the SCREEN bar; each row has its label at both ends; a seat sits in its
`column`, so a column with no seat is an aisle, drawn as a gap. Seats take the colour
of their category (the legend says which is which); booked seats are drawn as such
and link to their booking.

Stable classes, for staff's eyes and the browser tests: `.seatmap` (the whole),
`.seat-row`, `.row-label`, `.seat` (with `.booked`, `.held`, `.wheelchair`, `.cat-N`),
`.aisle`, `.screen-bar`, `.seatmap-legend`, `.seatmap-summary`.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import groupby

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

AISLE = mark_safe('<span class="aisle"></span>')  # fixed markup: nothing interpolated
PALETTE_SIZE = 8  # seatmap.css colours .cat-0 … .cat-7; a ninth category reuses .cat-0
WHEELCHAIR = "\u267f"  # ♿


@dataclass(frozen=True)
class DrawnSeat:
    row: int  # 0 = front
    row_label: str  # empty for a show created the old way
    column: int  # place in the row, each aisle before it one empty column
    label: str  # "F12"; the number for a show created the old way
    category: str
    wheelchair: bool = False
    booking_url: str = ""  # set for a booked seat: its booking's admin page
    booking_reference: str = ""
    held: bool = False  # in someone's active hold: neither free nor booked

    @property
    def place(self) -> str:
        """The seat's place in its row, as written on it: F12 is drawn 12 in row F."""
        return self.label[len(self.row_label) :] or self.label


def draw(
    seats: Sequence[DrawnSeat],
    *,
    legend: Mapping[str, str],
    summary: SafeString | str,
    bookable: bool = False,
) -> SafeString:
    """Draw seats (in row, then column order) with legend (category -> its text).

    bookable: the seats are a show's, so the legend explains booked seats.
    """
    categories = list(legend)
    categories += sorted({seat.category for seat in seats} - set(categories))
    colour = {name: f"cat-{i % PALETTE_SIZE}" for i, name in enumerate(categories)}
    rows = format_html_join(
        "",
        "{}",
        ((_row(list(row), colour),) for _, row in groupby(seats, key=lambda s: s.row)),
    )
    keys = [(colour[name], "", legend.get(name, name)) for name in categories]
    if bookable:
        keys.append(("booked", "", "booked (click one for its booking)"))
        keys.append(("held", "", "held (someone is paying)"))
    if any(seat.wheelchair for seat in seats):
        keys.append(("", WHEELCHAIR, "wheelchair space"))
    return format_html(
        '<div class="seatmap">'
        '<div class="screen-bar">SCREEN</div>'
        '<div class="seat-rows">{}</div>'
        '<ul class="seatmap-legend">{}</ul>'
        '<p class="seatmap-summary">{}</p>'
        "</div>",
        rows,
        format_html_join("", '<li><span class="swatch {}">{}</span>{}</li>', keys),
        summary,
    )


def _row(seats: list[DrawnSeat], colour: Mapping[str, str]) -> SafeString:
    label = seats[0].row_label
    cells = []
    next_column = 1
    for seat in sorted(seats, key=lambda s: s.column):
        # Every column without a seat is an aisle (API.md: columns count each aisle).
        cells.extend(AISLE for _ in range(seat.column - next_column))
        cells.append(_seat(seat, colour[seat.category]))
        next_column = seat.column + 1
    return format_html(
        '<div class="seat-row{}"><span class="row-label">{}</span>{}'
        '<span class="row-label">{}</span></div>',
        "" if label else " unlabelled",
        label,
        format_html_join("", "{}", ((cell,) for cell in cells)),
        label,
    )


def _seat(seat: DrawnSeat, colour: str) -> SafeString:
    classes = f"seat {colour}" + (" wheelchair" if seat.wheelchair else "")
    text = f"{WHEELCHAIR}{seat.place}" if seat.wheelchair else seat.place
    about = [seat.label, seat.category] + (["wheelchair space"] if seat.wheelchair else [])
    if seat.held:
        classes += " held"
        about.append("held")
    if seat.booking_url:
        about.append(f"booked: {seat.booking_reference}")
        return format_html(
            '<a class="{} booked" href="{}" title="{}">{}</a>',
            classes,
            seat.booking_url,
            " · ".join(about),
            text,
        )
    return format_html('<span class="{}" title="{}">{}</span>', classes, " · ".join(about), text)
