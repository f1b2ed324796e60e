"""The time-series forecast of a monthly series (bookings, collections): candidate
methods from statsmodels (Holt-Winters / ETS, Theta, SARIMA) and seasonal-naive, one
chosen by a rolling-origin backtest within the data it is given.

Pure functions over lists of floats (no ORM); the monthly series themselves come from
`statistical.monthly_series`.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

SEASON = 12
#: The candidates, in the order a tie is broken.
METHODS: tuple[str, ...] = (
    "seasonal_naive",
    "holt_winters",
    "holt_winters_log",
    "ets_damped",
    "theta",
    "sarima_log",
)
#: Rolling origins of the backtest (each forecasts the horizon ahead).
FOLDS = 3


# -- errors ---------------------------------------------------------------------------------


def mape(actual: Sequence[float], forecast: Sequence[float]) -> float | None:
    """Mean absolute percentage error, %, over points whose actual is not 0 (None when
    there is none)."""
    terms = [abs(f - a) / abs(a) for a, f in zip(actual, forecast, strict=True) if a != 0]
    return 100 * sum(terms) / len(terms) if terms else None


def smape(actual: Sequence[float], forecast: Sequence[float]) -> float | None:
    """Symmetric MAPE, %: mean of 2|f − a| ÷ (|a| + |f|), a point where both are 0
    counting as 0 error (None for no points)."""
    if not actual:
        return None
    terms = [
        2 * abs(f - a) / (abs(a) + abs(f)) if (a or f) else 0.0
        for a, f in zip(actual, forecast, strict=True)
    ]
    return 100 * sum(terms) / len(terms)


# -- methods ----------------------------------------------------------------------------------


def _positive(y: np.ndarray) -> bool:
    return bool((y > 0).all())


def seasonal_naive(y: np.ndarray, h: int) -> np.ndarray:
    """Each month as it was a season earlier (the last value when shorter than a season)."""
    if len(y) < SEASON:
        return np.repeat(y[-1], h)
    last = y[-SEASON:]
    return np.array([last[i % SEASON] for i in range(h)])


def holt_winters(y: np.ndarray, h: int, *, damped: bool = False) -> np.ndarray:
    """Additive trend, seasonality multiplicative when every value is positive."""
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    seasonal = "mul" if _positive(y) else "add"
    model = ExponentialSmoothing(
        y,
        trend="add",
        damped_trend=damped,
        seasonal=seasonal,
        seasonal_periods=SEASON,
        initialization_method="estimated",
    )
    return np.asarray(model.fit().forecast(h))


def holt_winters_log(y: np.ndarray, h: int) -> np.ndarray:
    """Additive Holt-Winters on log values (a multiplicative model that stays positive)."""
    if not _positive(y):
        raise ValueError("log needs positive values")
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    model = ExponentialSmoothing(
        np.log(y),
        trend="add",
        seasonal="add",
        seasonal_periods=SEASON,
        initialization_method="estimated",
    )
    return np.exp(np.asarray(model.fit().forecast(h)))


def theta(y: np.ndarray, h: int) -> np.ndarray:
    from statsmodels.tsa.forecasting.theta import ThetaModel

    method = "auto" if _positive(y) else "additive"
    model = ThetaModel(y, period=SEASON, method=method)
    return np.asarray(model.fit().forecast(h))


def sarima_log(y: np.ndarray, h: int) -> np.ndarray:
    """The airline model SARIMA(0,1,1)(0,1,1)₁₂, on log values when all are positive."""
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    log = _positive(y)
    data = np.log(y) if log else y
    model = SARIMAX(data, order=(0, 1, 1), seasonal_order=(0, 1, 1, SEASON))
    out = np.asarray(model.fit(disp=False).forecast(h))
    return np.exp(out) if log else out


FORECASTERS: dict[str, Callable[[np.ndarray, int], np.ndarray]] = {
    "seasonal_naive": seasonal_naive,
    "holt_winters": holt_winters,
    "holt_winters_log": holt_winters_log,
    "ets_damped": lambda y, h: holt_winters(y, h, damped=True),
    "theta": theta,
    "sarima_log": sarima_log,
}
#: Fewest points a method is fitted on (two seasons and a little for the seasonal ones).
MIN_POINTS = dict.fromkeys(METHODS, 2 * SEASON + 2) | {"seasonal_naive": SEASON}


def forecast(method: str, y: Sequence[float], h: int) -> list[float] | None:
    """`method`'s forecast of the next `h` points of `y`, or None when it cannot be fitted
    (too short, values it cannot take, or no finite result)."""
    data = np.asarray(y, dtype=float)
    if len(data) < MIN_POINTS[method] or h < 1:
        return None
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            out = FORECASTERS[method](data, h)
    except (ValueError, np.linalg.LinAlgError, ZeroDivisionError):
        return None
    if len(out) != h or not np.isfinite(out).all():
        return None
    return [float(v) for v in out]


# -- the backtest -------------------------------------------------------------------------


def score(actual: Sequence[float], predicted: Sequence[float]) -> float:
    """What the choice minimises: MAPE, or sMAPE where an actual is 0."""
    m = mape(actual, predicted) if all(a != 0 for a in actual) else None
    value = m if m is not None else smape(actual, predicted)
    return math.inf if value is None else value


def rolling_origin(y: Sequence[float], h: int, *, folds: int = FOLDS) -> dict[str, float | None]:
    """Mean backtest score of each method over up to `folds` rolling origins within `y`:
    origin o fits y[:o] and is scored on y[o:o + h], the last origin being len(y) − h;
    origins leaving too few points for a method are skipped for it. None: no origin."""
    n = len(y)
    origins = [n - h * (folds - i) for i in range(folds)]
    out: dict[str, float | None] = {}
    for name in METHODS:
        scores = []
        for o in origins:
            if o < MIN_POINTS[name]:
                continue
            predicted = forecast(name, y[:o], h)
            scores.append(math.inf if predicted is None else score(y[o : o + h], predicted))
        out[name] = sum(scores) / len(scores) if scores else None
    return out


def choose(cv: dict[str, float | None]) -> str:
    """The method of the lowest backtest score (seasonal-naive when none could be
    scored); ties go to the earlier in `METHODS`."""
    scored = [(v, METHODS.index(k), k) for k, v in cv.items() if v is not None and v < math.inf]
    return min(scored)[2] if scored else "seasonal_naive"


@dataclass(frozen=True)
class Backtest:
    methods: dict[str, dict[str, float | None]]  # holdout mape/smape per method
    cv: dict[str, float | None]  # rolling-origin score within the training part
    chosen: str

    def as_json(self) -> dict:
        def r(v: float | None) -> float | None:
            return None if v is None or not math.isfinite(v) else round(v, 3)

        return {
            "methods": {
                k: {"mape": r(v["mape"]), "smape": r(v["smape"])} for k, v in self.methods.items()
            },
            "chosen": self.chosen,
            "cv": {k: r(v) for k, v in self.cv.items()},
        }


def holdout_backtest(y: Sequence[float], h: int, *, folds: int = FOLDS) -> Backtest:
    """Split `y` into training and the last `h` points; choose a method by the
    rolling-origin backtest within the training part only, then fit every method on the
    whole training part and give its error on the holdout."""
    if h < 1 or len(y) <= h:
        raise ValueError("the series must be longer than the horizon")
    train, holdout = list(y[:-h]), list(y[-h:])
    cv = rolling_origin(train, h, folds=folds)
    methods: dict[str, dict[str, float | None]] = {}
    for name in METHODS:
        predicted = forecast(name, train, h)
        methods[name] = (
            {"mape": mape(holdout, predicted), "smape": smape(holdout, predicted)}
            if predicted is not None
            else {"mape": None, "smape": None}
        )
    return Backtest(methods, cv, choose(cv))


@dataclass(frozen=True)
class Fitted:
    """The forecast of the next `h` points by the method the backtest chose, with that
    method's backtest score (MAPE %, or sMAPE % where an actual is 0)."""

    method: str
    values: list[float]
    error: float | None
    cv: dict[str, float | None]


def fit_and_forecast(y: Sequence[float], h: int, *, folds: int = FOLDS) -> Fitted:
    cv = rolling_origin(y, h, folds=folds)
    method = choose(cv)
    if not y:
        return Fitted(method, [0.0] * h, None, cv)
    values = forecast(method, y, h)
    if values is None:  # fall back to the simplest forecast that always exists
        method, values = "seasonal_naive", list(seasonal_naive(np.asarray(y, float), h))
    error = cv.get(method)
    return Fitted(method, values, error if error is not None and math.isfinite(error) else None, cv)


# -- reading a series -----------------------------------------------------------------------


def read_series(lines: Iterable[str]) -> list[tuple[str, float]]:
    """(month, value) rows of a CSV with `month,value` columns (month as YYYY-MM, one row
    per month, in order, none missing). Raises ValidationError saying what to fix."""
    import csv

    from django.core.exceptions import ValidationError
    from django.utils.translation import gettext as _

    reader = csv.DictReader(lines)
    if not reader.fieldnames or not {"month", "value"} <= {
        (f or "").strip().lower() for f in reader.fieldnames
    }:
        raise ValidationError(_("The series needs the columns “month” and “value”."))
    out: list[tuple[str, float]] = []
    previous: int | None = None
    for line, row in enumerate(reader, start=2):
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items()}
        match = _MONTH.match(row["month"])
        if not match:
            raise ValidationError(
                _("Line %(line)d: the month “%(month)s” is not like 2026-07.")
                % {"line": line, "month": row["month"]}
            )
        try:
            value = float(row["value"])
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            raise ValidationError(
                _("Line %(line)d: the value “%(value)s” is not a number.")
                % {"line": line, "value": row["value"]}
            )
        index = int(match[1]) * 12 + int(match[2]) - 1
        if previous is not None and index != previous + 1:
            raise ValidationError(
                _(
                    "Line %(line)d: %(month)s does not follow the month before; list every month once, in order."
                )
                % {"line": line, "month": row["month"]}
            )
        previous = index
        out.append((row["month"], value))
    return out


_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
