"""Forecasting models."""

from salesops.forecasting.models_stats import StatForecast  # noqa: F401
