"""Reading an industry template: a folder of YAML files, checked against the schema.

A template is a folder (``library/<key>/`` for the shipped ones) holding:

- ``template.yaml``: key, version, name {zh, en}, description {zh, en};
- ``picklists.yaml``: ``picklists: [{key, name, options: [{value, label, active?}]}]``;
- ``pipelines.yaml``: ``pipelines: [{name, renamed_from?, default?, active?, stages:
  [{name, renamed_from?, probability, forecast_category}], won: STAGE, lost: STAGE}]``
  (the stages in order; ``won`` and ``lost`` name the closing stages, the others are open);
  A stage may list ``required_fields: [deal field keys]`` (built-in deal fields or the
  template's deal fields) that must be filled before a deal enters it;
- ``custom_objects.yaml``: ``custom_objects: [{key, name, plural?, title, links?,
  active?}]`` (自定义对象: ``title`` is the name of each record's title, ``links`` ⊆
  customer, contact, deal); applied before the custom fields, which may be on them;
- ``custom_fields.yaml``: ``custom_fields: [{object, key, renamed_from?, label, type,
  options?, required?, help?, active?, formula?, result_type?, rollup?}]`` (order within
  an object = order in the file; a ``formula`` field has ``formula: EXPRESSION`` and
  ``result_type``; a ``rollup`` field ``rollup: {object, link, aggregate, field?,
  condition?}``);
- ``validation_rules.yaml``: ``validation_rules: [{object, name, renamed_from?,
  condition, message, field?, active?}]`` (the record is refused when the condition is
  true; it may read the object's built-in fields and the template's custom fields);
- ``layouts.yaml``: ``layouts: [{object, pipeline?, sections: [{key, title, fields,
  roles?}]}]`` (``pipeline`` names one of the template's pipelines, for deals; ``roles``
  names roles of the organisation, checked when the template is compared or applied);
- ``pool_rules.yaml``: ``pool_rules: [{name, reclaim_after_days_without_followup?, ...}]``;
- ``reports.yaml``, ``targets.yaml`` and ``sample/data.yaml``: saved reports, target
  metrics with default team targets, and sample records (read by `extras`);
- ``dashboards.yaml``: ``dashboard: {tiles: [...], charts: [...]}``, the KPI tiles and
  charts the dashboards show, in order (read by `dashboards`).

Every text a person reads is ``{zh: ..., en: ...}`` (or one plain string for both).
Nothing is written here: `load` returns a `Template` or raises `TemplateError` listing
every problem as ``file:line: what to fix`` in the reader's language.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from salesops.customization import registry
from salesops.customization.expressions import ExpressionError, compile_expression
from salesops.customization.models import CustomField
from salesops.objects.metadata import spec_for
from salesops.objects.models import LINKABLE, CustomObject
from salesops.objects.services import RESERVED
from salesops.pipeline.models import ForecastCategory
from salesops.pipeline.requirements import requirable
from salesops.users.models import OBJECT_TYPES

LIBRARY = Path(__file__).resolve().parent / "library"
FILES = (
    "template.yaml",
    "picklists.yaml",
    "pipelines.yaml",
    "custom_objects.yaml",
    "custom_fields.yaml",
    "validation_rules.yaml",
    "layouts.yaml",
    "pool_rules.yaml",
    "reports.yaml",
    "targets.yaml",
    "dashboards.yaml",
)
#: The sample data set, in the template's ``sample/`` folder (see `extras`).
SAMPLE = "sample/data.yaml"
KEY = re.compile(r"[a-z][a-z0-9_]*")
#: A custom object's key: 2–20 characters (custom fields name it in a 20-character column).
OBJECT_KEY = re.compile(r"[a-z][a-z0-9_]{1,19}")
COMPUTED = {CustomField.Type.FORMULA.value, CustomField.Type.ROLLUP.value}
SELECTS = {CustomField.Type.SELECT.value, CustomField.Type.MULTI_SELECT.value}
POOL_NUMBERS = (
    "reclaim_after_days_without_followup",
    "reclaim_after_days_without_won_deal",
    "max_customers_per_rep",
    "reclaim_block_days",
    "warning_days",
)


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class TemplateError(Exception):
    """A template that cannot be applied; `problems` says where and what to fix."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass(frozen=True)
class Text:
    """A bilingual text; `pick(lang)` gives the one an instance writes."""

    zh: str
    en: str

    def pick(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en

    def names(self) -> set[str]:
        return {self.zh, self.en}


@dataclass
class Where:
    file: str
    line: int


@dataclass
class Option:
    value: str
    label: Text
    active: bool = True


@dataclass
class PicklistSpec:
    key: str
    name: Text
    options: list[Option]
    at: Where


@dataclass
class StageSpec:
    name: Text
    probability: int
    forecast_category: str
    kind: str
    renamed_from: Text | None
    at: Where
    required_fields: list[str] = field(default_factory=list)


@dataclass
class PipelineSpec:
    name: Text
    stages: list[StageSpec]
    renamed_from: Text | None
    default: bool
    active: bool
    at: Where


@dataclass
class FieldSpec:
    object_type: str
    key: str
    label: Text
    type: str
    options: list[Option]
    required: bool
    help: Text
    active: bool
    renamed_from: str | None
    at: Where
    formula: str = ""
    result_type: str = ""
    rollup: RollupSpec | None = None

    @property
    def computed(self) -> bool:
        return self.type in COMPUTED


@dataclass
class RollupSpec:
    object_type: str
    link: str
    aggregate: str
    field: str
    condition: str


@dataclass
class ObjectDef:
    """A custom object (自定义对象) the template defines."""

    key: str
    label: Text
    plural: Text
    title_label: Text
    links: list[str]
    active: bool
    at: Where


@dataclass
class RuleSpec:
    object_type: str
    name: Text
    renamed_from: Text | None
    condition: str
    message: Text
    field: str
    active: bool
    at: Where


@dataclass
class SectionSpec:
    key: str
    title: Text
    fields: list[str]
    roles: list[str]
    at: Where


@dataclass
class LayoutSpec:
    object_type: str
    pipeline: str  # a name of one of the template's pipelines ("" for the object's own)
    sections: list[SectionSpec]
    at: Where


@dataclass
class PoolRuleSpec:
    name: Text
    numbers: dict[str, int | None]
    active: bool
    at: Where


@dataclass
class Template:
    key: str
    version: int
    name: Text
    description: Text
    folder: Path
    picklists: list[PicklistSpec] = field(default_factory=list)
    pipelines: list[PipelineSpec] = field(default_factory=list)
    custom_objects: list[ObjectDef] = field(default_factory=list)
    custom_fields: list[FieldSpec] = field(default_factory=list)
    validation_rules: list[RuleSpec] = field(default_factory=list)
    layouts: list[LayoutSpec] = field(default_factory=list)
    pool_rules: list[PoolRuleSpec] = field(default_factory=list)
    #: saved reports, target metrics and targets, sample data (`extras`)
    reports: list[Any] = field(default_factory=list)
    targets: Any = None
    sample: Any = None
    #: the dashboards' layout (`dashboards.DashboardSpec`), None: left as it is
    dashboard: Any = None
    _specs: dict[str, registry.ObjectSpec] = field(default_factory=dict, repr=False, compare=False)

    def counts(self) -> dict[str, int]:
        """How many entries each section holds (stages counted with their pipelines)."""
        return {
            "picklists": len(self.picklists),
            "pipelines": len(self.pipelines),
            "stages": sum(len(p.stages) for p in self.pipelines),
            "custom_objects": len(self.custom_objects),
            "custom_fields": len(self.custom_fields),
            "validation_rules": len(self.validation_rules),
            "layouts": len(self.layouts),
            "pool_rules": len(self.pool_rules),
            "reports": len(self.reports),
            "targets": len(self.targets.targets) if self.targets else 0,
            "sample": self.sample.count() if self.sample else 0,
            "dashboard": 1 if self.dashboard else 0,
        }

    def object_spec(self, key: str) -> registry.ObjectSpec | None:
        """A built-in object type, or a custom object this template defines (its
        built-in fields only: title, links, owner, times)."""
        if key in registry.builtin_types():
            return registry.find(key)
        for o in self.custom_objects:
            if o.key == key:
                if key not in self._specs:
                    self._specs[key] = spec_for(
                        CustomObject(key=o.key, label=o.label.en, links=o.links)
                    )
                return self._specs[key]
        return None

    def fields_of(self, object_type: str) -> list[FieldSpec]:
        return [f for f in self.custom_fields if f.object_type == object_type]


def shown_path(path: Path) -> str:
    """The file as a person finds it: relative to the working directory when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


class _Reader:
    """Walks one parsed file, collecting problems with their line numbers."""

    def __init__(self, path: Path, problems: list[Problem]):
        self.file = shown_path(path)
        self.problems = problems

    def fail(self, line: int, message: str) -> None:
        self.problems.append(Problem(self.file, line, message))

    def where(self, node: Any, default: int = 1) -> Where:
        return Where(self.file, line_of(node, default))

    def mapping(self, node: Any, line: int, allowed: set[str], required: set[str]) -> bool:
        if not isinstance(node, dict):
            self.fail(line, _("Expected a mapping of keys and values here."))
            return False
        for key in node:
            if key not in allowed:
                self.fail(
                    key_line(node, key, line),
                    _("Unknown key “%(key)s”; allowed here: %(allowed)s.")
                    % {"key": key, "allowed": ", ".join(sorted(allowed))},
                )
        for key in sorted(required - set(node)):
            self.fail(line, _("The key “%(key)s” is missing.") % {"key": key})
        return not (required - set(node))

    def items(self, node: Any, key: str, line: int) -> list[tuple[int, Any]]:
        """The entries of the list under `key`, each with its line."""
        if not isinstance(node, dict) or node.get(key) is None:
            return []
        seq = node[key]
        if not isinstance(seq, list):
            self.fail(
                key_line(node, key, line), _("Expected a list under “%(key)s”.") % {"key": key}
            )
            return []
        return [(item_line(seq, i, line), item) for i, item in enumerate(seq)]

    def text(self, node: dict, key: str, line: int, *, blank: bool = False) -> Text:
        value = node.get(key)
        at = value_line(node, key, line)
        if value is None and blank:
            return Text("", "")
        if isinstance(value, str) and (value.strip() or blank):
            return Text(value.strip(), value.strip())
        if isinstance(value, dict) and set(value) == {"zh", "en"}:
            zh, en = value["zh"], value["en"]
            if (
                isinstance(zh, str)
                and isinstance(en, str)
                and ((zh.strip() and en.strip()) or blank)
            ):
                return Text(zh.strip(), en.strip())
        self.fail(
            at,
            _("“%(key)s” must be a text in both languages, written {zh: …, en: …}.") % {"key": key},
        )
        return Text("", "")

    def string(self, node: dict, key: str, line: int) -> str:
        value = node.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
        self.fail(value_line(node, key, line), _("“%(key)s” must be a text.") % {"key": key})
        return ""

    def integer(self, node: dict, key: str, line: int, low: int, high: int | None) -> int | None:
        value = node.get(key)
        if (
            isinstance(value, int)
            and not isinstance(value, bool)
            and value >= low
            and (high is None or value <= high)
        ):
            return value
        if high is None:
            message = _("“%(key)s” must be a whole number of at least %(low)s.")
        else:
            message = _("“%(key)s” must be a whole number from %(low)s to %(high)s.")
        self.fail(value_line(node, key, line), message % {"key": key, "low": low, "high": high})
        return None

    def boolean(self, node: dict, key: str, line: int, default: bool) -> bool:
        if key not in node:
            return default
        value = node[key]
        if isinstance(value, bool):
            return value
        self.fail(value_line(node, key, line), _("“%(key)s” must be true or false.") % {"key": key})
        return default

    def options(self, node: dict, line: int) -> list[Option]:
        out: list[Option] = []
        seen: set[str] = set()
        for at, item in self.items(node, "options", line):
            if not self.mapping(item, at, {"value", "label", "active"}, {"value", "label"}):
                continue
            value = item["value"]
            if (
                not isinstance(value, str | int)
                or isinstance(value, bool)
                or not str(value).strip()
            ):
                self.fail(value_line(item, "value", at), _("An option's value must be a text."))
                continue
            value = str(value).strip()
            if len(value) > 100:
                self.fail(at, _("An option's value may be at most 100 characters long."))
            if value in seen:
                self.fail(
                    at,
                    _("The option value “%(value)s” appears twice; give each option its own value.")
                    % {"value": value},
                )
            seen.add(value)
            out.append(
                Option(value, self.text(item, "label", at), self.boolean(item, "active", at, True))
            )
        return out


def line_of(node: Any, default: int = 1) -> int:
    lc = getattr(node, "lc", None)
    return lc.line + 1 if lc is not None and lc.line is not None else default


def key_line(node: Any, key: str, default: int) -> int:
    if isinstance(node, CommentedMap):
        try:
            return int(node.lc.key(key)[0]) + 1
        except (KeyError, TypeError):
            pass
    return default


def value_line(node: Any, key: str, default: int) -> int:
    if isinstance(node, CommentedMap):
        try:
            return int(node.lc.value(key)[0]) + 1
        except (KeyError, TypeError):
            return key_line(node, key, default)
    return default


def item_line(seq: Any, index: int, default: int) -> int:
    if isinstance(seq, CommentedSeq):
        try:
            return int(seq.lc.item(index)[0]) + 1
        except (KeyError, TypeError, IndexError):
            pass
    return default


def _parse(path: Path, problems: list[Problem]) -> Any:
    """The file's data, or None (absent, or broken: a problem is added)."""
    if not path.exists():
        return None
    try:
        return YAML(typ="rt").load(path.read_text(encoding="utf-8"))
    except MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark is not None else 1
        problems.append(
            Problem(
                shown_path(path),
                line,
                _("This is not valid YAML (%(problem)s); check the indentation and quoting.")
                % {"problem": e.problem or e.context or ""},
            )
        )
    except (YAMLError, UnicodeDecodeError) as e:
        problems.append(
            Problem(
                shown_path(path), 1, _("This is not valid YAML (%(problem)s).") % {"problem": e}
            )
        )
    return None


def resolve(name: str) -> Path:
    """A template folder: a path to one, or the key of a shipped template."""
    path = Path(name)
    if path.is_dir():
        return path
    return LIBRARY / name


def library() -> list[Template]:
    """The shipped templates, by key."""
    return [load(p) for p in sorted(LIBRARY.iterdir()) if (p / "template.yaml").exists()]


@dataclass
class Entry:
    """A shipped template as the gallery lists it: read, or refused with its problems."""

    key: str
    template: Template | None
    problems: list[Problem]


def catalogue() -> list[Entry]:
    """Every shipped template folder, each read or with the problems that refuse it."""
    return [shipped(p.name) for p in sorted(LIBRARY.iterdir()) if (p / "template.yaml").exists()]


def shipped(key: str) -> Entry:
    """The shipped template `key` (a folder name of the library, nothing else)."""
    folder = LIBRARY / key
    if not KEY.fullmatch(key) or not (folder / "template.yaml").exists():
        raise LookupError(key)
    try:
        return Entry(key, load(folder), [])
    except TemplateError as e:
        return Entry(key, None, e.problems)


def load(folder: Path | str) -> Template:
    """Read and check a template folder; raise `TemplateError` with every problem."""
    folder = Path(folder)
    problems: list[Problem] = []
    head = folder / "template.yaml"
    if not head.exists():
        raise TemplateError(
            [
                Problem(
                    shown_path(head),
                    1,
                    _("There is no template here: a template folder needs a template.yaml."),
                )
            ]
        )
    data = {name: _parse(folder / name, problems) for name in FILES}
    unknown = sorted(
        p.name for p in folder.iterdir() if p.suffix in {".yaml", ".yml"} and p.name not in FILES
    )
    for name in unknown:
        problems.append(
            Problem(
                shown_path(folder / name),
                1,
                _("Unknown file; a template holds %(files)s.") % {"files": ", ".join(FILES)},
            )
        )
    template = _head(folder, data["template.yaml"], _Reader(head, problems))
    template.picklists = _picklists(
        data["picklists.yaml"], _Reader(folder / "picklists.yaml", problems)
    )
    # Each section may name what the ones read before it define: the fields, custom
    # objects; stages and rules, fields; layouts, fields and pipelines.
    template.custom_objects = _objects(
        data["custom_objects.yaml"], _Reader(folder / "custom_objects.yaml", problems)
    )
    template.custom_fields = _fields(
        data["custom_fields.yaml"], _Reader(folder / "custom_fields.yaml", problems), template
    )
    template.pipelines = _pipelines(
        data["pipelines.yaml"], _Reader(folder / "pipelines.yaml", problems), template
    )
    template.validation_rules = _rules(
        data["validation_rules.yaml"], _Reader(folder / "validation_rules.yaml", problems), template
    )
    template.layouts = _layouts(
        data["layouts.yaml"], _Reader(folder / "layouts.yaml", problems), template
    )
    template.pool_rules = _pool_rules(
        data["pool_rules.yaml"], _Reader(folder / "pool_rules.yaml", problems)
    )
    from salesops.orgtemplates import extras

    template.reports = extras.read_reports(
        data["reports.yaml"], _Reader(folder / "reports.yaml", problems), template
    )
    template.targets = extras.read_targets(
        data["targets.yaml"], _Reader(folder / "targets.yaml", problems)
    )
    template.sample = extras.read_sample(
        _parse(folder / SAMPLE, problems), _Reader(folder / SAMPLE, problems), template
    )
    from salesops.orgtemplates import dashboards

    template.dashboard = dashboards.read(
        data[dashboards.FILE], _Reader(folder / dashboards.FILE, problems)
    )
    if problems:
        raise TemplateError(problems)
    return template


def _head(folder: Path, node: Any, r: _Reader) -> Template:
    t = Template("", 0, Text("", ""), Text("", ""), folder)
    if node is None and not r.problems:
        r.fail(1, _("template.yaml is empty; give the key, version, name and description."))
    if node is None or not r.mapping(
        node, 1, {"key", "version", "name", "description"}, {"key", "version", "name"}
    ):
        return t
    t.key = r.string(node, "key", 1)
    if t.key and not KEY.fullmatch(t.key):
        r.fail(
            value_line(node, "key", 1),
            _("Use lower-case letters, digits and underscores, starting with a letter."),
        )
    t.version = r.integer(node, "version", 1, 1, None) or 0
    t.name = r.text(node, "name", 1)
    t.description = r.text(node, "description", 1, blank=True)
    return t


def _root(node: Any, key: str, r: _Reader) -> Any:
    if node is None:
        return None
    r.mapping(node, 1, {key}, set())
    return node


def _picklists(node: Any, r: _Reader) -> list[PicklistSpec]:
    out: list[PicklistSpec] = []
    seen: set[str] = set()
    for at, item in r.items(_root(node, "picklists", r), "picklists", 1):
        if not r.mapping(item, at, {"key", "name", "options"}, {"key", "name"}):
            continue
        key = r.string(item, "key", at)
        if key and not KEY.fullmatch(key):
            r.fail(
                value_line(item, "key", at),
                _("Use lower-case letters, digits and underscores, starting with a letter."),
            )
        if key in seen:
            r.fail(
                at,
                _("The list “%(key)s” appears twice; give each list its own key.") % {"key": key},
            )
        seen.add(key)
        out.append(
            PicklistSpec(key, r.text(item, "name", at), r.options(item, at), r.where(item, at))
        )
    return out


def _pipelines(node: Any, r: _Reader, t: Template) -> list[PipelineSpec]:
    out: list[PipelineSpec] = []
    names: set[str] = set()
    defaults = 0
    allowed = {"name", "renamed_from", "default", "active", "stages", "won", "lost"}
    for at, item in r.items(_root(node, "pipelines", r), "pipelines", 1):
        if not r.mapping(item, at, allowed, {"name", "stages", "won", "lost"}):
            continue
        name = r.text(item, "name", at)
        if names & name.names():
            r.fail(at, _("Two pipelines have the same name; give each its own."))
        names |= name.names()
        renamed = r.text(item, "renamed_from", at) if "renamed_from" in item else None
        default = r.boolean(item, "default", at, False)
        defaults += default
        stages = _stages(item, at, r, t)
        out.append(
            PipelineSpec(
                name,
                stages,
                renamed,
                default,
                r.boolean(item, "active", at, True),
                r.where(item, at),
            )
        )
    if defaults > 1:
        r.fail(
            1, _("Only one pipeline can be the default; remove “default: true” from the others.")
        )
    return out


def requirable_keys(t: Template) -> list[str]:
    """The deal fields a stage of `t` may require: the built-in ones a person fills in
    and the template's own deal fields (not computed ones)."""
    # The organisation's own custom fields are not read: a template stands alone.
    builtin = [f.key for f in requirable(registry.get("deal").fields(custom=False))]
    return builtin + [f.key for f in t.fields_of("deal") if not f.computed and f.active]


def _stages(item: dict, at: int, r: _Reader, t: Template) -> list[StageSpec]:
    stages: list[StageSpec] = []
    names: set[str] = set()
    categories = set(ForecastCategory.values)
    allowed = {"name", "renamed_from", "probability", "forecast_category", "required_fields"}
    for sat, s in r.items(item, "stages", at):
        if not r.mapping(s, sat, allowed, {"name", "probability", "forecast_category"}):
            continue
        name = r.text(s, "name", sat)
        if names & name.names():
            r.fail(sat, _("Two stages of this pipeline have the same name; give each its own."))
        names |= name.names()
        category = s.get("forecast_category")
        if category not in categories:
            r.fail(
                value_line(s, "forecast_category", sat),
                _("Unknown forecast category “%(value)s”; use one of %(allowed)s.")
                % {"value": category, "allowed": ", ".join(ForecastCategory.values)},
            )
        stages.append(
            StageSpec(
                name,
                r.integer(s, "probability", sat, 0, 100) or 0,
                str(category),
                "open",
                r.text(s, "renamed_from", sat) if "renamed_from" in s else None,
                r.where(s, sat),
                _required(s, sat, r, t),
            )
        )
    if not stages:
        r.fail(at, _("A pipeline needs its stages, in order."))
    for kind in ("won", "lost"):
        ref = item.get(kind)
        match = [s for s in stages if isinstance(ref, str) and ref.strip() in s.name.names()]
        if not match:
            r.fail(
                value_line(item, kind, at),
                _(
                    "“%(kind)s: %(ref)s” names no stage of this pipeline; use the name of one "
                    "of its stages (%(stages)s)."
                )
                % {"kind": kind, "ref": ref, "stages": ", ".join(s.name.en for s in stages)},
            )
        elif match[0].kind != "open":
            r.fail(
                value_line(item, kind, at),
                _("The won and lost stages must be two different stages."),
            )
        else:
            match[0].kind = kind
    if stages and not any(s.kind == "open" for s in stages):
        r.fail(at, _("A pipeline needs at least one open stage besides won and lost."))
    return stages


def _required(s: dict, at: int, r: _Reader, t: Template) -> list[str]:
    """A stage's `required_fields`: deal fields a person fills in, each once."""
    if "required_fields" not in s:
        return []
    keys = s["required_fields"]
    line = value_line(s, "required_fields", at)
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        r.fail(line, _("“required_fields” must be a list of deal field keys."))
        return []
    allowed = requirable_keys(t)
    for key in keys:
        if key not in allowed:
            r.fail(
                line,
                _(
                    "“%(key)s” is not a deal field a stage can require; use a built-in deal "
                    "field a person fills in or a deal field of this template (%(allowed)s)."
                )
                % {"key": key, "allowed": ", ".join(allowed)},
            )
    return list(dict.fromkeys(keys))


def _objects(node: Any, r: _Reader) -> list[ObjectDef]:
    out: list[ObjectDef] = []
    seen: set[str] = set()
    allowed = {"key", "name", "plural", "title", "links", "active"}
    for at, item in r.items(_root(node, "custom_objects", r), "custom_objects", 1):
        if not r.mapping(item, at, allowed, {"key", "name", "title"}):
            continue
        key = r.string(item, "key", at)
        if key and not OBJECT_KEY.fullmatch(key):
            r.fail(
                value_line(item, "key", at),
                _(
                    "Use 2–20 lower-case letters, digits and underscores, starting with a "
                    "letter, e.g. site_visit."
                ),
            )
        elif key in registry.builtin_types() or key in RESERVED:
            r.fail(
                value_line(item, "key", at),
                _("“%(key)s” is a built-in name; choose another.") % {"key": key},
            )
        if key in seen:
            r.fail(
                at,
                _("The custom object “%(key)s” appears twice; give each its own key.")
                % {"key": key},
            )
        seen.add(key)
        links = item.get("links") or []
        if not isinstance(links, list) or any(link not in LINKABLE for link in links):
            r.fail(
                value_line(item, "links", at),
                _("“links” must list some of %(allowed)s.") % {"allowed": ", ".join(LINKABLE)},
            )
            links = []
        name = r.text(item, "name", at)
        out.append(
            ObjectDef(
                key,
                name,
                r.text(item, "plural", at) if "plural" in item else name,
                r.text(item, "title", at),
                [link for link in LINKABLE if link in links],
                r.boolean(item, "active", at, True),
                r.where(item, at),
            )
        )
    return out


def _fields(node: Any, r: _Reader, t: Template) -> list[FieldSpec]:
    out: list[FieldSpec] = []
    later: list[tuple[FieldSpec, Any, int]] = []
    seen: set[tuple[str, str]] = set()
    objects = {t for t, _label in OBJECT_TYPES} | {o.key for o in t.custom_objects}
    types = set(CustomField.Type.values)
    allowed = {
        "object",
        "key",
        "renamed_from",
        "label",
        "type",
        "options",
        "required",
        "help",
        "active",
        "formula",
        "result_type",
        "rollup",
    }
    for at, item in r.items(_root(node, "custom_fields", r), "custom_fields", 1):
        if not r.mapping(item, at, allowed, {"object", "key", "label", "type"}):
            continue
        obj, key, ftype = item.get("object"), r.string(item, "key", at), item.get("type")
        if obj not in objects or t.object_spec(str(obj)) is None:
            r.fail(
                value_line(item, "object", at),
                _(
                    "Unknown kind of record “%(value)s”; use one of %(allowed)s (a custom "
                    "object must be defined in custom_objects.yaml)."
                )
                % {"value": obj, "allowed": ", ".join(sorted(objects))},
            )
            obj = ""
        if ftype not in types:
            r.fail(
                value_line(item, "type", at),
                _("Unknown field type “%(value)s”; use one of %(allowed)s.")
                % {"value": ftype, "allowed": ", ".join(CustomField.Type.values)},
            )
        if key and (not KEY.fullmatch(key) or len(key) > 50):
            r.fail(
                value_line(item, "key", at),
                _("Use lower-case letters, digits and underscores, starting with a letter."),
            )
        elif key and obj and key in _builtin_keys(t, str(obj)):
            r.fail(
                value_line(item, "key", at),
                _(
                    "“%(key)s” is the name of a built-in field of this kind of record; choose another key."
                )
                % {"key": key},
            )
        if (obj, key) in seen:
            r.fail(
                at, _("The field “%(key)s” appears twice on this kind of record.") % {"key": key}
            )
        seen.add((str(obj), key))
        options = r.options(item, at)
        if ftype in SELECTS and not any(o.active for o in options):
            r.fail(at, _("A select field needs at least one active option under “options”."))
        if ftype not in SELECTS and "options" in item:
            r.fail(
                key_line(item, "options", at), _("Only select fields have options; remove them.")
            )
        renamed = r.string(item, "renamed_from", at) if "renamed_from" in item else None
        spec = FieldSpec(
            str(obj),
            key,
            r.text(item, "label", at),
            str(ftype),
            options,
            r.boolean(item, "required", at, False),
            r.text(item, "help", at, blank=True),
            r.boolean(item, "active", at, True),
            renamed,
            r.where(item, at),
        )
        later.append((spec, item, at))
        out.append(spec)
    # Formulas and roll-ups may read any field of the template, before or after them.
    t.custom_fields = out
    for spec, item, at in later:
        _computing(spec, item, at, r, t)
    return out


def _builtin_keys(t: Template, object_type: str) -> set[str]:
    if object_type in registry.builtin_types():
        return registry.builtin_keys(object_type)
    return registry.builtin_keys(object_type, spec=t.object_spec(object_type))


def own_names(t: Template, object_type: str) -> set[str]:
    """The field keys an expression on `object_type` may read: its built-in fields
    (those read through a related record too) and the template's custom fields."""
    spec = t.object_spec(object_type)
    builtin = {f.key for f in spec.fields(custom=False, derived=True)} if spec else set()
    return builtin | {f.key for f in t.fields_of(object_type)}


def _expression_problem(e: ExpressionError) -> str:
    return " ".join(str(m) for m in e.messages)


def _computing(spec: FieldSpec, item: dict, at: int, r: _Reader, t: Template) -> None:
    """A formula's expression and result type, a roll-up's settings; none for others."""
    given = [k for k in ("formula", "result_type", "rollup") if k in item]
    if spec.type == CustomField.Type.FORMULA:
        for k in given:
            if k == "rollup":
                r.fail(key_line(item, k, at), _("Only roll-up fields have “rollup”; remove it."))
        spec.formula = r.string(item, "formula", at) if "formula" in item else ""
        if "formula" not in item:
            r.fail(at, _("A formula field needs its “formula”, e.g. amount * 0.1."))
        result = item.get("result_type")
        if result not in CustomField.ResultType.values:
            r.fail(
                value_line(item, "result_type", at),
                _("“result_type” must be one of %(allowed)s.")
                % {"allowed": ", ".join(CustomField.ResultType.values)},
            )
        spec.result_type = str(result or "")
        if spec.formula and spec.object_type:
            # Its own fields, built-in ones not read through another record nor naming
            # one (a stored formula must stay exact when only this record is saved).
            obj = t.object_spec(spec.object_type)
            plain = {
                f.key
                for f in (obj.fields(custom=False) if obj else [])
                if not f.derived and f.type not in (registry.REF, registry.MANY_REF)
            }
            known = plain | {f.key for f in t.fields_of(spec.object_type)}
            known.discard(spec.key)
            try:
                compile_expression(spec.formula, object_type=spec.object_type, known=known)
            except ExpressionError as e:
                r.fail(value_line(item, "formula", at), _expression_problem(e))
        if spec.required:
            r.fail(at, _("A formula or roll-up is computed: it cannot be required."))
        return
    if spec.type == CustomField.Type.ROLLUP:
        for k in given:
            if k != "rollup":
                r.fail(key_line(item, k, at), _("Only formula fields have “%(key)s”.") % {"key": k})
        spec.rollup = _rollup(item, at, r, t, spec.object_type)
        if spec.required:
            r.fail(at, _("A formula or roll-up is computed: it cannot be required."))
        return
    for k in given:
        r.fail(
            key_line(item, k, at),
            _("Only formula and roll-up fields have “%(key)s”; remove it.") % {"key": k},
        )


def _rollup(item: dict, at: int, r: _Reader, t: Template, parent: str) -> RollupSpec | None:
    node = item.get("rollup")
    line = value_line(item, "rollup", at)
    if node is None:
        r.fail(at, _("A roll-up field needs “rollup: {object, link, aggregate, field}”."))
        return None
    if not r.mapping(
        node, line, {"object", "link", "aggregate", "field", "condition"}, {"object", "aggregate"}
    ):
        return None
    child = str(node.get("object") or "")
    spec = RollupSpec(
        child,
        str(node.get("link") or parent),
        str(node.get("aggregate") or ""),
        str(node.get("field") or ""),
        str(node.get("condition") or "").strip(),
    )
    child_spec = t.object_spec(child)
    if child_spec is None or child == parent:
        r.fail(
            value_line(node, "object", line),
            _(
                "“%(value)s” is no kind of record to roll up; use a built-in object or a "
                "custom object of this template."
            )
            % {"value": child},
        )
        return spec
    links = [
        f.key
        for f in child_spec.base_fields
        if f.type == registry.REF and f.ref == parent and not f.derived and f.attname
    ]
    if spec.link not in links:
        r.fail(
            value_line(node, "link", line),
            _(
                "These records have no reference “%(name)s” to this kind of record; use one of: %(options)s."
            )
            % {"name": spec.link, "options": ", ".join(links) or "-"},
        )
    if spec.aggregate not in CustomField.Aggregate.values:
        r.fail(
            value_line(node, "aggregate", line),
            _("“aggregate” must be one of %(allowed)s.")
            % {"allowed": ", ".join(CustomField.Aggregate.values)},
        )
    elif spec.aggregate != CustomField.Aggregate.COUNT:
        numeric = {f.key for f in child_spec.fields(custom=False) if f.type in registry.NUMERIC}
        numeric |= {
            f.key
            for f in t.custom_fields
            if f.object_type == child
            and f.type in (CustomField.Type.NUMBER, CustomField.Type.MONEY)
        }
        dates = {f.key for f in child_spec.fields(custom=False) if f.type == registry.DATE}
        dates |= {f.key for f in t.custom_fields if f.object_type == child and f.type == "date"}
        allowed = numeric | (dates if spec.aggregate != CustomField.Aggregate.SUM else set())
        if spec.field not in allowed:
            r.fail(
                value_line(node, "field", line),
                _("“%(name)s” is no field of these records that can be rolled up this way.")
                % {"name": spec.field or "-"},
            )
    if spec.condition:
        try:
            compile_expression(spec.condition, object_type=child, known=own_names(t, child))
        except ExpressionError as e:
            r.fail(value_line(node, "condition", line), _expression_problem(e))
    return spec


def _rules(node: Any, r: _Reader, t: Template) -> list[RuleSpec]:
    out: list[RuleSpec] = []
    seen: set[tuple[str, str]] = set()
    allowed = {"object", "name", "renamed_from", "condition", "message", "field", "active"}
    ruled = {s.key for s in registry.objects(custom=False) if s.field_security or s.customisable}
    ruled |= {o.key for o in t.custom_objects}
    for at, item in r.items(_root(node, "validation_rules", r), "validation_rules", 1):
        if not r.mapping(item, at, allowed, {"object", "name", "condition", "message"}):
            continue
        obj = str(item.get("object") or "")
        if obj not in ruled:
            r.fail(
                value_line(item, "object", at),
                _("Unknown kind of record “%(value)s”; use one of %(allowed)s.")
                % {"value": obj, "allowed": ", ".join(sorted(ruled))},
            )
            obj = ""
        name = r.text(item, "name", at)
        if any((obj, n) in seen for n in name.names()):
            r.fail(at, _("Two rules of this kind of record have the same name; give each its own."))
        seen |= {(obj, n) for n in name.names()}
        condition = r.string(item, "condition", at)
        if condition and obj:
            try:
                compile_expression(condition, object_type=obj, known=own_names(t, obj))
            except ExpressionError as e:
                r.fail(value_line(item, "condition", at), _expression_problem(e))
        message = r.text(item, "message", at, blank=True)
        if not (message.zh or message.en):
            r.fail(
                value_line(item, "message", at),
                _("Write the message people see when the rule refuses a record."),
            )
        field_key = str(item.get("field") or "")
        if field_key and obj:
            spec = t.object_spec(obj)
            own = {f.key for f in spec.fields(custom=False)} if spec else set()
            own |= {f.key for f in t.fields_of(obj)}
            if field_key not in own:
                r.fail(
                    value_line(item, "field", at),
                    _("There is no field “%(key)s” on this kind of record.") % {"key": field_key},
                )
        out.append(
            RuleSpec(
                obj,
                name,
                r.text(item, "renamed_from", at) if "renamed_from" in item else None,
                condition,
                message,
                field_key,
                r.boolean(item, "active", at, True),
                r.where(item, at),
            )
        )
    return out


def _layouts(node: Any, r: _Reader, t: Template) -> list[LayoutSpec]:
    from salesops.customization.layouts import SECTION_KEY

    out: list[LayoutSpec] = []
    seen: set[tuple[str, str]] = set()
    # The built-in objects with a record page, and the custom objects this template
    # defines (their record pages follow layouts too).
    types = {s.key for s in registry.objects(custom=False) if s.detail_url}
    types |= {o.key for o in t.custom_objects}
    for at, item in r.items(_root(node, "layouts", r), "layouts", 1):
        if not r.mapping(item, at, {"object", "pipeline", "sections"}, {"object", "sections"}):
            continue
        obj = str(item.get("object") or "")
        if obj not in types:
            r.fail(
                value_line(item, "object", at),
                _("There is no record page for “%(value)s” to lay out; use one of %(allowed)s.")
                % {"value": obj, "allowed": ", ".join(sorted(types))},
            )
            continue
        pipeline = ""
        if item.get("pipeline") is not None:
            pipeline = str(item["pipeline"]).strip()
            names = {n for p in t.pipelines for n in p.name.names()}
            if obj != "deal":
                r.fail(
                    value_line(item, "pipeline", at), _("Only deals have a layout per pipeline.")
                )
            elif pipeline not in names:
                r.fail(
                    value_line(item, "pipeline", at),
                    _("“%(value)s” names no pipeline of this template.") % {"value": pipeline},
                )
        pipe = next((p for p in t.pipelines if pipeline in p.name.names()), None)
        ident = pipe.name.en if pipe else pipeline
        if (obj, ident) in seen:
            r.fail(at, _("This layout appears twice; give each object (or pipeline) one layout."))
        seen.add((obj, ident))
        spec = t.object_spec(obj)
        assert spec is not None  # a built-in type or one of the template's objects
        known = {
            f.key
            for f in spec.fields(custom=False)
            if not f.internal and not f.derived and f.type != registry.JSON
        } | {f.key for f in t.fields_of(obj)}
        sections: list[SectionSpec] = []
        keys: set[str] = set()
        placed: set[str] = set()
        for i, (sat, s) in enumerate(r.items(item, "sections", at), start=1):
            if not r.mapping(s, sat, {"key", "title", "fields", "roles"}, {"title"}):
                continue
            key = str(s.get("key") or f"section_{i}")
            if not SECTION_KEY.fullmatch(key):
                r.fail(
                    value_line(s, "key", sat),
                    _("Use lower-case letters, digits and underscores, starting with a letter."),
                )
            if key in keys:
                r.fail(sat, _("Two sections have the key “%(key)s”.") % {"key": key})
            keys.add(key)
            title = r.text(s, "title", sat, blank=True)
            if not (title.zh or title.en):
                r.fail(sat, _("Give the section a title."))
            fields = _strings(s, "fields", sat, r)
            for f in fields:
                if f not in known:
                    r.fail(
                        value_line(s, "fields", sat),
                        _(
                            "There is no field “%(key)s” on this kind of record (neither built "
                            "in nor in custom_fields.yaml)."
                        )
                        % {"key": f},
                    )
                elif f in placed:
                    r.fail(
                        value_line(s, "fields", sat),
                        _("The field “%(key)s” is placed twice; place each field in one section.")
                        % {"key": f},
                    )
                placed.add(f)
            sections.append(
                SectionSpec(key, title, fields, _strings(s, "roles", sat, r), r.where(s, sat))
            )
        if not sections:
            r.fail(at, _("A layout needs its sections, in order."))
        out.append(LayoutSpec(obj, pipeline, sections, r.where(item, at)))
    return out


def _strings(node: dict, key: str, line: int, r: _Reader) -> list[str]:
    value = node.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        r.fail(value_line(node, key, line), _("“%(key)s” must be a list of names.") % {"key": key})
        return []
    return [v.strip() for v in value]


def _pool_rules(node: Any, r: _Reader) -> list[PoolRuleSpec]:
    out: list[PoolRuleSpec] = []
    allowed = {"name", "active", *POOL_NUMBERS}
    for at, item in r.items(_root(node, "pool_rules", r), "pool_rules", 1):
        if not r.mapping(item, at, allowed, {"name"}):
            continue
        numbers = {
            k: (r.integer(item, k, at, 0, 36500) if item.get(k) is not None else None)
            for k in POOL_NUMBERS
        }
        out.append(
            PoolRuleSpec(
                r.text(item, "name", at),
                numbers,
                r.boolean(item, "active", at, True),
                r.where(item, at),
            )
        )
    if sum(1 for p in out if p.active) > 1:
        r.fail(
            1,
            _(
                "Only one organisation-wide pool rule can be active; set “active: false” on the others."
            ),
        )
    return out
