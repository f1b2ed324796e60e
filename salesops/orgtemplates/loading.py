"""Applying a template's saved reports, default targets and sample data.

Saved reports are part of every apply (`engine._Sync` calls `sync_reports` after the
fields they read exist); an instance without any administrator gets them on a later
apply, once there is one to own them. Identity: by name (either language, or `renamed_from`) among
the reports administrators own; a new one is owned by the applying administrator (the
first administrator when none is given). On apply each definition is checked by the
report builder's own parser as that owner, and stored in its canonical form.

Targets and sample data concern an organisation's people and records, so they are
written only when asked (`engine.apply(..., with_targets=True, with_sample_data=True)`):
targets through `users.target_services.save_target_grid` (only where no target is set,
so applying again adds nothing), sample records through the CRM's, activities' and
custom objects' services, once: a dedicated audit entry marks a template's sample data
as loaded.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from salesops.audit import services as audit
from salesops.audit.models import AuditEntry
from salesops.orgtemplates.extras import ORGANISATION, ReportSpec, TargetSpec
from salesops.orgtemplates.schema import Problem, Template, TemplateError, Where
from salesops.reports.models import SavedReport
from salesops.reports.query import ReportInvalid, parse
from salesops.reports.services import canonical
from salesops.users.models import Target, Team, User

if TYPE_CHECKING:
    from salesops.orgtemplates.engine import _Sync

SAMPLE_MARK = "orgtemplates.sample"


def _problem(at: Where, message: str) -> TemplateError:
    return TemplateError([Problem(at.file, at.line, message)])


def administrators() -> Any:
    return User.administrators()


def first_admin() -> User | None:
    return administrators().first()


def _messages(e: ValidationError) -> str:
    return " ".join(str(m) for m in e.messages)


# -- saved reports ------------------------------------------------------------------------------


def share_team(spec: ReportSpec, tops: list[Team], teams: dict[str, Team]) -> Team | None:
    if not spec.shared_with:
        return None
    if spec.shared_with == ORGANISATION:
        if len(tops) > 1:
            raise _problem(
                spec.at,
                _(
                    "This organisation has %(n)s top-level teams, so “organisation” names none "
                    "of them; write the name of the team to share the report with."
                )
                % {"n": len(tops)},
            )
        return tops[0] if tops else None
    team = teams.get(spec.shared_with)
    if team is None:
        raise _problem(
            spec.at,
            _("There is no team “%(team)s” in this organisation; use one of %(teams)s.")
            % {"team": spec.shared_with, "teams": ", ".join(sorted(teams)) or "-"},
        )
    return team


def sync_reports(sync: _Sync) -> None:
    t = sync.t
    if not t.reports:
        return
    owner = sync.by or first_admin()
    if owner is None:
        # No one to own them yet (a new instance): a later apply adds them.
        return
    existing = list(SavedReport.objects.filter(owner__in=administrators()).order_by("pk"))
    all_teams = list(Team.objects.all())
    tops = [x for x in all_teams if x.parent_id is None]
    teams = {x.name: x for x in all_teams}
    for spec in t.reports:
        name = spec.name.pick(sync.lang)
        current = next((x for x in existing if x.name in spec.name.names()), None)
        if current is None and spec.renamed_from is not None:
            current = next((x for x in existing if x.name in spec.renamed_from.names()), None)
        team = share_team(spec, tops, teams)
        want = {
            "name": name,
            "description": spec.description.pick(sync.lang)[:500],
            "object_type": spec.object_type,
            "definition": _checked(spec, owner, write=sync.write),
            "team_id": team.pk if team else None,
        }
        label = name
        if current is None:
            sync.add("create", "report", label, after={"object_type": spec.object_type})
            if sync.write:
                SavedReport.objects.create(owner=owner, **want)
            continue
        before = {k: getattr(current, k) for k, v in want.items() if getattr(current, k) != v}
        after = {k: want[k] for k in before}
        if after:
            shown_before = {k: _shown(k, v) for k, v in before.items()}
            shown_after = {k: _shown(k, v) for k, v in after.items()}
            action = "rename" if "name" in after else "update"
            sync.add(action, "report", label, shown_before, shown_after)
            if sync.write:
                for k, v in after.items():
                    setattr(current, k, v)
                current.save()


def _shown(key: str, value: Any) -> Any:
    if key == "team_id":
        return Team.objects.filter(pk=value).values_list("name", flat=True).first() or ""
    if key == "definition":
        return ", ".join(
            [f"{g['field']}" for g in value.get("group_by", [])]
            + [f"{m['agg']}({m['field']})" if m["field"] else m["agg"] for m in value["measures"]]
        )
    return value


def _checked(spec: ReportSpec, owner: User, *, write: bool) -> dict[str, Any]:
    """The definition as the report builder stores it, checked by its parser as the
    owner. Before the template's fields exist (a plan), the definition as read."""
    try:
        return canonical(parse(spec.object_type, spec.definition, owner))
    except ReportInvalid as e:
        if not write:
            return spec.definition
        raise _problem(
            spec.at,
            _("The report “%(name)s” cannot run: %(problems)s")
            % {"name": spec.name.en, "problems": " ".join(dict.fromkeys(e.errors.values()))},
        ) from None


# -- targets ----------------------------------------------------------------------------------


def _starts(year: int, kind: str) -> list[dt.date]:
    if kind == Target.PeriodKind.MONTH:
        return [dt.date(year, m, 1) for m in range(1, 13)]
    return [dt.date(year, m, 1) for m in (1, 4, 7, 10)]


def target_teams(spec: TargetSpec, teams: list[Team]) -> list[Team]:
    if not spec.teams:
        parents = {x.parent_id for x in teams}
        return [x for x in teams if x.pk not in parents]
    by_name = {x.name: x for x in teams}
    unknown = [n for n in spec.teams if n not in by_name]
    if unknown:
        raise _problem(
            spec.at,
            _("There is no team “%(team)s” in this organisation; use one of %(teams)s.")
            % {"team": unknown[0], "teams": ", ".join(sorted(by_name)) or "-"},
        )
    return [by_name[n] for n in spec.teams]


def sync_targets(sync: _Sync, year: int) -> None:
    """The template's default targets for `year`, where none is set yet."""
    from salesops.users.target_services import GridCell, GridRejected, save_target_grid

    if sync.t.targets is None or not sync.t.targets.targets:
        return
    teams = list(Team.objects.all())
    existing = {
        (x.team_id, x.metric, x.period_kind, x.period_start)
        for x in Target.objects.filter(
            team__isnull=False, period_start__year=year, period_kind__in=["month", "quarter"]
        )
    }
    cells: list[tuple[TargetSpec, GridCell]] = []
    for spec in sync.t.targets.targets:
        for team in target_teams(spec, teams):
            for kind, values in (("month", spec.months), ("quarter", spec.quarters)):
                if values is None:
                    continue
                for start, value in zip(_starts(year, kind), values, strict=True):
                    if (team.pk, spec.metric, kind, start) in existing:
                        continue
                    key = f"{team.pk}:{spec.metric}:{kind}:{start}"
                    cells.append(
                        (spec, GridCell(key, spec.metric, kind, start, value, team_id=team.pk))
                    )
                    sync.add(
                        "create",
                        "target",
                        f"{team.name} / {Target.Metric(spec.metric).label} / {kind} {start}",
                        after={"value": value},
                    )
    if not sync.write or not cells:
        return
    by = sync.by or first_admin()
    if by is None:
        raise _problem(cells[0][0].at, _("Targets need an administrator to set them; add one."))
    try:
        save_target_grid(by=by, cells=[c for _s, c in cells])
    except GridRejected as e:
        key, message = next(iter(e.errors.items()))
        spec = next(s for s, c in cells if c.key == key)
        raise _problem(spec.at, message) from None


# -- sample data -------------------------------------------------------------------------------


def sample_loaded(template: Template) -> bool:
    return AuditEntry.objects.filter(object_type=SAMPLE_MARK, object_label=template.key).exists()


def sync_sample(sync: _Sync) -> None:
    """The template's sample records, through the domain services, once."""
    data = sync.t.sample
    if not data or sample_loaded(sync.t):
        return
    lang = sync.lang
    for c in data.customers:
        sync.add("create", "sample", c.name.pick(lang))
    for r in data.records:
        sync.add("create", "sample", r.title.pick(lang))
    if not sync.write:
        return
    by = sync.by or first_admin()
    if by is None:
        raise _problem(data.customers[0].at, _("Sample data needs an administrator; add one."))
    _load_sample(sync.t, by, lang)


def _load_sample(template: Template, by: User, lang: str) -> None:
    from salesops.activities.services import log_followup
    from salesops.crm.services import create_contact, create_customer, create_deal
    from salesops.objects.services import create_record
    from salesops.org.models import Organisation
    from salesops.pipeline.models import Pipeline, Stage

    data = template.sample
    now = timezone.now()
    today = Organisation.get().local_date(now)
    deals: dict[str, Any] = {}
    pipelines = {p.name: p for p in Pipeline.objects.all()}
    count = 0
    for c in data.customers:
        try:
            customer = create_customer(
                by=by,
                name=c.name.pick(lang),
                custom=c.custom or None,
                **{k: v.pick(lang) for k, v in c.fields.items()},
            )
        except ValidationError as e:
            raise _problem(c.at, _messages(e)) from None
        count += 1
        first_contact = None
        for p in c.contacts:
            try:
                contact = create_contact(
                    by=by,
                    customer=customer,
                    name=p.name.pick(lang),
                    **{k: v.pick(lang) for k, v in p.fields.items()},
                )
            except ValidationError as e:
                raise _problem(p.at, _messages(e)) from None
            first_contact = first_contact or contact
            count += 1
        for d in c.deals:
            pipe_spec = next(
                (x for x in template.pipelines if d.pipeline in x.name.names()),
                next((x for x in template.pipelines if x.default), None),
            )
            pipeline = (
                next((pipelines[n] for n in pipe_spec.name.names() if n in pipelines), None)
                if pipe_spec
                else None
            )
            stage = None
            if pipeline is not None and d.stage:
                stage = Stage.objects.filter(
                    pipeline=pipeline, name__in=_names(pipe_spec, d.stage)
                ).first()
            try:
                deal = create_deal(
                    by=by,
                    customer=customer,
                    contact=first_contact,
                    name=d.name.pick(lang),
                    pipeline=pipeline,
                    stage=stage,
                    amount=d.amount,
                    expected_close=today + dt.timedelta(days=d.close_in_days)
                    if d.close_in_days is not None
                    else None,
                    custom=d.custom or None,
                )
            except ValidationError as e:
                raise _problem(d.at, _messages(e)) from None
            for n in d.name.names():
                deals[n] = deal
            count += 1
        for f in c.followups:
            try:
                log_followup(
                    by=by,
                    kind=f.kind,
                    customer=customer,
                    contact=first_contact,
                    subject=f.subject.pick(lang),
                    occurred_at=now - dt.timedelta(days=f.days_ago),
                )
            except ValidationError as e:
                raise _problem(f.at, _messages(e)) from None
            count += 1
    for r in data.records:
        values: dict[str, Any] = {"title": r.title.pick(lang)}
        if r.deal:
            values["deal"] = deals[r.deal]
        try:
            create_record(by=by, object_type=r.object_type, data=values, custom=r.custom or None)
        except ValidationError as e:
            raise _problem(r.at, _messages(e)) from None
        count += 1
    with audit.source("template"):
        AuditEntry.objects.create(
            actor_id=by.pk,
            actor_name=str(by)[:150],
            object_type=SAMPLE_MARK,
            object_id=None,
            object_label=template.key,
            action=AuditEntry.Action.IMPORTED,
            changes={"template": template.key, "version": template.version, "records": count},
            source="template",
        )


def _names(pipe_spec: Any, stage: str) -> set[str]:
    for s in pipe_spec.stages:
        if stage in s.name.names():
            return s.name.names()
    return {stage}
