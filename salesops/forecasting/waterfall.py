"""The pipeline waterfall between two days: how the open pipeline at the start became the
one at the end, bar by bar, each bar with its deals.

**What is counted.** The pipeline at a day is the open deals of `snapshots.as_of` that
the viewer may see and, when a window (a period) is given, whose expected close date is
in the window ([start, end), business dates). Amounts are in the base currency at each
day's rate (a snapshot's own): a rate change moves a deal's amount like an edit does.

**The moves partition the change exactly**, every deal counted in one bar only:

- in the pipeline at both days: its amount at the end minus at the start, in
  *increased* (> 0) or *decreased* (< 0);
- in the pipeline at the start only, by what it is at the end:
  open, visible, expected close outside the window → *pushed out* (− start amount);
  open but no longer the viewer's (a new owner outside their scope) → *transferred*;
  else won by the end → *won*, lost → *lost* (− start amount: what the pipeline lost),
  else (in the recycle bin, purged, or otherwise gone) → *deleted*;
- in the pipeline at the end only, by what it was at the start:
  open, visible, expected close outside the window → *pulled in* (+ end amount);
  open but not the viewer's then → *transferred* (+);
  else → *new* (+ end amount): created since, reopened, or restored from the recycle bin.

So end = start + new + increased + decreased + pulled in + pushed out + transferred + won
+ lost + deleted, to the cent (`Waterfall.check`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from salesops.analytics.periods import Period
from salesops.forecasting import snapshots
from salesops.forecasting.snapshots import AsOf, Row

#: The bars, in the order drawn; start and end are totals, the others moves.
MOVES = (
    "new",
    "increased",
    "decreased",
    "pulled_in",
    "pushed_out",
    "transferred",
    "won",
    "lost",
    "deleted",
)
BARS = ("start", *MOVES, "end")


@dataclass
class Bar:
    key: str
    amount: Decimal = Decimal(0)
    deal_ids: list[int] = field(default_factory=list)


@dataclass
class Waterfall:
    bars: dict[str, Bar]

    @property
    def start(self) -> Decimal:
        return self.bars["start"].amount

    @property
    def end(self) -> Decimal:
        return self.bars["end"].amount

    def check(self) -> bool:
        return self.start + sum(self.bars[k].amount for k in MOVES) == self.end


def in_window(row: Row, window: Period | None) -> bool:
    if window is None:
        return True
    return row.expected_close is not None and window.start <= row.expected_close < window.end


def compute(
    start: Mapping[int, Row],
    end: Mapping[int, Row],
    fates: Mapping[int, str],
    window: Period | None = None,
) -> Waterfall:
    """The waterfall from the open deals at the start to those at the end. `start` and
    `end` hold the viewer's rows (visible) and any others' rows known (not visible);
    `fates[deal]` says "won", "lost" or "deleted" for deals not open at the end (missing:
    deleted). Pure: no database."""
    bars = {k: Bar(k) for k in BARS}

    def add(key: str, deal: int, amount: Decimal) -> None:
        bars[key].amount += amount
        bars[key].deal_ids.append(deal)

    counted_start = {d for d, r in start.items() if r.visible and in_window(r, window)}
    counted_end = {d for d, r in end.items() if r.visible and in_window(r, window)}
    for d in sorted(counted_start):
        add("start", d, start[d].amount)
        if d in counted_end:
            delta = end[d].amount - start[d].amount
            if delta > 0:
                add("increased", d, delta)
            elif delta < 0:
                add("decreased", d, delta)
            continue
        later = end.get(d)
        if later is not None and later.visible:
            add("pushed_out", d, -start[d].amount)
        elif later is not None:
            add("transferred", d, -start[d].amount)
        else:
            fate = fates.get(d, "deleted")
            add(fate if fate in ("won", "lost") else "deleted", d, -start[d].amount)
    for d in sorted(counted_end):
        add("end", d, end[d].amount)
        if d in counted_start:
            continue
        earlier = start.get(d)
        if earlier is not None and earlier.visible:
            add("pulled_in", d, end[d].amount)
        elif earlier is not None:
            add("transferred", d, end[d].amount)
        else:
            add("new", d, end[d].amount)
    return Waterfall(bars)


@dataclass
class Result:
    start: AsOf
    end: AsOf
    window: Period | None
    waterfall: Waterfall
    #: every row read at each day: the viewer's in the window and the deals that left or
    #: joined it (the drill-down shows both amounts)
    start_rows: dict[int, Row] = field(default_factory=dict)
    end_rows: dict[int, Row] = field(default_factory=dict)


def between(
    *,
    viewer: Any,
    start: dt.date,
    end: dt.date,
    window: Period | None = None,
    today: dt.date | None = None,
) -> Result:
    """The waterfall of `viewer`'s pipeline from `start` to `end` (the query function the
    page, its drill-down and the API share). The deals leaving or joining are looked up
    at the other day among everyone's (to tell pushed out from transferred, new from
    pulled in), and their fates read once. MissingRate without a rate."""
    rates = snapshots.rate_table()
    closing = (window.start, window.end) if window is not None else None

    def read(day: dt.date, who: Any = viewer, ids: list[int] | None = None) -> AsOf:
        only = closing if ids is None else None
        return snapshots.as_of(
            viewer=who, day=day, deal_ids=ids, today=today, rates=rates, closing=only
        )

    # The viewer's pipelines in the window, then the few deals that left or joined it,
    # looked up at the other day without the window: first among the viewer's (pushed
    # out, pulled in), then among everyone's (transferred).
    a, b = read(start), read(end)
    start_rows: dict[int, Row] = dict(a.rows)
    end_rows: dict[int, Row] = dict(b.rows)
    left = [d for d in a.rows if d not in b.rows]
    joined = [d for d in b.rows if d not in a.rows]
    for rows, day, ids in ((end_rows, end, left), (start_rows, start, joined)):
        if not ids:
            continue
        rows.update(read(day, viewer, ids).rows)
        others = [d for d in ids if d not in rows]
        if others:
            rows.update(read(day, None, others).rows)
    gone = [d for d in left if d not in end_rows]
    fates = snapshots.fates(gone, b.effective_on) if gone else {}
    waterfall = compute(start_rows, end_rows, fates, window)
    return Result(a, b, window, waterfall, start_rows, end_rows)
