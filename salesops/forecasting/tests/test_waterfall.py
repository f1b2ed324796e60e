"""The waterfall's pure function: each kind of deal lands in exactly one bar, and the end
is the start plus the moves to the cent, on crafted rows and on every combination."""

import datetime as dt
import itertools
from decimal import Decimal

import pytest

from salesops.analytics.periods import Period
from salesops.forecasting.snapshots import Row
from salesops.forecasting.waterfall import BARS, MOVES, compute

Q = Period(dt.date(2026, 7, 1), dt.date(2026, 10, 1))
IN = dt.date(2026, 8, 1)
FIRST = dt.date(2026, 7, 1)  # the window's first day: inside
LAST = dt.date(2026, 9, 30)  # the window's last day: inside
OUT = dt.date(2026, 10, 1)  # the day after the window: outside


def row(deal, amount, close=IN, visible=True, category="commit"):
    return Row(deal, 1, 10, category, close, Decimal(amount), visible)


def bars(w):
    return {k: (w.bars[k].amount, w.bars[k].deal_ids) for k in BARS}


def test_each_kind_of_deal_lands_in_its_bar_and_the_end_adds_up():
    start = {
        1: row(1, "100.00"),  # grows to 150: increased 50
        2: row(2, "200.00"),  # shrinks to 120: decreased −80
        3: row(3, "300.00"),  # unchanged: no move
        4: row(4, "400.00"),  # expected close moved to October: pushed out −400
        5: row(5, "500.00"),  # won: −500
        6: row(6, "600.00"),  # lost: −600
        7: row(7, "700.00"),  # deleted: −700
        8: row(8, "800.00", close=OUT),  # moved into the quarter at 850: pulled in +850
        10: row(10, "50.00"),  # now another team's: transferred −50
        11: row(11, "30.00", close=None),  # no expected close: not in the window either time
        12: row(12, "90.00"),  # purged (no fate known): deleted −90
    }
    end = {
        1: row(1, "150.00"),
        2: row(2, "120.00"),
        3: row(3, "300.00"),
        4: row(4, "400.00", close=OUT),
        8: row(8, "850.00", close=LAST),
        9: row(9, "900.00", close=FIRST),  # created since: new +900
        10: row(10, "50.00", visible=False),
        11: row(11, "30.00", close=None),
        13: row(13, "60.00"),  # reopened since (was won at the start): new +60
    }
    fates = {5: "won", 6: "lost", 7: "deleted"}
    w = compute(start, end, fates, Q)
    assert bars(w) == {
        # 100+200+300+400+500+600+700+50+90 = 2940
        "start": (Decimal("2940.00"), [1, 2, 3, 4, 5, 6, 7, 10, 12]),
        "new": (Decimal("960.00"), [9, 13]),
        "increased": (Decimal("50.00"), [1]),
        "decreased": (Decimal("-80.00"), [2]),
        "pulled_in": (Decimal("850.00"), [8]),
        "pushed_out": (Decimal("-400.00"), [4]),
        "transferred": (Decimal("-50.00"), [10]),
        "won": (Decimal("-500.00"), [5]),
        "lost": (Decimal("-600.00"), [6]),
        "deleted": (Decimal("-790.00"), [7, 12]),
        # 150+120+300+850+900+60 = 2380
        "end": (Decimal("2380.00"), [1, 2, 3, 8, 9, 13]),
    }
    assert w.check()
    # 2940 + 960 + 50 − 80 + 850 − 400 − 50 − 500 − 600 − 790 = 2380
    assert w.start + sum(w.bars[k].amount for k in MOVES) == w.end == Decimal("2380.00")


def test_without_a_window_every_open_deal_counts_and_nothing_is_pulled_or_pushed():
    start = {1: row(1, "10.00", close=None), 2: row(2, "20.00", close=OUT)}
    end = {1: row(1, "15.00", close=OUT), 2: row(2, "20.00", close=IN)}
    w = compute(start, end, {}, None)
    assert w.start == Decimal("30.00") and w.end == Decimal("35.00")
    assert w.bars["increased"].amount == Decimal("5.00")
    assert w.bars["pulled_in"].deal_ids == w.bars["pushed_out"].deal_ids == []


def test_a_deal_transferred_into_the_viewers_scope_is_a_positive_transfer():
    start = {1: row(1, "70.00", visible=False)}
    end = {1: row(1, "75.00")}
    w = compute(start, end, {}, Q)
    assert w.bars["transferred"].amount == Decimal("75.00")
    assert w.bars["new"].deal_ids == [] and w.check()


def test_a_currency_rate_change_moves_the_amount_like_an_edit():
    # 100 USD at 7.0 on the start day, at 7.2 on the end day: +20 in the base currency
    start = {1: row(1, "700.00")}
    end = {1: row(1, "720.00")}
    w = compute(start, end, {}, Q)
    assert w.bars["increased"].amount == Decimal("20.00") and w.check()


def test_the_windows_boundaries_first_day_in_end_day_out():
    start = {1: row(1, "1.00", close=FIRST), 2: row(2, "2.00", close=LAST)}
    end = {1: row(1, "1.00", close=OUT), 2: row(2, "2.00", close=dt.date(2026, 6, 30))}
    w = compute(start, end, {}, Q)
    assert w.bars["start"].deal_ids == [1, 2]
    assert w.bars["pushed_out"].deal_ids == [1, 2] and w.end == 0 and w.check()


# Every combination of one deal's state at each end: absent, open and visible in or out of
# the window, open but not visible; with every fate. Each lands in exactly one bar (or
# none, when it counts at neither end) and the sum holds.
STATES = [None, ("in", True), ("out", True), ("in", False), ("out", False)]
AMOUNTS = ["0.00", "13.37", "250.00"]


@pytest.mark.parametrize(
    ("s", "e", "fate", "a", "b"),
    list(itertools.product(STATES, STATES, ["won", "lost", "deleted", None], AMOUNTS, AMOUNTS)),
)
def test_every_combination_lands_in_one_bar_and_adds_up(s, e, fate, a, b):
    def make(state, amount):
        close = IN if state[0] == "in" else OUT
        return {7: row(7, amount, close=close, visible=state[1])}

    start = make(s, a) if s else {}
    end = make(e, b) if e else {}
    fates = {7: fate} if fate else {}
    w = compute(start, end, fates, Q)
    assert w.check()
    counted_start = s == ("in", True)
    counted_end = e == ("in", True)
    moves = [k for k in MOVES if 7 in w.bars[k].deal_ids]
    if counted_start and counted_end:
        expected = {1: ["increased"], -1: ["decreased"], 0: []}
        delta = Decimal(b) - Decimal(a)
        assert moves == expected[(delta > 0) - (delta < 0)]
    elif counted_start:
        if e is None:
            want = fate if fate in ("won", "lost") else "deleted"
        else:
            want = "pushed_out" if e[1] else "transferred"
        assert moves == [want]
        assert w.bars[want].amount == -Decimal(a)
    elif counted_end:
        want = "new" if s is None else ("pulled_in" if s[1] else "transferred")
        assert moves == [want]
        assert w.bars[want].amount == Decimal(b)
    else:
        assert moves == [] and w.start == w.end == 0
