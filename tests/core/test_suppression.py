"""Small-number suppression: nothing under 5 can be seen, or worked out by subtraction."""

from __future__ import annotations

import itertools

import pytest

from engage.core.suppression import suppress_counts, suppress_table


def grid(table):
    """The full grid with margins, as a list of lines of (value, hidden)."""
    full = [[*row, total] for row, total in zip(table.cells, table.row_totals, strict=True)]
    full.append([*table.column_totals, table.grand_total])
    return full


def lines(table):
    full = grid(table)
    yield from full
    yield from ([row[c] for row in full] for c in range(len(full[0])))


def assert_no_line_hides_exactly_one(table):
    for line in lines(table):
        assert sum(cell.suppressed for cell in line) != 1, [c.text for c in line]


def solutions(counts, table, limit=20):
    """Every way to fill the hidden cells (0..limit) that adds up to the totals the table
    shows: what a reader could work out by adding and subtracting."""
    hidden = [(r, c) for r, row in enumerate(table.cells) for c, cell in enumerate(row)
              if cell.suppressed]
    shown_rows = [(r, t.value) for r, t in enumerate(table.row_totals) if not t.suppressed]
    shown_columns = [(c, t.value) for c, t in enumerate(table.column_totals)
                     if not t.suppressed]
    found = []
    for values in itertools.product(range(limit + 1), repeat=len(hidden)):
        guess = [list(row) for row in counts]
        for (r, c), value in zip(hidden, values, strict=True):
            guess[r][c] = value
        if all(sum(guess[r]) == total for r, total in shown_rows) and all(
            sum(row[c] for row in guess) == total for c, total in shown_columns
        ) and (table.grand_total.suppressed
               or sum(map(sum, guess)) == table.grand_total.value):
            found.append(dict(zip(hidden, values, strict=True)))
    return hidden, found


def test_counts_under_five_are_hidden_and_others_shown():
    table = suppress_counts([3, 20, 30, 0])
    assert [c.text for c in table.cells[0]] == ["not shown"]
    assert table.cells[2][0].text == "30"
    assert table.cells[3][0].text == "0"  # nobody is not a small group


def test_single_hidden_count_cannot_be_worked_out_from_the_total():
    # Without secondary suppression: 53 - 20 - 30 = 3.
    table = suppress_counts([3, 20, 30])
    assert table.grand_total.text == "53"
    assert table.cells[0][0].suppressed
    assert table.cells[1][0].suppressed  # the next smallest is hidden too
    assert not table.cells[2][0].suppressed
    _hidden, found = solutions([[3], [20], [30]], table, limit=40)
    assert len({s[(0, 0)] for s in found}) > 1


def test_the_subtraction_case_in_a_two_way_table():
    counts = [[3, 7, 12],
              [6, 8, 9],
              [10, 11, 15]]
    table = suppress_table(counts)
    assert table.cells[0][0].suppressed
    assert_no_line_hides_exactly_one(table)
    # Row 0: 22 - 7 - 12 would give the 3 away unless a second cell in the row is hidden.
    assert sum(c.suppressed for c in table.cells[0]) >= 2
    assert sum(row[0].suppressed for row in table.cells) >= 2
    _hidden, found = solutions(counts, table)
    assert found, "the real table must be one of the solutions"
    assert len({s[(0, 0)] for s in found}) > 1, "the small count can be worked out"


def test_secondary_suppression_prefers_a_non_zero_cell():
    table = suppress_table([[2, 0, 9, 40]])
    assert [c.suppressed for c in table.cells[0]] == [True, False, True, False]


def test_a_row_of_one_small_count_and_zeros_hides_its_total():
    table = suppress_table([[3, 0], [10, 12]])
    assert table.cells[0][0].suppressed
    assert_no_line_hides_exactly_one(table)
    assert table.row_totals[0].suppressed


def test_small_totals_are_hidden_too():
    table = suppress_table([[1, 1]])
    assert table.grand_total.suppressed
    assert all(c.suppressed for c in table.cells[0])


def test_nothing_hidden_when_every_count_is_large_enough():
    table = suppress_table([[5, 6], [7, 0]])
    assert not table.any_suppressed
    assert table.grand_total.value == 18


@pytest.mark.parametrize("seed", range(40))
def test_random_tables_never_leave_a_single_hidden_value_in_a_line(seed):
    import random

    rng = random.Random(seed)
    counts = [[rng.choice([0, 1, 2, 3, 4, 5, 8, 13, 30]) for _ in range(rng.randint(1, 4))]]
    counts += [[rng.choice([0, 1, 2, 3, 4, 5, 8, 13, 30]) for _ in counts[0]]
               for _ in range(rng.randint(0, 4))]
    table = suppress_table(counts)
    assert_no_line_hides_exactly_one(table)
    for r, row in enumerate(counts):
        for c, value in enumerate(row):
            if 0 < value < 5:
                assert table.cells[r][c].suppressed


def test_bad_input_is_refused():
    with pytest.raises(ValueError):
        suppress_table([[1, 2], [3]])
    with pytest.raises(ValueError):
        suppress_table([[-1]])


def test_the_checker_catches_primary_suppression_alone():
    """Hiding only the small cell would give it away: the check above can fail."""
    from engage.core.suppression import Cell, SuppressedTable

    counts = [[3, 7], [6, 8]]
    naive = SuppressedTable(
        cells=[[Cell(3, True), Cell(7)], [Cell(6), Cell(8)]],
        row_totals=[Cell(10), Cell(14)], column_totals=[Cell(9), Cell(15)],
        grand_total=Cell(24))
    _hidden, found = solutions(counts, naive)
    assert [s[(0, 0)] for s in found] == [3]
