"""A template's dashboards: ``dashboards.yaml`` holds ``dashboard: {tiles: [...],
charts: [...]}`` — which KPI tiles and charts the organisation's dashboards show, in
order (ids of `analytics.dashboard.TILE_LABELS` and `CHARTS`; either list may be
empty, not both). Without the file the dashboards are left as they are.

`read` checks the file (problems as file:line), `sync` compares the organisation's
layout with the template's and sets it (the product's default counts as the layout
when none was ever saved, so a template asking for the default changes nothing), and
`configuration` gives what an export writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext as _

from salesops.analytics.dashboard import CHARTS, TILE_LABELS, Layout, layout
from salesops.analytics.models import DashboardLayout
from salesops.orgtemplates.schema import Where, _Reader, key_line

if TYPE_CHECKING:
    from salesops.orgtemplates.engine import _Sync

FILE = "dashboards.yaml"


@dataclass
class DashboardSpec:
    tiles: list[str]
    charts: list[str]
    at: Where


def read(node: Any, r: _Reader) -> DashboardSpec | None:
    if node is None:
        return None
    if not r.mapping(node, 1, {"dashboard"}, {"dashboard"}):
        return None
    item = node["dashboard"]
    at = key_line(node, "dashboard", 1)
    if not r.mapping(item, at, {"tiles", "charts"}, set()):
        return None
    chosen: dict[str, list[str]] = {}
    for key, known in (("tiles", TILE_LABELS), ("charts", CHARTS)):
        chosen[key] = []
        for line, value in r.items(item, key, at):
            if value not in known:
                r.fail(
                    line,
                    _("There is no “%(id)s”; choose from %(known)s.")
                    % {"id": value, "known": ", ".join(known)},
                )
            elif value in chosen[key]:
                r.fail(line, _("“%(id)s” is listed twice; list it once.") % {"id": value})
            else:
                chosen[key].append(str(value))
    if not chosen["tiles"] and not chosen["charts"] and not r.problems:
        r.fail(at, _("Choose at least one tile or chart to show."))
    return DashboardSpec(chosen["tiles"], chosen["charts"], r.where(item, at))


def _shown(ids: tuple[str, ...], labels: dict[str, Any]) -> str:
    return ", ".join(str(labels[i]) for i in ids) or "—"


def sync(sync: _Sync) -> None:
    spec = sync.t.dashboard
    if spec is None:
        return
    want = Layout(tuple(spec.tiles), tuple(spec.charts))
    current = layout()
    if current == want:
        return
    before, after = {}, {}
    if current.tiles != want.tiles:
        before["tiles"] = _shown(current.tiles, TILE_LABELS)
        after["tiles"] = _shown(want.tiles, TILE_LABELS)
    if current.charts != want.charts:
        before["charts"] = _shown(current.charts, CHARTS)
        after["charts"] = _shown(want.charts, CHARTS)
    sync.add("update", "dashboard", str(_("Dashboard")), before, after)
    if sync.write:
        DashboardLayout.objects.update_or_create(
            pk=1, defaults={"tiles": list(want.tiles), "charts": list(want.charts)}
        )


def configuration() -> dict[str, Any]:
    current = layout()
    return {"dashboard": {"tiles": list(current.tiles), "charts": list(current.charts)}}
