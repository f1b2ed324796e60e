"""Forecasting models."""
