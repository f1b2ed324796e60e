"""`salesops forecast backtest --series FILE.csv [--horizon H]`: the holdout error of each
time-series method over the last H months of a monthly series, and the method the
rolling-origin backtest within the rest chose, as JSON."""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from salesops.forecasting.timeseries import holdout_backtest, read_series


class Command(BaseCommand):
    help = "Statistical forecast tools. backtest: score the time-series methods on a series."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        backtest = sub.add_parser("backtest", help="holdout error of each method, as JSON")
        backtest.add_argument("--series", required=True, help="CSV with month,value columns")
        backtest.add_argument("--horizon", type=int, default=12, help="holdout months (12)")

    def handle(self, *args: Any, **opts: Any) -> None:
        horizon = opts["horizon"]
        if horizon < 1:
            raise CommandError(_("The horizon must be at least 1 month."))
        try:
            with open(opts["series"], encoding="utf-8-sig", newline="") as f:
                rows = read_series(f)
        except OSError as e:
            raise CommandError(
                _("Cannot read %(file)s: %(error)s") % {"file": opts["series"], "error": e}
            ) from e
        except ValidationError as e:
            raise CommandError(" ".join(e.messages)) from e
        if len(rows) <= horizon:
            raise CommandError(
                _("The series has %(n)d months: it needs more than the horizon (%(h)d).")
                % {"n": len(rows), "h": horizon}
            )
        result = holdout_backtest([v for _m, v in rows], horizon)
        self.stdout.write(json.dumps(result.as_json(), indent=2))
