"""Seat layouts as plain data: numbering, labels, columns, and every bound of a layout.

booking.layouts is pure (no database), so these are table tests of its functions.
"""

import string

import pytest

from booking.layouts import (
    Row,
    SeatSpec,
    categories_of,
    column_of,
    layout_problems,
    plain_seats,
    row_problems,
    seats_of,
)

from .conftest import EXAMPLE_ROWS


def letters(index: int) -> str:
    """Return a row label made of letters only: A..Z, AA..AZ, BA.. (never ambiguous)."""
    label = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        label = string.ascii_uppercase[rest] + label
    return label


def rows_of_sizes(*sizes: int, **fields) -> list[Row]:
    """Rows labelled A, B, C, ... with these numbers of seats."""
    return [Row(label=letters(n), seats=size, **fields) for n, size in enumerate(sizes)]


def refused(rows) -> bool:
    return layout_problems(rows) != []


# --- Numbering and labels -------------------------------------------------------------------


def test_the_letter_labels_helper_never_repeats_a_label():
    assert [letters(n) for n in (0, 25, 26, 51, 52)] == ["A", "Z", "AA", "AZ", "BA"]
    assert len({letters(n) for n in range(200)}) == 200


@pytest.mark.parametrize(
    ("sizes", "expected_numbers"),
    [
        ((1,), [[1]]),
        ((3,), [[1, 2, 3]]),
        ((3, 2), [[1, 2, 3], [4, 5]]),
        ((2, 1, 4), [[1, 2], [3], [4, 5, 6, 7]]),
    ],
)
def test_seats_are_numbered_one_to_capacity_row_by_row(sizes, expected_numbers):
    seats = seats_of(rows_of_sizes(*sizes))

    by_row = [[s.number for s in seats if s.row == index] for index in range(len(sizes))]
    assert by_row == expected_numbers
    assert [s.number for s in seats] == list(range(1, sum(sizes) + 1))


def test_the_contract_example_is_numbered_through_both_rows():
    seats = seats_of(EXAMPLE_ROWS)

    assert len(seats) == 22
    assert [(s.number, s.label) for s in seats[:3]] == [(1, "A1"), (2, "A2"), (3, "A3")]
    assert [(s.number, s.label) for s in seats[11:14]] == [(12, "A12"), (13, "J1"), (14, "J2")]
    assert (seats[-1].number, seats[-1].label) == (22, "J10")


@pytest.mark.parametrize(
    ("number", "label", "row", "row_label"),
    [
        (1, "A1", 0, "A"),
        (4, "A4", 0, "A"),
        (12, "A12", 0, "A"),
        (13, "J1", 1, "J"),
        (22, "J10", 1, "J"),
    ],
)
def test_a_seats_label_is_its_row_label_and_its_place(number, label, row, row_label):
    seat = seats_of(EXAMPLE_ROWS)[number - 1]

    assert (seat.number, seat.label, seat.row, seat.row_label) == (number, label, row, row_label)


def test_a_multi_character_row_label_is_kept_as_written():
    seats = seats_of([Row(label="Bx12", seats=3)])

    assert [s.label for s in seats] == ["Bx121", "Bx122", "Bx123"]
    assert {s.row_label for s in seats} == {"Bx12"}


def test_a_full_seat_spec_of_the_example():
    assert seats_of(EXAMPLE_ROWS)[0] == SeatSpec(
        number=1,
        label="A1",
        row=0,
        row_label="A",
        column=1,
        category="standard",
        wheelchair=True,
    )
    assert seats_of(EXAMPLE_ROWS)[21] == SeatSpec(
        number=22,
        label="J10",
        row=1,
        row_label="J",
        column=10,
        category="premium",
        wheelchair=False,
    )


# --- Columns and aisles ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("place", "aisles_after", "column"),
    [
        (1, (), 1),
        (7, (), 7),
        # The contract's example: an aisle after seat 3 leaves column 4 empty.
        (1, (3,), 1),
        (3, (3,), 3),
        (4, (3,), 5),
        (12, (3,), 13),
        # Two aisles: after 3 and after 9.
        (9, (3, 9), 10),
        (10, (3, 9), 12),
        (12, (3, 9), 14),
        # The order the aisles are given in does not matter.
        (10, (9, 3), 12),
        # Adjacent aisles: two empty columns.
        (3, (1, 2), 5),
    ],
)
def test_column_counts_each_aisle_before_the_seat_as_one_empty_column(place, aisles_after, column):
    assert column_of(place, aisles_after) == column


def test_the_example_rows_columns_leave_gaps_at_the_aisles():
    seats = seats_of(EXAMPLE_ROWS)

    assert [s.column for s in seats if s.row == 0] == [1, 2, 3, 5, 6, 7, 8, 9, 10, 12, 13, 14]
    assert [s.column for s in seats if s.row == 1] == list(range(1, 11))


# --- Wheelchair spaces and categories -------------------------------------------------------


@pytest.mark.parametrize(
    ("wheelchair", "flagged_places"),
    [
        ((), []),
        ((1,), [1]),
        ((1, 5), [1, 5]),
        ((5, 2), [2, 5]),
    ],
)
def test_wheelchair_places_flag_exactly_those_seats(wheelchair, flagged_places):
    seats = seats_of([Row(label="A", seats=5, wheelchair=wheelchair)])

    assert [s.number for s in seats if s.wheelchair] == flagged_places


def test_the_example_has_wheelchair_spaces_at_both_ends_of_row_a_only():
    assert [s.label for s in seats_of(EXAMPLE_ROWS) if s.wheelchair] == ["A1", "A12"]


def test_each_seat_has_its_rows_category():
    seats = seats_of(EXAMPLE_ROWS)

    assert {s.category for s in seats[:12]} == {"standard"}
    assert {s.category for s in seats[12:]} == {"premium"}


@pytest.mark.parametrize(
    ("categories", "expected"),
    [
        (["standard"], ["standard"]),
        (["standard", "premium"], ["standard", "premium"]),
        (["premium", "standard"], ["premium", "standard"]),
        (["standard", "standard", "premium"], ["standard", "premium"]),
        (["vip", "standard", "vip", "premium", "standard"], ["vip", "standard", "premium"]),
    ],
)
def test_categories_come_in_order_of_first_appearance_front_to_back(categories, expected):
    rows = [Row(label=letters(n), seats=2, category=c) for n, c in enumerate(categories)]

    assert categories_of(rows) == expected


def test_a_row_left_without_a_category_is_standard():
    assert Row(label="A", seats=1).category == "standard"
    assert categories_of(EXAMPLE_ROWS) == ["standard", "premium"]


# --- The old form: plain seats --------------------------------------------------------------


def test_plain_seats_are_one_unlabelled_row_with_labels_equal_to_numbers():
    seats = plain_seats(range(1, 4))

    assert seats == [
        SeatSpec(
            number=n,
            label=str(n),
            row=0,
            row_label="",
            column=n,
            category="standard",
            wheelchair=False,
        )
        for n in (1, 2, 3)
    ]


def test_plain_seats_can_start_past_one_when_a_show_grows():
    assert [(s.number, s.label, s.column) for s in plain_seats(range(5, 7))] == [
        (5, "5", 5),
        (6, "6", 6),
    ]


# --- Bounds: the number of rows -------------------------------------------------------------


@pytest.mark.parametrize(
    ("row_count", "valid"),
    [(0, False), (1, True), (2, True), (49, True), (50, True), (51, False), (60, False)],
)
def test_a_screen_has_one_to_fifty_rows(row_count, valid):
    rows = rows_of_sizes(*[1] * row_count)

    assert (layout_problems(rows) == []) is valid


def test_no_rows_at_all_is_one_clear_problem():
    assert layout_problems([]) == ["A screen has 1-50 rows."]


# --- Bounds: row labels ---------------------------------------------------------------------


@pytest.mark.parametrize("label", ["A", "z", "1", "AA", "A1", "ABCDE", "12345", "aBc9Z"])
def test_row_labels_of_one_to_five_letters_or_digits_are_accepted(label):
    assert row_problems(Row(label=label, seats=1)) == []
    assert layout_problems([Row(label=label, seats=1)]) == []


@pytest.mark.parametrize(
    "label",
    # An Arabic-Indic digit one and a fullwidth A are letters/digits to Unicode, not to us.
    ["", "ABCDEF", "A-1", "A 1", " A", "É", "Ä1", "A.", "A_", "\u0661", "\uff21", None, 1],
)
def test_row_labels_other_than_one_to_five_ascii_letters_or_digits_are_refused(label):
    assert len(row_problems(Row(label=label, seats=1))) == 1
    assert refused([Row(label=label, seats=1)])


def test_a_row_label_with_a_trailing_newline_is_refused():
    # A pattern ending in `$` (not fullmatch) would accept "A\n".
    assert row_problems(Row(label="A\n", seats=1)) != []


def test_a_category_with_a_trailing_newline_is_refused():
    assert row_problems(Row(label="A", seats=1, category="premium\n")) != []


@pytest.mark.parametrize(
    "labels",
    [
        ["A", "A"],
        ["a", "A"],
        ["Ab", "aB"],
        ["A", "B", "a"],
    ],
)
def test_row_labels_must_be_unique_ignoring_case(labels):
    rows = [Row(label=label, seats=2) for label in labels]

    problems = layout_problems(rows)

    assert len(problems) == 1
    assert "used twice" in problems[0]


def test_labels_that_run_together_into_one_seat_label_are_refused():
    # Row A's 11th seat and row A1's first seat would both be "A11".
    rows = [Row(label="A", seats=12), Row(label="A1", seats=3)]

    problems = layout_problems(rows)

    assert len(problems) == 1
    assert "A11" in problems[0]


def test_labels_that_run_together_are_refused_ignoring_case():
    rows = [Row(label="a", seats=12), Row(label="A1", seats=3)]

    assert refused(rows)


def test_labels_that_could_run_together_but_do_not_are_accepted():
    # Row A has 10 seats (A1..A10); row A1's seats are A11, A12: no label names two seats.
    rows = [Row(label="A", seats=10), Row(label="A1", seats=2)]

    assert layout_problems(rows) == []
    assert len({s.label for s in seats_of(rows)}) == 12


# --- Bounds: seats per row and capacity -----------------------------------------------------


@pytest.mark.parametrize(
    ("seats", "valid"), [(-1, False), (0, False), (1, True), (100, True), (101, False)]
)
def test_a_row_has_one_to_a_hundred_seats(seats, valid):
    assert (row_problems(Row(label="A", seats=seats)) == []) is valid
    assert (layout_problems([Row(label="A", seats=seats)]) == []) is valid


@pytest.mark.parametrize(
    ("sizes", "valid"),
    [
        ((100,) * 10, True),  # capacity 1000
        ((100,) * 10 + (1,), False),  # 1001
        ((100,) * 9 + (99, 2), False),  # 1001 in other rows
        ((20,) * 50, True),  # 50 rows, 1000 seats
        ((21,) * 48, False),  # 1008
    ],
)
def test_a_screen_holds_at_most_a_thousand_seats(sizes, valid):
    problems = layout_problems(rows_of_sizes(*sizes))

    assert (problems == []) is valid
    if not valid:
        assert problems == [f"A screen has at most 1000 seats (this one {sum(sizes)})."]


# --- Bounds: aisles -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seats", "aisles_after", "valid"),
    [
        (12, (), True),
        (12, (1,), True),
        (12, (11,), True),
        (12, (3, 9), True),
        (12, tuple(range(1, 12)), True),  # an aisle between every two seats
        (12, (0,), False),
        (12, (12,), False),  # after the last seat: not between two seats
        (12, (13,), False),
        (12, (-1,), False),
        (12, (3, 3), False),
        (12, (3, 9, 3), False),
        (1, (), True),
        (1, (1,), False),  # a one-seat row has nowhere to put an aisle
        (2, (1,), True),
    ],
)
def test_aisles_are_distinct_places_between_two_seats(seats, aisles_after, valid):
    row = Row(label="A", seats=seats, aisles_after=aisles_after)

    assert (row_problems(row) == []) is valid
    assert (layout_problems([row]) == []) is valid


# --- Bounds: categories ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("category", "valid"),
    [
        ("standard", True),
        ("a", True),
        ("vip_2", True),
        ("front-row", True),
        ("0", True),
        ("x" * 30, True),
        ("x" * 31, False),
        ("", False),
        ("Premium", False),
        ("vip+", False),
        ("two words", False),
        ("café", False),
        ("\uff56\uff49\uff50", False),  # fullwidth "vip"
    ],
)
def test_a_category_is_one_to_thirty_of_lowercase_letters_digits_underscore_hyphen(category, valid):
    row = Row(label="A", seats=4, category=category)

    assert (row_problems(row) == []) is valid
    assert (layout_problems([row]) == []) is valid


# --- Bounds: wheelchair spaces --------------------------------------------------------------


@pytest.mark.parametrize(
    ("seats", "wheelchair", "valid"),
    [
        (12, (), True),
        (12, (1,), True),
        (12, (12,), True),
        (12, (1, 12), True),
        (1, (1,), True),
        (12, tuple(range(1, 13)), True),  # every seat
        (12, (0,), False),
        (12, (13,), False),
        (12, (-1,), False),
        (12, (1, 1), False),
        (12, (5, 2, 5), False),
    ],
)
def test_wheelchair_spaces_are_distinct_places_of_the_row(seats, wheelchair, valid):
    row = Row(label="A", seats=seats, wheelchair=wheelchair)

    assert (row_problems(row) == []) is valid
    assert (layout_problems([row]) == []) is valid


# --- Problems are named and reported together -----------------------------------------------


def test_each_faulty_row_is_named_in_its_problem():
    rows = [
        Row(label="A", seats=5),
        Row(label="B", seats=5, aisles_after=(5,)),
        Row(label="C", seats=5, wheelchair=(6,)),
    ]

    problems = layout_problems(rows)

    assert len(problems) == 2
    assert problems[0].startswith("Row B:")
    assert problems[1].startswith("Row C:")


def test_a_row_with_several_faults_reports_each():
    row = Row(label="A", seats=5, aisles_after=(0, 0), category="Bad", wheelchair=(9, 9))

    assert len(row_problems(row)) == 5


def test_the_example_layout_is_valid():
    assert layout_problems(EXAMPLE_ROWS) == []
