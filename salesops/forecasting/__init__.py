"""Forecasting (销售预测): forecast submissions and manager overrides, pipeline snapshots
and as-of reports, the statistical forecast and forecast accuracy."""
