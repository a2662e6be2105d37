"""Small-number suppression for tables of counts of people.

Any count from 1 to 4 is hidden (primary suppression). Hiding one cell is not enough when the
table also shows totals: with a row total of 12 and the other cells showing 5 and 4, the hidden
cell must be 3. So every line (each row with its row total, each column with its column total,
and the totals row and column with the grand total) must hide either nothing or at least two
of its values. Where a line hides exactly one, the smallest other count in that line is hidden
too (secondary suppression), preferring a non-zero count; if there is no other count to hide,
the line's total is hidden. This repeats until every line is safe, because each extra hidden
cell can leave another line with a single hidden value.

Zero is shown: "nobody" is not a small group of people who could be picked out. Hidden cells
all read the same ("not shown"), so the reader cannot tell a small count from one hidden only to
protect another.
"""

from __future__ import annotations

from dataclasses import dataclass, field

THRESHOLD = 5  # the one small-number threshold: counts from 1 to 4 are never shown exactly
HIDDEN_TEXT = "not shown"


@dataclass
class Cell:
    value: int
    suppressed: bool = False

    @property
    def text(self) -> str:
        return HIDDEN_TEXT if self.suppressed else str(self.value)

    @property
    def shown(self) -> int | None:
        return None if self.suppressed else self.value


@dataclass
class SuppressedTable:
    """`cells[r][c]`, `row_totals[r]`, `column_totals[c]` and `grand_total`, each a Cell."""

    cells: list[list[Cell]]
    row_totals: list[Cell] = field(default_factory=list)
    column_totals: list[Cell] = field(default_factory=list)
    grand_total: Cell = field(default_factory=lambda: Cell(0))

    @property
    def any_suppressed(self) -> bool:
        everything = [c for row in self.cells for c in row] + self.row_totals + \
            self.column_totals + [self.grand_total]
        return any(c.suppressed for c in everything)


def is_small(value: int, threshold: int = THRESHOLD) -> bool:
    """A count of people small enough to point at someone (zero is not: it is nobody)."""
    return 0 < value < threshold


def suppress_table(counts: list[list[int]], *, threshold: int = THRESHOLD) -> SuppressedTable:
    """Counts as rows of columns (every row the same length); returns what may be shown."""
    if any(value < 0 for row in counts for value in row):
        raise ValueError("counts cannot be negative")
    width = len(counts[0]) if counts else 0
    if any(len(row) != width for row in counts):
        raise ValueError("every row needs the same number of columns")
    # The full grid with margins: the last column holds row totals, the last row column totals.
    grid = [[Cell(v, is_small(v, threshold)) for v in row] + [Cell(sum(row))]
            for row in counts]
    column_sums = [sum(row[c] for row in counts) for c in range(width)]
    grid.append([Cell(v, is_small(v, threshold)) for v in column_sums]
                + [Cell(sum(column_sums))])
    # A total that is itself small is hidden like any small count.
    for row in grid[:-1]:
        row[-1].suppressed = is_small(row[-1].value, threshold)
    grid[-1][-1].suppressed = is_small(grid[-1][-1].value, threshold)

    rows, columns = len(grid), width + 1
    lines: list[list[tuple[int, int]]] = []
    for r in range(rows):
        lines.append([(r, c) for c in range(columns)])  # cells..., then the total
    for c in range(columns):
        lines.append([(r, c) for r in range(rows)])  # cells..., then the total

    changed = True
    while changed:
        changed = False
        for line in lines:
            hidden = [pos for pos in line if grid[pos[0]][pos[1]].suppressed]
            if len(hidden) != 1:
                continue
            *inner, total = line
            candidates = [pos for pos in inner if not grid[pos[0]][pos[1]].suppressed]
            candidates.sort(key=lambda pos: (grid[pos[0]][pos[1]].value == 0,
                                             grid[pos[0]][pos[1]].value))
            if candidates:
                target = candidates[0]
            elif not grid[total[0]][total[1]].suppressed:
                target = total
            else:
                continue
            grid[target[0]][target[1]].suppressed = True
            changed = True

    return SuppressedTable(
        cells=[row[:-1] for row in grid[:-1]],
        row_totals=[row[-1] for row in grid[:-1]],
        column_totals=grid[-1][:-1],
        grand_total=grid[-1][-1],
    )


def suppress_counts(counts: list[int], *, threshold: int = THRESHOLD) -> SuppressedTable:
    """A single column of counts with its total (a table with one column)."""
    return suppress_table([[v] for v in counts], threshold=threshold)
