"""Comparing a template with the database, and applying it.

`plan(template)` lists what applying would change (create, update, rename, each with
before → after) without writing; `apply(template, by=...)` makes those changes in one
transaction and writes one audit entry, so applying the same template twice changes
nothing the second time. Applying never removes or deactivates anything the template
does not mention: an organisation's own pipelines, stages, options and fields stay.

Identity: picklists by key, options by value, pipelines by name (in either language, or
a name in `renamed_from`), stages by (pipeline, name) likewise, custom objects by key
(a new one gives every role the rights it has on customers, as `objects.services.
define_object` does; links are only added), custom fields by (object, key) or
`renamed_from` (a rename moves every record's stored value to the new key in one
statement), validation rules by (object, name) or `renamed_from`, layouts by (object,
pipeline), pool rules by name or, for the active organisation-wide rule, as the one
such rule.

Order: picklists, custom objects, custom fields (then formulas and roll-ups are checked
against the fields now in force and computed for every record), pipelines (stages may
require the new fields), validation rules, layouts (placing the new fields, naming the
pipelines and the organisation's roles), pool rules; then saved reports and the dashboard
layout (`dashboards`).

Rows are written directly (models, full_clean) rather than through the per-change admin
services, which each write their own audit entry and never rename a key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from salesops.audit import services as audit
from salesops.audit.models import AuditEntry
from salesops.crm.models import PoolRule
from salesops.customization import computed, registry
from salesops.customization.admin_services import COMPUTING
from salesops.customization.models import (
    CustomField,
    Layout,
    Picklist,
    PicklistOption,
    ValidationRule,
)
from salesops.objects.models import LINKABLE, CustomObject
from salesops.org.models import Organisation
from salesops.orgtemplates import dashboards, loading
from salesops.orgtemplates.schema import (
    FieldSpec,
    Option,
    PipelineSpec,
    Problem,
    RuleSpec,
    SectionSpec,
    Template,
    TemplateError,
    Where,
)
from salesops.pipeline.models import Pipeline, Stage
from salesops.users.admin_services import ensure_admin
from salesops.users.models import Role

#: What `Change.kind` may be, as shown to a person.
KINDS = {
    "picklist": gettext_lazy("picklist"),
    "option": gettext_lazy("picklist option"),
    "pipeline": gettext_lazy("pipeline"),
    "stage": gettext_lazy("stage"),
    "field": gettext_lazy("custom field"),
    "object": gettext_lazy("custom object"),
    "rule": gettext_lazy("validation rule"),
    "layout": gettext_lazy("layout"),
    "pool_rule": gettext_lazy("pool rule"),
    "report": gettext_lazy("saved report"),
    "target": gettext_lazy("target"),
    "sample": gettext_lazy("sample record"),
    "dashboard": gettext_lazy("dashboard layout"),
}
POOL_DEFAULTS = {"reclaim_block_days": 0, "warning_days": 3}


@dataclass
class Change:
    action: str  # create | update | rename
    kind: str  # a key of KINDS
    name: str
    before: dict[str, Any] = field(default_factory=dict)
    after: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        sign = {"create": "+", "update": "~", "rename": ">"}[self.action]
        head = f"{sign} {KINDS[self.kind]} {self.name}"
        if self.action == "create":
            return head
        parts = [f"{k}: {self.before.get(k)!r} → {self.after.get(k)!r}" for k in self.after]
        return f"{head} ({'; '.join(parts)})"


def language() -> str:
    """The language the instance writes its labels in: "zh" or "en"."""
    return "zh" if Organisation.get().locale.lower().startswith("zh") else "en"


def plan(
    template: Template,
    *,
    lang: str | None = None,
    by: Any = None,
    with_targets: bool = False,
    with_sample_data: bool = False,
    year: int | None = None,
) -> list[Change]:
    """What applying `template` would change now; nothing is written."""
    return _Sync(
        template, lang or language(), write=False, by=by, targets=with_targets,
        sample=with_sample_data, year=year,
    ).run()  # fmt: skip


def apply(
    template: Template,
    *,
    by: Any = None,
    lang: str | None = None,
    with_targets: bool = False,
    with_sample_data: bool = False,
    year: int | None = None,
) -> list[Change]:
    """Apply `template` in one transaction; the changes made (none the second time).
    `by`, when given, must administer the organisation (PermissionDenied otherwise); it
    owns the new saved reports (else the first administrator does). `with_targets`
    adds the template's default targets for `year` (default: this year) where none is
    set; `with_sample_data` loads its sample records, once."""
    if by is not None:
        ensure_admin(by)
    with transaction.atomic():
        changes = _Sync(
            template, lang or language(), write=True, by=by, targets=with_targets,
            sample=with_sample_data, year=year,
        ).run()  # fmt: skip
        if changes:
            _audit(template, changes, by)
    return changes


def _audit(template: Template, changes: list[Change], by: Any) -> None:
    count = {a: sum(1 for c in changes if c.action == a) for a in ("create", "update", "rename")}
    actor = by if getattr(by, "pk", None) else None
    with audit.source("template"):
        AuditEntry.objects.create(
            actor_id=actor.pk if actor else None,
            actor_name=str(actor)[:150] if actor else "",
            object_type="orgtemplates.template",
            object_id=None,
            object_label=f"{template.key} v{template.version}"[:200],
            action=AuditEntry.Action.IMPORTED,
            changes={
                "template": template.key,
                "version": template.version,
                "created": count["create"],
                "updated": count["update"],
                "renamed": count["rename"],
                "count": len(changes),
                "changes": [str(c) for c in changes[:500]],
            },
            source="template",
        )


def _diff(obj: Any, want: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    before = {k: getattr(obj, k) for k, v in want.items() if getattr(obj, k) != v}
    return before, {k: want[k] for k in before}


def _set(obj: Any, values: dict[str, Any]) -> None:
    for k, v in values.items():
        setattr(obj, k, v)
    # A custom field's object (and a roll-up's, and a layout's) may be a custom object,
    # which the model's choices (the built-in types) do not list; the template's schema
    # checked.
    exclude: list[str] | None = None
    if isinstance(obj, CustomField):
        exclude = ["object_type", "rollup_object"]
    elif isinstance(obj, Layout):
        exclude = ["object_type"]
    obj.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)
    obj.save()


def _problem(at: Where, message: str) -> TemplateError:
    return TemplateError([Problem(at.file, at.line, message)])


class _Sync:
    def __init__(
        self,
        template: Template,
        lang: str,
        *,
        write: bool,
        by: Any = None,
        targets: bool = False,
        sample: bool = False,
        year: int | None = None,
    ):
        self.t = template
        self.lang = lang
        self.write = write
        self.by = by if getattr(by, "pk", None) else None
        self.with_targets = targets
        self.with_sample = sample
        self.year = year
        self.changes: list[Change] = []

    def add(self, action: str, kind: str, name: str, before: Any = None, after: Any = None) -> None:
        self.changes.append(Change(action, kind, name, before or {}, after or {}))

    def run(self) -> list[Change]:
        self.picklists()
        self.objects()
        self.fields()
        self.pipelines()
        self.rules()
        self.layouts()
        self.pool_rules()
        loading.sync_reports(self)
        dashboards.sync(self)
        if self.with_targets:
            year = self.year or Organisation.get().local_date().year
            loading.sync_targets(self, year)
        if self.with_sample:
            loading.sync_sample(self)
        return self.changes

    # -- picklists ---------------------------------------------------------------------

    def picklists(self) -> None:
        existing = {p.key: p for p in Picklist.objects.prefetch_related("options")}
        for spec in self.t.picklists:
            name = spec.name.pick(self.lang)
            pick = existing.get(spec.key)
            options: dict[str, PicklistOption] = {}
            if pick is None:
                self.add("create", "picklist", spec.key, after={"name": name})
                if self.write:
                    pick = Picklist(key=spec.key)
                    _set(pick, {"name": name})
            else:
                options = {o.value: o for o in pick.options.all()}
                self.update("picklist", spec.key, pick, {"name": name})
            named = {o.value for o in spec.options}
            rest = sorted(
                (o for o in options.values() if o.value not in named),
                key=lambda o: (o.order, o.value),
            )
            for i, o in enumerate(spec.options, start=1):
                want = {"label": o.label.pick(self.lang), "order": i, "active": o.active}
                label = f"{spec.key}.{o.value}"
                current = options.get(o.value)
                if current is None:
                    self.add("create", "option", label, after=want)
                    if self.write:
                        _set(PicklistOption(picklist=pick, value=o.value), want)
                    continue
                self.update("option", label, current, want)
            # Options the template does not name stay, after the template's.
            for i, left in enumerate(rest, start=len(spec.options) + 1):
                self.update("option", f"{spec.key}.{left.value}", left, {"order": i})

    def update(self, kind: str, name: str, obj: Any, want: dict[str, Any]) -> None:
        before, after = _diff(obj, want)
        if after:
            self.add("rename" if "name" in after else "update", kind, name, before, after)
            if self.write:
                _set(obj, after)

    # -- pipelines and stages ------------------------------------------------------------

    def pipelines(self) -> None:
        existing = list(Pipeline.objects.prefetch_related("stages"))
        has_default = any(p.default for p in self.t.pipelines)
        seen: list[Pipeline] = []
        for i, spec in enumerate(self.t.pipelines):
            name = spec.name.pick(self.lang)
            want: dict[str, Any] = {"name": name, "active": spec.active, "order": i}
            if has_default:
                want["is_default"] = spec.default
            current = next((p for p in existing if p.name in spec.name.names()), None)
            if current is None and spec.renamed_from is not None:
                current = next((p for p in existing if p.name in spec.renamed_from.names()), None)
            if current is None:
                self.add("create", "pipeline", name, after=want)
                pipeline = None
                if self.write:
                    if spec.default:
                        Pipeline.objects.filter(is_default=True).update(is_default=False)
                    pipeline = Pipeline()
                    _set(pipeline, want)
                self.stages(spec, pipeline, [])
                continue
            before, after = _diff(current, want)
            if after:
                action = "rename" if "name" in after else "update"
                self.add(action, "pipeline", name, before, after)
                if self.write:
                    if after.get("is_default"):
                        Pipeline.objects.filter(is_default=True).exclude(pk=current.pk).update(
                            is_default=False
                        )
                    _set(current, after)
            self.stages(spec, current, list(current.stages.all()))
            seen.append(current)
        # Pipelines the template does not name stay, after the template's.
        rest = sorted((p for p in existing if p not in seen), key=lambda p: (p.order, p.name))
        for i, p in enumerate(rest, start=len(self.t.pipelines)):
            want = {"order": i} | ({"is_default": False} if has_default and p.is_default else {})
            self.update("pipeline", p.name, p, want)

    def stages(self, spec: PipelineSpec, pipeline: Pipeline | None, existing: list[Stage]) -> None:
        matched: list[tuple[Stage | None, dict[str, Any]]] = []
        for s in spec.stages:
            want = {
                "name": s.name.pick(self.lang),
                "probability": s.probability,
                "forecast_category": s.forecast_category,
                "kind": s.kind,
                "required_fields": s.required_fields,
            }
            current = next((x for x in existing if x.name in s.name.names()), None)
            if current is None and s.renamed_from is not None:
                current = next((x for x in existing if x.name in s.renamed_from.names()), None)
            if current is not None and current.kind != s.kind and current.deals.exists():
                raise TemplateError(
                    [
                        Problem(
                            s.at.file,
                            s.at.line,
                            _(
                                "The stage “%(stage)s” holds deals as a %(old)s stage and cannot "
                                "become a %(new)s stage; keep its kind or name another stage."
                            )
                            % {"stage": current.name, "old": current.kind, "new": s.kind},
                        )
                    ]
                )
            matched.append((current, want))
        used = {id(c) for c, _w in matched if c is not None}
        rest = [x for x in existing if id(x) not in used]
        for x in rest:
            if x.kind != Stage.Kind.OPEN and any(w["kind"] == x.kind for _c, w in matched):
                raise TemplateError(
                    [
                        Problem(
                            spec.at.file,
                            spec.at.line,
                            _(
                                "The pipeline already has its %(kind)s stage “%(stage)s”; name "
                                "it in the template (or in a stage's “renamed_from”)."
                            )
                            % {"kind": x.kind, "stage": x.name},
                        )
                    ]
                )
        label = spec.name.pick(self.lang)
        order = {id(c): i for i, (c, _w) in enumerate(matched, start=1) if c is not None}
        for i, x in enumerate(rest, start=len(matched) + 1):
            order[id(x)] = i
        moves = [
            (c, {**w, "order": i}) for i, (c, w) in enumerate(matched, start=1) if c is not None
        ]
        updates: list[tuple[Stage, dict[str, Any]]] = []
        for c, want in moves:
            before, after = _diff(c, want)
            if after:
                action = "rename" if "name" in after else "update"
                self.add(action, "stage", f"{label} / {want['name']}", before, after)
                updates.append((c, after))
        for x in rest:
            if x.order != order[id(x)]:
                updates.append((x, {"order": order[id(x)]}))
        creates = [(i, w) for i, (c, w) in enumerate(matched, start=1) if c is None]
        for i, w in creates:
            self.add("create", "stage", f"{label} / {w['name']}", after={**w, "order": i})
        if not self.write or pipeline is None:
            return
        if updates:
            # Park every stage above the final orders first, then set each (the stages
            # becoming open first): (pipeline, order) and one-won-one-lost hold throughout.
            top = max([x.order for x in existing] + [len(matched) + len(rest)]) + 1
            for offset, x in enumerate(existing):
                Stage.objects.filter(pk=x.pk).update(order=top + offset)
            changed = {id(x): after for x, after in updates}
            final = sorted(
                existing, key=lambda x: changed.get(id(x), {}).get("kind", x.kind) != "open"
            )
            for x in final:
                _set(x, {**changed.get(id(x), {}), "order": order[id(x)]})
        for i, w in creates:
            _set(Stage(pipeline=pipeline), {**w, "order": i})

    # -- custom fields -------------------------------------------------------------------

    def fields(self) -> None:
        existing = {(f.object_type, f.key): f for f in CustomField.objects.all()}
        position: dict[str, int] = {}
        computing: list[tuple[FieldSpec, CustomField]] = []
        for spec in self.t.custom_fields:
            position[spec.object_type] = position.get(spec.object_type, 0) + 1
            name = f"{spec.object_type}.{spec.key}"
            current = existing.get((spec.object_type, spec.key))
            renamed_from = None
            if current is None and spec.renamed_from:
                current = existing.get((spec.object_type, spec.renamed_from))
                renamed_from = spec.renamed_from if current is not None else None
            want = self.field_values(spec, current, position[spec.object_type])
            if current is None:
                self.add(
                    "create", "field", name, after={k: want[k] for k in ("label", "field_type")}
                )
                if self.write:
                    row = CustomField(object_type=spec.object_type, key=spec.key)
                    _set(row, want)
                    if spec.computed:
                        computing.append((spec, row))
                continue
            if current.field_type != spec.type:
                raise TemplateError(
                    [
                        Problem(
                            spec.at.file,
                            spec.at.line,
                            _(
                                "The field “%(key)s” is a %(old)s field here; its type cannot "
                                "change to %(new)s. Add a new field with another key instead."
                            )
                            % {"key": current.key, "old": current.field_type, "new": spec.type},
                        )
                    ]
                )
            before, after = _diff(current, want)
            if renamed_from:
                before, after = {"key": renamed_from, **before}, {"key": spec.key, **after}
                self.add("rename", "field", name, before, after)
            elif after:
                self.add("update", "field", name, before, after)
            if self.write and after:
                _set(current, after)
                if renamed_from:
                    move_values(spec.object_type, renamed_from, spec.key)
                if spec.computed and set(after) & {*COMPUTING, "active"}:
                    computing.append((spec, current))

        named = {(f.object_type, f.key) for f in self.t.custom_fields}
        named |= {(f.object_type, f.renamed_from) for f in self.t.custom_fields if f.renamed_from}
        for object_type, count in position.items():
            rest = sorted(
                (f for (t, k), f in existing.items() if t == object_type and (t, k) not in named),
                key=lambda f: (f.order, f.key),
            )
            for i, f in enumerate(rest, start=count + 1):
                self.update("field", f"{f.object_type}.{f.key}", f, {"order": i})
        for spec, row in computing:
            compute(spec, row)

    def field_values(self, spec: FieldSpec, current: CustomField | None, order: int) -> dict:
        rollup = spec.rollup
        values = {
            "label": spec.label.pick(self.lang),
            "field_type": spec.type,
            "required": spec.required,
            "options": merge_options(spec.options, current, self.lang),
            "order": order,
            "active": spec.active,
            "help_text": spec.help.pick(self.lang),
            "expression": spec.formula,
            "rollup_object": rollup.object_type if rollup else "",
            "rollup_link": rollup.link if rollup else "",
            "rollup_aggregate": rollup.aggregate if rollup else "",
            "rollup_field": rollup.field if rollup else "",
            "rollup_condition": rollup.condition if rollup else "",
        }
        if spec.type != CustomField.Type.ROLLUP:
            # A roll-up's result type follows from what it rolls up (set by `compute`).
            values["result_type"] = spec.result_type
        return values

    # -- custom objects ------------------------------------------------------------------

    def objects(self) -> None:
        existing = {o.key: o for o in CustomObject.objects.all()}
        for i, spec in enumerate(self.t.custom_objects, start=1):
            current = existing.get(spec.key)
            links = list(spec.links)
            if current is not None:
                # Links are only added: records may use the ones the template omits.
                kept = set(current.links or []) | set(links)
                links = [link for link in LINKABLE if link in kept]
            want = {
                "label": spec.label.pick(self.lang),
                "plural": spec.plural.pick(self.lang),
                "title_label": spec.title_label.pick(self.lang),
                "links": links,
                "active": spec.active,
                "order": i,
            }
            if current is None:
                self.add("create", "object", spec.key, after=want)
                if self.write:
                    _set(CustomObject(key=spec.key), want)
                    grant_rights(spec.key)
                continue
            before, after = _diff(current, want)
            if after:
                self.add("update", "object", spec.key, before, after)
                if self.write:
                    _set(current, after)
        # Objects the template does not name stay, after the template's.
        named = {o.key for o in self.t.custom_objects}
        rest = sorted(
            (o for o in existing.values() if o.key not in named), key=lambda o: (o.order, o.key)
        )
        for i, o in enumerate(rest, start=len(self.t.custom_objects) + 1):
            self.update("object", o.key, o, {"order": i})

    # -- validation rules ------------------------------------------------------------------

    def rules(self) -> None:
        existing = list(ValidationRule.objects.all())
        position: dict[str, int] = {}
        for spec in self.t.validation_rules:
            position[spec.object_type] = position.get(spec.object_type, 0) + 1
            mine = [r for r in existing if r.object_type == spec.object_type]
            current = next((r for r in mine if r.name in spec.name.names()), None)
            if current is None and spec.renamed_from is not None:
                current = next((r for r in mine if r.name in spec.renamed_from.names()), None)
            want = {
                "name": spec.name.pick(self.lang),
                "condition": spec.condition,
                "message_zh": spec.message.zh,
                "message_en": spec.message.en,
                "field": spec.field,
                "active": spec.active,
                "order": position[spec.object_type],
            }
            label = f"{spec.object_type}: {want['name']}"
            if current is None:
                self.add("create", "rule", label, after=want)
                if self.write:
                    self.save_rule(spec, ValidationRule(object_type=spec.object_type), want)
                continue
            before, after = _diff(current, want)
            if after:
                self.add("rename" if "name" in after else "update", "rule", label, before, after)
                if self.write:
                    self.save_rule(spec, current, after)

    def save_rule(self, spec: RuleSpec, rule: ValidationRule, values: dict[str, Any]) -> None:
        try:
            _set(rule, values)
        except ValidationError as e:
            raise _problem(spec.at, " ".join(e.messages)) from None

    # -- layouts -------------------------------------------------------------------------

    def layouts(self) -> None:
        if not self.t.layouts:
            return
        existing = list(Layout.objects.select_related("pipeline"))
        pipelines = list(Pipeline.objects.all())
        roles = {r.name: r.pk for r in Role.objects.all()}
        for spec in self.t.layouts:
            pipeline = None
            names: set[str] = set()
            if spec.pipeline:
                template_pipe = next(p for p in self.t.pipelines if spec.pipeline in p.name.names())
                names = template_pipe.name.names()
                pipeline = next((p for p in pipelines if p.name in names), None)
            sections = [self.section(s, roles) for s in spec.sections]
            current = next(
                (
                    x
                    for x in existing
                    if x.object_type == spec.object_type
                    and (
                        x.pipeline is None
                        if not spec.pipeline
                        else (x.pipeline is not None and x.pipeline.name in names)
                    )
                ),
                None,
            )
            label = spec.object_type + (f" / {spec.pipeline}" if spec.pipeline else "")
            if current is None:
                self.add("create", "layout", label, after={"sections": _titles(sections)})
                if self.write:
                    if spec.pipeline and pipeline is None:  # created by this apply
                        pipeline = Pipeline.objects.get(name__in=names)
                    _set(
                        Layout(object_type=spec.object_type, pipeline=pipeline),
                        {"sections": sections},
                    )
                continue
            if current.sections != sections:
                self.add(
                    "update",
                    "layout",
                    label,
                    {"sections": _titles(current.sections or [])},
                    {"sections": _titles(sections)},
                )
                if self.write:
                    _set(current, {"sections": sections})

    def section(self, s: SectionSpec, roles: dict[str, int]) -> dict[str, Any]:
        unknown = [name for name in s.roles if name not in roles]
        if unknown:
            raise _problem(
                s.at,
                _("There is no role “%(role)s” in this organisation; use one of %(roles)s.")
                % {"role": unknown[0], "roles": ", ".join(sorted(roles)) or "-"},
            )
        return {
            "key": s.key,
            "title_zh": s.title.zh,
            "title_en": s.title.en,
            "fields": list(s.fields),
            "roles": sorted({roles[name] for name in s.roles}),
        }

    # -- pool rules ----------------------------------------------------------------------

    def pool_rules(self) -> None:
        existing = list(PoolRule.objects.filter(team__isnull=True))
        for spec in self.t.pool_rules:
            name = spec.name.pick(self.lang)
            current = next((r for r in existing if r.name in spec.name.names()), None)
            if current is None and spec.active:
                current = next((r for r in existing if r.active), None)
            want: dict[str, Any] = {"name": name, "active": spec.active}
            for k, v in spec.numbers.items():
                want[k] = POOL_DEFAULTS.get(k) if v is None and k in POOL_DEFAULTS else v
            if current is None:
                self.add("create", "pool_rule", name, after=want)
                if self.write:
                    _set(PoolRule(), want)
                continue
            before, after = _diff(current, want)
            if after:
                self.add(
                    "rename" if "name" in after else "update", "pool_rule", name, before, after
                )
                if self.write:
                    _set(current, after)


def _titles(sections: list[dict[str, Any]]) -> str:
    """Sections as a person reads a change: each title with its fields."""
    zh = (translation.get_language() or "").lower().startswith("zh")
    first, second = ("title_zh", "title_en") if zh else ("title_en", "title_zh")
    return "; ".join(
        f"{s.get(first) or s.get(second)}: {', '.join(s.get('fields') or [])}" for s in sections
    )


def grant_rights(key: str) -> None:
    """Every role gets on a new custom object the rights it has on customers (as
    `objects.services.define_object` gives them)."""
    for role in Role.objects.select_for_update():
        rights = dict(role.rights or {})
        if key not in rights:
            rights[key] = list(rights.get("customer", []))
            Role.objects.filter(pk=role.pk).update(rights=rights)


def compute(spec: FieldSpec, row: CustomField) -> None:
    """Check a formula or roll-up against the fields now in force (refusing at the
    template's line), set a roll-up's result type, and compute every record's value."""
    try:
        if row.field_type == CustomField.Type.FORMULA:
            computed.check_formula(row.object_type, row.key, row.expression)
        else:
            row.result_type, _q = computed.check_rollup(
                object_type=row.object_type,
                child=row.rollup_object,
                link=row.rollup_link,
                aggregate=row.rollup_aggregate,
                field=row.rollup_field,
                condition=row.rollup_condition,
            )
            row.save(update_fields=["result_type"])
    except ValidationError as e:
        raise _problem(spec.at, " ".join(str(m) for m in e.messages)) from None
    if row.active:
        computed.recompute_field(row)


def merge_options(options: list[Option], current: CustomField | None, lang: str) -> list[dict]:
    """The template's options in its order, then any others the field already had (an
    option's value is never removed: stored records may hold it)."""
    out = [{"value": o.value, "label": o.label.pick(lang), "active": o.active} for o in options]
    seen = {o.value for o in options}
    for o in current.all_options() if current is not None else []:
        if str(o["value"]) not in seen:
            out.append(o)
    return out


def move_values(object_type: str, old: str, new: str) -> int:
    """Move every record's stored value of custom field `old` to key `new`, in one
    statement (soft-deleted records included)."""
    model = registry.get(object_type).model
    table = connection.ops.quote_name(model._meta.db_table)
    col = connection.ops.quote_name(str(model._meta.get_field("custom").column))  # type: ignore[union-attr]
    if connection.vendor == "postgresql":
        sql = (
            f"UPDATE {table} SET {col} = ({col} - %s) || jsonb_build_object(%s::text, {col} -> %s) "  # noqa: S608
            f"WHERE {col} ? %s"
        )
        params = [old, new, old, old]
    else:
        sql = (
            f"UPDATE {table} SET {col} = json_remove(json_set({col}, %s, {col} -> %s), %s) "  # noqa: S608
            f"WHERE json_type({col}, %s) IS NOT NULL"
        )
        params = [f'$."{new}"', f'$."{old}"', f'$."{old}"', f'$."{old}"']
    # Only the table and column names (the model's own, quoted) are formatted in; the
    # keys are parameters.
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount
