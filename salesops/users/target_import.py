"""Targets pasted from a spreadsheet or read from an uploaded workbook: a person (or
team) per row, then the twelve months of the grid's year.

`split_paste` turns text copied from Excel, WPS or Google Sheets (tab-separated, cells
with line breaks quoted) into rows; `read_block` matches each row's first cell to a
person or team of the grid and each month cell to a value, with a message per cell that
cannot be used. A blank cell means "no change". Nothing here writes: the preview shows
the result, and saving goes through `target_services.save_target_grid`, which checks
everything again (scope, rights, versions) in one all-or-nothing transaction.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _

from salesops.users.models import Team, User
from salesops.users.target_grid import Grid, GridRow, resolve_labels
from salesops.users.target_services import GridCell

#: Rows accepted in one paste or file (a grid of every rep of a large organisation).
MAX_ROWS = 2000


class BlockProblem(ValueError):
    """The whole block cannot be used; the message says why."""


@dataclass
class ReadRow:
    """One row of a pasted block or file, as understood."""

    line: int
    label: str
    row: GridRow | None = None
    #: Per month: the value wanted, or None for "no change".
    values: list[Decimal | None] = field(default_factory=list)
    raw: list[str] = field(default_factory=list)
    #: Messages by column: 0 is the person, 1..12 the months.
    errors: dict[int, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors


def split_paste(text: str) -> list[tuple[int, list[Any]]]:
    """(line, cells) of tab-separated text; blank lines skipped."""
    if len(text) > 2_000_000:
        raise BlockProblem(_("The pasted text is too long; paste at most 2,000 rows."))
    reader = csv.reader(io.StringIO(text.replace("\r\n", "\n")), delimiter="\t")
    rows = []
    for line, cells in enumerate(reader, start=1):
        if any(c.strip() for c in cells):
            rows.append((line, cells))
    return rows


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip(" \t\r\n\u00a0\u3000\ufeff")


def read_block(
    rows: Iterable[tuple[int, list[Any]]],
    *,
    grid: Grid,
    parse_amount: Callable[[Any], Decimal | None],
    has_header: bool | None = None,
) -> list[ReadRow]:
    """Match rows to the grid. `parse_amount` turns a cell into a Decimal (None when
    blank) or raises ValueError with a message. `has_header`: None guesses (a first row
    whose first cell names no one and whose month cells are not numbers is a header)."""
    rows = list(rows)
    if len(rows) > MAX_ROWS + 1:
        raise BlockProblem(
            _("There are %(n)s rows; at most %(max)s can be read at once.")
            % {"n": len(rows), "max": MAX_ROWS}
        )
    months = len(grid.months)
    labels = [_text(cells[0]) if cells else "" for _line, cells in rows]
    matches = resolve_labels(labels)
    by_user = {r.user.pk: r for r in grid.rows if r.user is not None}
    by_team = {r.team.pk: r for r in grid.rows if r.team is not None}
    out: list[ReadRow] = []
    for index, (line, cells) in enumerate(rows):
        label = labels[index]
        raw = [_text(c) for c in list(cells[1 : months + 1])]
        raw += [""] * (months - len(raw))
        read = ReadRow(line=line, label=label, raw=raw)
        for i, value in enumerate(cells[1 : months + 1], start=1):
            try:
                read.values.append(parse_amount(value))
            except ValueError as e:
                read.values.append(None)
                read.errors[i] = str(e)
        read.values += [None] * (months - len(read.values))
        found = matches.get(label.casefold(), [])
        if index == 0 and (
            has_header or (has_header is None and not found and all(v is None for v in read.values))
        ):
            continue
        _match(read, found, by_user, by_team)
        out.append(read)
    return out


def _match(
    read: ReadRow,
    found: list[Any],
    by_user: dict[int, GridRow],
    by_team: dict[int, GridRow],
) -> None:
    if not read.label:
        read.errors[0] = _("Write the person's username, e-mail or name in the first column.")
    elif not found:
        read.errors[0] = _("No person or team is called “%(name)s”.") % {"name": read.label}
    elif len(found) > 1:
        read.errors[0] = _(
            "More than one person is called “%(name)s”; use the username or e-mail."
        ) % {"name": read.label}
    else:
        thing = found[0]
        row = by_user.get(thing.pk) if isinstance(thing, User) else by_team.get(thing.pk)
        if isinstance(thing, Team) and row is None:
            read.errors[0] = _("The team “%(name)s” is not in this grid.") % {"name": read.label}
        elif row is None:
            read.errors[0] = _("“%(name)s” is not in the grid you are editing.") % {
                "name": read.label
            }
        elif not row.editable:
            read.errors[0] = _("You may not set targets for “%(name)s”.") % {"name": read.label}
        else:
            read.row = row
    for i, value in enumerate(read.values, start=1):
        if value is not None and value < 0:
            read.errors[i] = _("A target cannot be negative.")


def cells_of(read_rows: list[ReadRow], *, grid: Grid) -> list[GridCell]:
    """The changes the rows ask for: cells whose value differs from the grid's, with
    the version the grid was read at. Rows with errors give none."""
    out = []
    seen: set[str] = set()
    for read in read_rows:
        if read.row is None:
            continue
        row = read.row
        for i, value in enumerate(read.values):
            cell = row.cells[i]
            if value is None or value == cell.value:
                continue
            key = f"{row.key}-{cell.start:%Y-%m}"
            if key in seen:
                read.errors[i + 1] = _("This cell is given twice in what you pasted.")
                continue
            seen.add(key)
            out.append(
                GridCell(
                    key=key,
                    metric=grid.metric,
                    period_kind="month",
                    period_start=cell.start,
                    value=value,
                    user_id=row.user.pk if row.user is not None else None,
                    team_id=row.team.pk if row.team is not None else None,
                    version=cell.version,
                )
            )
    return out
