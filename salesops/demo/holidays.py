"""China's public holidays and make-up working days (调休) for the demo calendar.

2023–2026 are the dates the State Council published. Other years are approximated from
the Spring Festival date (the real schedule is published each November), without
make-up days.
"""

from __future__ import annotations

import datetime as dt

#: Chinese New Year's day (正月初一).
SPRING_FESTIVAL = {
    2020: dt.date(2020, 1, 25),
    2021: dt.date(2021, 2, 12),
    2022: dt.date(2022, 2, 1),
    2023: dt.date(2023, 1, 22),
    2024: dt.date(2024, 2, 10),
    2025: dt.date(2025, 1, 29),
    2026: dt.date(2026, 2, 17),
    2027: dt.date(2027, 2, 6),
    2028: dt.date(2028, 1, 26),
    2029: dt.date(2029, 2, 13),
    2030: dt.date(2030, 2, 3),
    2031: dt.date(2031, 1, 23),
    2032: dt.date(2032, 2, 11),
    2033: dt.date(2033, 1, 31),
    2034: dt.date(2034, 2, 19),
    2035: dt.date(2035, 2, 8),
}

NAMES = {
    "new_year": ("元旦", "New Year's Day"),
    "spring": ("春节", "Spring Festival"),
    "qingming": ("清明节", "Qingming Festival"),
    "labour": ("劳动节", "Labour Day"),
    "dragon": ("端午节", "Dragon Boat Festival"),
    "mid_autumn": ("中秋节", "Mid-Autumn Festival"),
    "national": ("国庆节", "National Day"),
    "national_mid_autumn": ("国庆节、中秋节", "National Day and Mid-Autumn Festival"),
}
WORKDAY_NAME = ("{}调休上班", "Make-up working day ({})")

# (key, first day off, last day off, [make-up working days])
_Spec = tuple[str, tuple[int, int], tuple[int, int], list[tuple[int, int]]]
PUBLISHED: dict[int, list[_Spec]] = {
    2023: [
        ("new_year", (1, 1), (1, 2), []),
        ("spring", (1, 21), (1, 27), [(1, 28), (1, 29)]),
        ("qingming", (4, 5), (4, 5), []),
        ("labour", (4, 29), (5, 3), [(4, 23), (5, 6)]),
        ("dragon", (6, 22), (6, 24), [(6, 25)]),
        ("national_mid_autumn", (9, 29), (10, 6), [(10, 7), (10, 8)]),
    ],
    2024: [
        ("new_year", (1, 1), (1, 1), []),
        ("spring", (2, 10), (2, 17), [(2, 4), (2, 18)]),
        ("qingming", (4, 4), (4, 6), [(4, 7)]),
        ("labour", (5, 1), (5, 5), [(4, 28), (5, 11)]),
        ("dragon", (6, 10), (6, 10), []),
        ("mid_autumn", (9, 15), (9, 17), [(9, 14)]),
        ("national", (10, 1), (10, 7), [(9, 29), (10, 12)]),
    ],
    2025: [
        ("new_year", (1, 1), (1, 1), []),
        ("spring", (1, 28), (2, 4), [(1, 26), (2, 8)]),
        ("qingming", (4, 4), (4, 6), []),
        ("labour", (5, 1), (5, 5), [(4, 27)]),
        ("dragon", (5, 31), (6, 2), []),
        ("national_mid_autumn", (10, 1), (10, 8), [(9, 28), (10, 11)]),
    ],
    2026: [
        ("new_year", (1, 1), (1, 3), [(1, 4)]),
        ("spring", (2, 15), (2, 23), [(2, 14), (2, 28)]),
        ("qingming", (4, 4), (4, 6), []),
        ("labour", (5, 1), (5, 5), [(5, 9)]),
        ("dragon", (6, 19), (6, 21), []),
        ("mid_autumn", (9, 25), (9, 27), []),
        ("national", (10, 1), (10, 7), [(9, 20), (10, 10)]),
    ],
}


def _approximate(year: int) -> list[_Spec]:
    cny = SPRING_FESTIVAL.get(year, dt.date(year, 2, 1))
    eve = cny - dt.timedelta(days=1)
    end = cny + dt.timedelta(days=6)
    return [
        ("new_year", (1, 1), (1, 1), []),
        ("spring", (eve.month, eve.day), (end.month, end.day), []),
        ("qingming", (4, 4), (4, 6), []),
        ("labour", (5, 1), (5, 5), []),
        ("national", (10, 1), (10, 7), []),
    ]


def china_calendar(years: range, locale: str) -> list[tuple[dt.date, str, str]]:
    """[(day, "holiday" | "workday", name)] for `years`, sorted by day."""
    zh = locale == "zh-hans"
    out: dict[dt.date, tuple[str, str]] = {}
    for year in years:
        for key, first, last, workdays in PUBLISHED.get(year) or _approximate(year):
            name = NAMES[key][0 if zh else 1]
            day = dt.date(year, *first)
            stop = dt.date(year, *last)
            while day <= stop:
                out[day] = ("holiday", name)
                day += dt.timedelta(days=1)
            for m, d in workdays:
                label = (WORKDAY_NAME[0] if zh else WORKDAY_NAME[1]).format(name)
                out[dt.date(year, m, d)] = ("workday", label)
    return [(day, kind, name) for day, (kind, name) in sorted(out.items())]
