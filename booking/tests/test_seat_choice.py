"""Best available: best_block over small hand-drawn rows (pure functions, no database).

A row is drawn as a string, front row first:

    "."  a free seat of the row's category      "x"  a taken seat (booked or held)
    "p"  a free premium seat (for mixed rows)   "|"  an aisle: one empty column
    "premium: ...."  the row's category before a colon (default "standard")

Spaces are ignored. Seats are numbered 1.. through all the rows, left to right, as the
real seat maps are. An expected answer is the same drawing with the chosen seats as "#".
"""

from collections.abc import Sequence

import pytest

from booking.seat_choice import Cell, best_block, runs, sweet_spot

FREE, TAKEN, FREE_PREMIUM, AISLE, CHOSEN = ".", "x", "p", "|", "#"


def parse(drawing: Sequence[str]) -> list[list[Cell]]:
    """Turn a drawing (one string per row, front to back) into the chooser's rows."""
    rows, number = [], 0
    for line in drawing:
        category, _, seats = line.rpartition(":")
        category = category.strip() or "standard"
        row, column = [], 0
        for char in seats.replace(" ", ""):
            column += 1
            if char == AISLE:
                continue
            if char not in (FREE, TAKEN, FREE_PREMIUM):
                raise ValueError(f"unknown seat {char!r} in {line!r}")
            number += 1
            row.append(
                Cell(
                    number=number,
                    column=column,
                    category="premium" if char == FREE_PREMIUM else category,
                    free=char != TAKEN,
                )
            )
        rows.append(row)
    return rows


def picture(drawing: Sequence[str], chosen: Sequence[int] | None) -> list[str] | None:
    """Redraw drawing (spaces dropped) with the chosen seats as "#"; None stays None."""
    if chosen is None:
        return None
    redrawn, number = [], 0
    for line in drawing:
        prefix, colon, seats = line.rpartition(":")
        out = []
        for char in seats.replace(" ", ""):
            if char != AISLE:
                number += 1
                char = CHOSEN if number in chosen else char
            out.append(char)
        redrawn.append(f"{prefix.strip()}{colon}{''.join(out)}")
    return redrawn


def normalised(expected: Sequence[str] | None) -> list[str] | None:
    if expected is None:
        return None
    return [
        f"{prefix.strip()}{colon}{seats.replace(' ', '')}"
        for prefix, colon, seats in (line.rpartition(":") for line in expected)
    ]


def case(rows, count, expected, *, category=None, id):
    return pytest.param(rows, count, category, expected, id=id)


# --- The helpers themselves -----------------------------------------------------------


def test_a_drawing_numbers_seats_through_the_rows_and_counts_aisles_as_columns():
    rows = parse(["..|x", "premium: .p"])

    assert rows == [
        [
            Cell(number=1, column=1, category="standard", free=True),
            Cell(number=2, column=2, category="standard", free=True),
            Cell(number=3, column=4, category="standard", free=False),
        ],
        [
            Cell(number=4, column=1, category="premium", free=True),
            Cell(number=5, column=2, category="premium", free=True),
        ],
    ]
    assert picture(["..|x", "premium: .p"], [2, 5]) == [".#|x", "premium:.#"]


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        pytest.param("....", [[1, 2, 3, 4]], id="one run without aisles"),
        pytest.param("..|..", [[1, 2], [3, 4]], id="an aisle splits a run"),
        pytest.param(".x..x", [[1], [3, 4]], id="taken seats split runs"),
        pytest.param("xxx", [], id="a full row has no runs"),
        pytest.param(".|.|.", [[1], [2], [3]], id="aisles on both sides"),
    ],
)
def test_runs_are_free_seats_with_no_aisle_or_taken_seat_between(row, expected):
    (cells,) = parse([row])

    assert [[cell.number for cell in run] for run in runs(cells)] == expected


@pytest.mark.parametrize(
    ("row_count", "expected"),
    [(1, 0), (2, 1), (3, 1), (4, 2), (5, 3), (10, 6)],
    ids=lambda value: str(value),
)
def test_the_sweet_spot_is_two_thirds_back(row_count, expected):
    assert sweet_spot(row_count) == expected


# --- The table ------------------------------------------------------------------------

CENTRE_AND_TIES = [
    case(["......."], 3, ["..###.."], id="an empty odd row: the exact centre"),
    case(["......"], 2, ["..##.."], id="an empty even row: the exact centre"),
    case(["........"], 3, ["..###..."], id="equally central blocks: the leftmost"),
    case(
        ["x|......"],
        2,
        ["x|##...."],
        id="the middle is measured in columns, an aisle counting as one",
    ),
    case(["......", "........"], 8, ["......", "########"], id="count equals the whole row"),
    case(["....."], 5, ["#####"], id="count equals the only row"),
    case([".", ".", "."], 1, [".", "#", "."], id="count 1 in one-seat rows: the sweet spot"),
    case(["....."], 1, ["..#.."], id="count 1 in an empty row: the centre"),
]

ORPHANS = [
    case(["....."], 3, ["###.."], id="row ends: a block leaving one seat at both ends loses"),
    case(
        ["......"],
        3,
        ["###..."],
        id="row ends: the two most central blocks each leave one seat at an end",
    ),
    case(["..."], 1, ["#.."], id="count 1: the centre seat would leave two orphans"),
    case(
        ["......|.."],
        2,
        ["....##|.."],
        id="aisles: a block leaving one seat beside an aisle loses",
    ),
    case(
        ["xx......."],
        2,
        ["xx..##..."],
        id="taken seats: a block leaving one seat beside a taken seat loses",
    ),
    case(
        ["......", ".x.."],
        2,
        ["......", ".x##"],
        id="an existing orphan is not new: its row still wins on the sweet spot",
    ),
    case([".x..."], 1, [".x#.."], id="count 1: an existing orphan seat is not preferred"),
    case(["x...x"], 2, ["x##.x"], id="every block leaves an orphan: the most central wins"),
    case(["...|..."], 2, [".##|..."], id="every block leaves an orphan: then the leftmost"),
    case(
        ["...", "...", "..."],
        2,
        ["...", "##.", "..."],
        id="every block in every row leaves an orphan: rows still rank by sweet spot",
    ),
]

ROWS = [
    case(["....", "....", "...."], 4, ["....", "####", "...."], id="three rows: the middle one"),
    case(
        ["....", "xxxx", "...."],
        4,
        ["....", "xxxx", "####"],
        id="rows equally far from the sweet spot: the one further back",
    ),
    case(
        ["....", "....", "xxxx", "...."],
        4,
        ["....", "....", "xxxx", "####"],
        id="four rows, sweet spot full: the row behind beats the row in front",
    ),
    case(
        ["......", "xxxxxx", "xxxx.."],
        2,
        ["......", "xxxxxx", "xxxx##"],
        id="the further-back tie beats a more central block in front",
    ),
    case(
        ["....", "xxx.", "....", "....", "...."],
        4,
        ["....", "xxx.", "....", "####", "...."],
        id="five rows: row 3 is the sweet spot",
    ),
    case(
        ["....", "....", "....", "....", "xxxx", "....", "....", "....", "....", "...."],
        4,
        ["....", "....", "....", "....", "xxxx", "....", "####", "....", "....", "...."],
        id="ten rows: row 6 is the sweet spot",
    ),
]

PRECEDENCE = [
    case(
        ["....", "xx...", "...", "xxxx", "xxxx"],
        2,
        ["##..", "xx...", "...", "xxxx", "xxxx"],
        id="an orphan-free block in the front row beats orphan-leaving ones nearer the spot",
    ),
    case(
        ["....", "x...", "xxxx"],
        2,
        ["##..", "x...", "xxxx"],
        id="an orphan-free block beats the sweet-spot row where every block leaves one",
    ),
    case(
        ["......", "xxx..x", "......"],
        2,
        ["......", "xxx##x", "......"],
        id="rule 2 before rule 3: an edge block in the sweet spot beats a central one",
    ),
]

AISLES = [
    case(["..|.."], 3, None, id="a block never spans an aisle"),
    case(["..|..."], 3, ["..|###"], id="the block fits beside the aisle"),
    case(["...|...|..."], 4, None, id="four free seats in every run of three: none"),
    case(["....", "..|.."], 4, ["####", "..|.."], id="the only run long enough is in front"),
]

CATEGORIES = [
    case(
        ["premium: ......", "......", "......"],
        2,
        ["premium: ..##..", "......", "......"],
        category="premium",
        id="only premium seats, even far from the sweet spot",
    ),
    case(
        ["premium: ......", "......", "......"],
        2,
        ["premium: ......", "..##..", "......"],
        id="no category: any seat",
    ),
    case(
        ["..ppp..."],
        3,
        ["..###..."],
        category="premium",
        id="the premium seats of a mixed row",
    ),
    case(["..ppp..."], 4, None, category="premium", id="a block mixing categories: none"),
    case(
        ["..ppp..."],
        2,
        ["##ppp..."],
        category="standard",
        id="standard only: the premium seats in between are skipped",
    ),
    case(["....", "...."], 1, None, category="vip", id="a category the show lacks: none"),
    case(
        ["premium: xxxx", "...."],
        1,
        None,
        category="premium",
        id="every seat of the category taken: none",
    ),
]

NOTHING = [
    case(["xxxx", "xxxx"], 1, None, id="full rows"),
    case(["..x..", ".x.x."], 3, None, id="count larger than any run"),
    case(["...."], 5, None, id="count larger than the row"),
    case([], 1, None, id="no rows at all"),
]


@pytest.mark.parametrize(
    ("rows", "count", "category", "expected"),
    CENTRE_AND_TIES + ORPHANS + ROWS + PRECEDENCE + AISLES + CATEGORIES + NOTHING,
)
def test_best_block_picks_the_expected_seats(rows, count, category, expected):
    chosen = best_block(parse(rows), count, category)

    assert picture(rows, chosen) == normalised(expected)
    if chosen is not None:
        assert len(chosen) == count


@pytest.mark.parametrize("row_count", [1, 2, 3, 4, 5, 10])
def test_in_identical_empty_rows_the_block_is_in_the_sweet_spot_row(row_count):
    rows = parse(["......"] * row_count)

    chosen = best_block(rows, 2)

    first_of_row = sweet_spot(row_count) * 6
    assert chosen == [first_of_row + 3, first_of_row + 4]


def test_the_chosen_seats_come_left_to_right_and_are_all_free():
    rows = parse(["x.x...|....x", "premium: .|..x.."])

    chosen = best_block(rows, 3)

    cells = {cell.number: cell for row in rows for cell in row}
    assert chosen == sorted(chosen)
    assert all(cells[number].free for number in chosen)
    columns = [cells[number].column for number in chosen]
    assert columns == list(range(columns[0], columns[0] + 3))  # side by side, no aisle
