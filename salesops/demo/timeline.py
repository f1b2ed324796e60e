"""Days, instants and seasonality for the generator, in plain integers for speed.

A *day* is an int index: 0 is the first day of the history (a local date in the
organisation's time zone), `today` is `Timeline.today_i`. An *instant* is an int of
seconds since the Unix epoch (UTC). Both are formatted once per value as the strings
the database takes, from tables built here, so no datetime objects are made per row.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from bisect import bisect_right
from collections.abc import Callable, Iterable

EPOCH = dt.date(1970, 1, 1)


class Timeline:
    def __init__(
        self,
        *,
        start: dt.date,
        today: dt.date,
        end: dt.date,
        time_zone: str,
        locale: str,
        calendar: Iterable[tuple[dt.date, str, str]],
        datetime_suffix: str = "",
    ) -> None:
        self.start = start
        self.today = today
        self.today_i = (today - start).days
        self.n_days = (end - start).days + 1
        self.locale = locale
        tz = zoneinfo.ZoneInfo(time_zone)
        epoch_day0 = (start - EPOCH).days
        self._epoch_day0 = epoch_day0
        #: "YYYY-MM-DD" of each day index
        self.date_str = [(start + dt.timedelta(days=i)).isoformat() for i in range(self.n_days)]
        #: the instant of local midnight of each day
        self.midnight: list[int] = []
        for i in range(self.n_days):
            day = start + dt.timedelta(days=i)
            local_noon = dt.datetime(day.year, day.month, day.day, 12, tzinfo=tz)
            offset = int(local_noon.utcoffset().total_seconds())  # type: ignore[union-attr]
            self.midnight.append((epoch_day0 + i) * 86400 - offset)
        # UTC calendar days that instants may fall on (one either side for offsets)
        self.utc_day0 = epoch_day0 - 2
        self.utc_prefix = [
            (EPOCH + dt.timedelta(days=self.utc_day0 + k)).isoformat() + " "
            for k in range(self.n_days + 4)
        ]
        self.time_str = [
            f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}{datetime_suffix}"
            for s in range(86400)
        ]
        self.now = self.midnight[self.today_i]
        off = {d for d, kind, _n in calendar if kind == "holiday"}
        on = {d for d, kind, _n in calendar if kind == "workday"}
        self.holiday = [False] * self.n_days
        self.workday = [False] * self.n_days
        for i in range(self.n_days):
            day = start + dt.timedelta(days=i)
            weekday = day.weekday() < 5
            self.holiday[i] = day in off
            self.workday[i] = (weekday and day not in off) or day in on
        self.weight = self._weights(start, on, off)
        self.cum = [0.0]
        for w in self.weight:
            self.cum.append(self.cum[-1] + w)
        #: first day index of each month, and the month index of each day
        self.month_of: list[int] = []
        self.month_start: list[int] = []
        last = None
        for i in range(self.n_days):
            day = start + dt.timedelta(days=i)
            key = (day.year, day.month)
            if key != last:
                self.month_start.append(i)
                last = key
            self.month_of.append(len(self.month_start) - 1)

    # -- seasonality ---------------------------------------------------------------
    def _weights(self, start: dt.date, on: set[dt.date], off: set[dt.date]) -> list[float]:
        from salesops.demo.holidays import SPRING_FESTIVAL

        weights = []
        span = max(self.today_i, 1)
        for i in range(self.n_days):
            day = start + dt.timedelta(days=i)
            if day in off:
                w = 0.04
            elif day in on:
                w = 0.95
            elif day.weekday() == 5:
                w = 0.12
            elif day.weekday() == 6:
                w = 0.05
            else:
                w = 1.0
            if self.locale == "zh-hans":
                cny = SPRING_FESTIVAL.get(day.year)
                if cny is not None:
                    delta = (day - cny).days
                    if -12 <= delta <= -2:
                        w *= 0.65  # winding down before the holiday
                    elif 7 <= delta <= 20:
                        w *= 0.7  # slow restart after it
            else:
                if (day.month == 12 and day.day >= 20) or (day.month == 1 and day.day <= 3):
                    w *= 0.35
                elif day.month == 8:
                    w *= 0.8
            # the business grows over the history
            w *= 0.8 + 0.4 * min(i, span) / span
            weights.append(w)
        return weights

    def pick_day(self, a: int, b: int, u: float) -> int:
        """A day in [a, b) drawn by activity weight, `u` uniform in [0, 1)."""
        if b <= a + 1:
            return a
        cum = self.cum
        lo = cum[a]
        day = bisect_right(cum, lo + u * (cum[b] - lo)) - 1
        return a if day < a else (b - 1 if day >= b else day)

    def next_workday(self, day: int, limit: int) -> int:
        """`day`, or the next working day before `limit`."""
        workday = self.workday
        d = day
        while d < limit - 1 and not workday[d]:
            d += 1
        return d

    def prev_workday(self, day: int, floor: int) -> int:
        workday = self.workday
        d = day
        while d > floor and not workday[d]:
            d -= 1
        return d

    # -- formatting ------------------------------------------------------------------
    def ts(self, day: int, second: int) -> int:
        """The instant `second` seconds after local midnight of `day`."""
        return self.midnight[day] + second

    def fmt(self, instant: int) -> str:
        """The instant as the database's datetime text (UTC)."""
        return self.utc_prefix[instant // 86400 - self.utc_day0] + self.time_str[instant % 86400]

    def formatter(self) -> Callable[[int], str]:
        """`fmt` as a closure over local names, for hot loops."""
        prefix = self.utc_prefix
        times = self.time_str
        base = self.utc_day0

        def fmt(instant: int) -> str:
            return prefix[instant // 86400 - base] + times[instant % 86400]

        return fmt

    def local_day(self, instant: int) -> int:
        """The day index `instant` falls on in the organisation's time zone."""
        return bisect_right(self.midnight, instant) - 1

    def month_date(self, month: int) -> str:
        return self.date_str[self.month_start[month]]
