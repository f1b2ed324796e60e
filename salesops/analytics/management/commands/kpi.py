"""`salesops kpi --period 2026-Q3 [--team ID] [--owner ID] [--pipeline ID] --format json|table`"""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from salesops.analytics.engine import REGISTRY
from salesops.analytics.report import kpi_payload
from salesops.users.models import User


class Command(BaseCommand):
    help = "Print the KPIs of a period by their ids (KPIS.md), as JSON or a table."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--period", required=True)
        parser.add_argument("--team", type=int)
        parser.add_argument("--owner", type=int)
        parser.add_argument("--pipeline", type=int)
        parser.add_argument("--kpi", action="append", dest="kpis", help="only these ids")
        parser.add_argument("--format", choices=["json", "table"], default="table")
        parser.add_argument(
            "--as-user",
            default="",
            help="compute within this username's data scope (default: the whole organisation)",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            payload, values, errors = kpi_payload(
                viewer=self._viewer(opts["as_user"]),
                period=opts["period"],
                team=opts["team"],
                owner=opts["owner"],
                pipeline=opts["pipeline"],
                kpis=opts["kpis"],
            )
        except ValidationError as e:
            raise CommandError(" ".join(e.messages)) from e
        if opts["format"] == "json":
            self.stdout.write(json.dumps(payload, ensure_ascii=False, indent=2))
            return
        width = max(len(k) for k in values)
        for key, value in values.items():
            shown = "—" if value is None else value
            if isinstance(value, dict):
                shown = json.dumps(value, ensure_ascii=False)
            self.stdout.write(f"{key:<{width}}  {shown}   {REGISTRY[key].label}")
        for key, message in errors.items():
            self.stderr.write(f"{key}: {message}")

    def _viewer(self, username: str) -> User:
        if username:
            user = User.objects.filter(username=username, is_active=True).first()
            if user is None:
                raise ValidationError(_("There is no active user %(name)s.") % {"name": username})
            return user
        # The command runs as the operator of the instance: the whole organisation.
        return User(username="salesops-cli", is_superuser=True, is_active=True)
