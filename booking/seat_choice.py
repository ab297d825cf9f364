"""Best available seats: which N side-by-side free seats to give someone. Pure functions.

The rules (API.md, "Best available"), in order:
1. a block that leaves no new orphan beats one that does. An orphan is a run of exactly
   one free seat between unavailable seats, aisles or row ends;
2. then the row nearest the sweet spot, row round(2(R-1)/3) of R rows counted from the
   front; a tie goes to the row further back;
3. then the most central block: the smallest distance between the middle of the block's
   columns and the middle of the row's; a tie goes to the leftmost block.

A block is N free seats in one row with no aisle between them (consecutive columns),
all of the requested category when there is one. The code that locks seats reads the
show's seats, calls `best_block`, locks what it chose, and calls again if it lost a race.
"""

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Cell:
    """One seat of a row as the chooser sees it."""

    number: int
    column: int
    category: str
    free: bool


def sweet_spot(row_count: int) -> int:
    """Return the index of the sweet-spot row of row_count rows (0 = front)."""
    # 2(R-1)/3 is a whole number or a third off one: never exactly .5, so round() is plain.
    return round(2 * (row_count - 1) / 3)


def runs(row: Sequence[Cell]) -> list[list[Cell]]:
    """Split a row (left to right) into runs of free seats with no aisle inside."""
    found: list[list[Cell]] = []
    current: list[Cell] = []
    previous: Cell | None = None
    for cell in row:
        adjacent = previous is not None and cell.column == previous.column + 1
        if not cell.free or not adjacent:
            if current:
                found.append(current)
            current = []
        if cell.free:
            current.append(cell)
        previous = cell
    if current:
        found.append(current)
    return found


def best_block(
    rows: Sequence[Sequence[Cell]], count: int, category: str | None = None
) -> list[int] | None:
    """Return the seat numbers of the best block of count seats, or None if there is none."""
    spot = sweet_spot(len(rows))
    best_key, best = None, None
    for index, row in enumerate(rows):
        if not row:
            continue
        row_middle_x2 = row[0].column + row[-1].column  # doubled: whole numbers only
        for run in runs(row):
            for offset in range(len(run) - count + 1):
                block = run[offset : offset + count]
                if category is not None and any(cell.category != category for cell in block):
                    continue
                left, right = offset, len(run) - count - offset
                key = (
                    left == 1 or right == 1,  # leaves a new orphan
                    abs(index - spot),
                    -index,  # a tie goes to the row further back
                    abs(block[0].column + block[-1].column - row_middle_x2),
                    block[0].column,  # a tie goes to the leftmost block
                )
                if best_key is None or key < best_key:
                    best_key, best = key, [cell.number for cell in block]
    return best
