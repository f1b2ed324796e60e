"""Forecasting in the Django admin."""

from salesops.forecasting import admin_stats  # noqa: F401
