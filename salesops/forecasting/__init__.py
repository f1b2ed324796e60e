"""Forecasting (销售预测): forecast submissions and manager overrides, pipeline snapshots
and as-of reports, the statistical forecast and forecast accuracy."""

import os

# The statistical forecast fits small models (tens of points): BLAS threads gain nothing,
# and on a shared 2-core server every worker's threads fight (a backtest ran 3-5× slower).
# Set before numpy is first imported (this package loads with the apps).
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
