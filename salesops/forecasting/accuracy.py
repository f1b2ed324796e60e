"""Forecast accuracy (预测准确率) as pure functions over (forecast, actual) values: the
error of one forecast, a summary over many, and a table per subject (rep, team,
organisation) and per week of the period from generic rows. No ORM: the rows come from
the stored statistical forecasts or from forecast submissions."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

Number = Decimal | float | int


def accuracy(forecast: Number, actual: Number) -> float | None:
    """KPIS.md: 1 − |forecast − actual| ÷ actual; undefined (None) when actual is 0.
    Negative when the forecast is off by more than the actual."""
    if actual == 0:
        return None
    return 1 - abs(float(forecast) - float(actual)) / abs(float(actual))


def abs_pct_error(forecast: Number, actual: Number) -> float | None:
    """|forecast − actual| ÷ |actual| (a fraction); undefined when actual is 0."""
    if actual == 0:
        return None
    return abs(float(forecast) - float(actual)) / abs(float(actual))


def bias(forecast: Number, actual: Number) -> float | None:
    """(forecast − actual) ÷ actual: positive when the forecast was too high; undefined
    when actual is 0."""
    if actual == 0:
        return None
    return (float(forecast) - float(actual)) / abs(float(actual))


@dataclass(frozen=True)
class Summary:
    """Over n (forecast, actual) pairs: the mean absolute % error and mean bias of the
    pairs where they are defined (fractions), and the weighted error
    Σ|f − a| ÷ Σ|a| (undefined when Σ|a| = 0)."""

    n: int
    mape: float | None
    mean_bias: float | None
    wape: float | None

    @property
    def accuracy(self) -> float | None:
        return None if self.mape is None else 1 - self.mape


def summarise(pairs: Iterable[tuple[Number, Number]]) -> Summary:
    pairs = list(pairs)
    errors = [e for f, a in pairs if (e := abs_pct_error(f, a)) is not None]
    biases = [b for f, a in pairs if (b := bias(f, a)) is not None]
    total_actual = sum(abs(float(a)) for _f, a in pairs)
    total_error = sum(abs(float(f) - float(a)) for f, a in pairs)
    return Summary(
        len(pairs),
        sum(errors) / len(errors) if errors else None,
        sum(biases) / len(biases) if biases else None,
        total_error / total_actual if total_actual else None,
    )


@dataclass(frozen=True)
class Row:
    """One subject's forecast made at one time, against the actual of its period."""

    subject: Hashable
    made: Any  # when the forecast was made (a date, a week number)
    forecast: Number
    actual: Number

    @property
    def accuracy(self) -> float | None:
        return accuracy(self.forecast, self.actual)

    @property
    def abs_pct_error(self) -> float | None:
        return abs_pct_error(self.forecast, self.actual)

    @property
    def bias(self) -> float | None:
        return bias(self.forecast, self.actual)


def rows_from(items: Iterable[Mapping[str, Any]]) -> list[Row]:
    """Rows from generic mappings with the keys subject, made, forecast, actual (e.g.
    `.values()` of forecast submissions joined to their period's bookings)."""
    return [Row(i["subject"], i["made"], i["forecast"], i["actual"]) for i in items]


def by_subject(rows: Iterable[Row]) -> dict[Hashable, Summary]:
    """Each subject's summary over all its forecasts (every week of the period)."""
    grouped: dict[Hashable, list[tuple[Number, Number]]] = defaultdict(list)
    for r in rows:
        grouped[r.subject].append((r.forecast, r.actual))
    return {s: summarise(pairs) for s, pairs in grouped.items()}


def by_made(rows: Iterable[Row]) -> dict[Any, Summary]:
    """Per time of making (week of the period), the summary over subjects: how the
    error shrinks as the period goes on."""
    grouped: dict[Any, list[tuple[Number, Number]]] = defaultdict(list)
    for r in rows:
        grouped[r.made].append((r.forecast, r.actual))
    return {m: summarise(grouped[m]) for m in sorted(grouped)}


def first_made(rows: Iterable[Row]) -> dict[Hashable, Row]:
    """Each subject's earliest forecast (the one that stood at the period's start)."""
    out: dict[Hashable, Row] = {}
    for r in rows:
        if r.subject not in out or r.made < out[r.subject].made:
            out[r.subject] = r
    return out


def ranking(rows: Iterable[Row]) -> list[Row]:
    """Subjects' first forecasts, most accurate first (undefined accuracy last)."""
    firsts = list(first_made(rows).values())
    return sorted(
        firsts,
        key=lambda r: (r.abs_pct_error is None, r.abs_pct_error or 0.0, str(r.subject)),
    )
