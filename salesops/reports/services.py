"""Saving, sharing, copying and running reports.

Writes are keyword-only and atomic; only the owner or an administrator changes or
deletes a report, anyone who can open it may run it or save a copy. Running always
happens as the reader: `run_report(report, user=u)` counts only what `u` may see and
refuses fields `u`'s role hides.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from salesops.audit import services as audit
from salesops.lib.services import NotVisible, ensure_right
from salesops.reports import running
from salesops.reports.models import SavedReport
from salesops.reports.query import ReportInvalid, Spec, parse
from salesops.reports.running import ReportResult
from salesops.users.admin_services import is_admin
from salesops.users.models import Team

__all__ = [
    "ReportResult",
    "copy_report",
    "create_report",
    "delete_report",
    "report_records",
    "run_definition",
    "run_report",
    "update_report",
]


def can_edit(user: Any, report: SavedReport) -> bool:
    return report.owner_id == user.pk or is_admin(user)


def shareable_teams(user: Any) -> QuerySet[Team]:
    """Teams `user` may share a report with: their own teams and the teams below them
    (any team for an administrator)."""
    if is_admin(user):
        return Team.objects.all()
    paths = list(Team.objects.filter(id__in=user.team_ids()).values_list("path", flat=True))
    if not paths:
        return Team.objects.none()
    from django.db.models import Q

    q = Q()
    for p in paths:
        q |= Q(path__startswith=p)
    return Team.objects.filter(q)


def canonical(spec: Spec) -> dict[str, Any]:
    """The stored form of a checked definition: only allow-listed keys and values."""

    def value(v: Any) -> Any:
        if isinstance(v, list):
            return ", ".join(str(x) for x in v)
        if isinstance(v, tuple):
            return f"{v[0]}..{v[1]}"
        if isinstance(v, bool):
            return "yes" if v else "no"
        return "" if v is None else str(v)

    return {
        "filters": [
            {"field": f.field.key, "op": f.op, "value": value(f.value)} for f in spec.filters
        ],
        "group_by": [{"field": g.field.key, "bucket": g.bucket} for g in spec.groups],
        "measures": [
            {"agg": m.agg, "field": m.field.key if m.field else ""} for m in spec.measures
        ],
        "chart": spec.chart,
    }


def check(*, user: Any, object_type: str, definition: dict[str, Any]) -> Spec:
    """The checked definition, or ValidationError keyed by form input."""
    try:
        spec = parse(object_type, definition, user)
    except ReportInvalid as e:
        raise ValidationError(e.errors) from None
    ensure_right(user, object_type, "view")
    return spec


def _clean_common(user: Any, name: str, team: Team | None) -> tuple[str, dict[str, str]]:
    errors: dict[str, str] = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = _("Give the report a name.")
    elif len(name) > 200:
        errors["name"] = _("A name may be at most 200 characters long.")
    if team is not None and not shareable_teams(user).filter(pk=team.pk).exists():
        errors["team"] = _("You can share a report only with your own teams or teams below them.")
    return name, errors


@transaction.atomic
def create_report(
    *,
    user: Any,
    name: str,
    object_type: str,
    definition: dict[str, Any],
    team: Team | None = None,
    description: str = "",
) -> SavedReport:
    name, errors = _clean_common(user, name, team)
    try:
        spec = check(user=user, object_type=object_type, definition=definition)
    except ValidationError as e:
        errors.update({k: " ".join(v) for k, v in e.message_dict.items()})
        spec = None
    if errors or spec is None:
        raise ValidationError(errors)
    report = SavedReport.objects.create(
        name=name,
        description=(description or "")[:500],
        object_type=object_type,
        definition=canonical(spec),
        owner=user,
        team=team,
    )
    return _created(user, report)


def _created(user: Any, report: SavedReport) -> SavedReport:
    audit.record(
        by=user, obj=report, action=audit.Action.CREATED, changes=audit.values(report, FIELDS)
    )
    return report


#: What a report's audit entries show.
FIELDS = ("name", "description", "object_type", "definition", "team")


def _editable(user: Any, report: SavedReport) -> SavedReport:
    if not SavedReport.objects.visible_to(user).filter(pk=report.pk).exists():
        raise NotVisible(_("This report does not exist or you may not see it."))
    if not can_edit(user, report):
        raise PermissionDenied(
            _("Only the report's owner or an administrator can change it; save a copy instead.")
        )
    return SavedReport.objects.select_for_update().get(pk=report.pk)


@transaction.atomic
def update_report(
    *,
    user: Any,
    report: SavedReport,
    name: str,
    definition: dict[str, Any],
    team: Team | None = None,
    description: str = "",
) -> SavedReport:
    row = _editable(user, report)
    name, errors = _clean_common(user, name, team)
    try:
        spec = check(user=user, object_type=row.object_type, definition=definition)
    except ValidationError as e:
        errors.update({k: " ".join(v) for k, v in e.message_dict.items()})
        spec = None
    if errors or spec is None:
        raise ValidationError(errors)
    shot = audit.snapshot(row, FIELDS)
    row.name = name
    row.description = (description or "")[:500]
    row.definition = canonical(spec)
    row.team = team
    row.save()
    audit.record(by=user, obj=row, action=audit.Action.UPDATED, changes=shot.changes(row))
    return row


@transaction.atomic
def delete_report(*, user: Any, report: SavedReport) -> None:
    row = _editable(user, report)
    audit.record(by=user, obj=row, action=audit.Action.DELETED)
    row.delete()


@transaction.atomic
def copy_report(*, user: Any, report: SavedReport, name: str = "") -> SavedReport:
    """A private copy owned by `user` of a report they can open (not shared)."""
    source = get_report(user=user, pk=report.pk)
    copy = SavedReport.objects.create(
        name=(name or "").strip()[:200] or _("Copy of %(name)s") % {"name": source.name},
        description=source.description,
        object_type=source.object_type,
        definition=dict(source.definition or {}),
        owner=user,
        team=None,
    )
    return _created(user, copy)


def get_report(*, user: Any, pk: int) -> SavedReport:
    report = SavedReport.objects.visible_to(user).select_related("owner", "team").filter(pk=pk)
    found = report.first()
    if found is None:
        raise NotVisible(_("This report does not exist or you may not see it."))
    return found


def run_definition(
    *, user: Any, object_type: str, definition: dict[str, Any], title: str = ""
) -> ReportResult:
    """Run a definition as `user`. A definition that cannot run (a field since deleted
    or hidden, a bad value) gives a result with `error` and `errors` and no rows;
    a user whose role cannot view the object gets PermissionDenied."""
    try:
        spec = parse(object_type, definition, user)
    except ReportInvalid as e:
        result = ReportResult(title=title, errors=e.errors)
        result.error = _("The report cannot run: %(problems)s") % {
            "problems": " ".join(dict.fromkeys(e.errors.values()))
        }
        return result
    ensure_right(user, object_type, "view")
    return running.execute(spec, user, title=title)


def run_report(report: SavedReport, *, user: Any) -> ReportResult:
    """The report's result as `user` sees it (their data scope and hidden fields),
    headers and cells formatted in the active language. NotVisible when `user` may
    not open the report; PermissionDenied when their role cannot view its object."""
    get_report(user=user, pk=report.pk)
    return run_definition(
        user=user,
        object_type=report.object_type,
        definition=report.definition or {},
        title=report.name,
    )


def report_records(
    *, user: Any, object_type: str, definition: dict[str, Any], keys: list[Any]
) -> QuerySet:
    """The records behind one row of the report (`ReportResult.keys[i]`): the same
    query, within `user`'s scope. ValidationError when the definition or keys are bad."""
    spec = check(user=user, object_type=object_type, definition=definition)
    try:
        return running.records(spec, user, keys)
    except ReportInvalid as e:
        raise ValidationError(e.errors) from None
