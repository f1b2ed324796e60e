"""Forecasting models."""

from salesops.forecasting.models_snapshots import *  # noqa: F403
