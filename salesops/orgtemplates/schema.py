"""Reading an industry template: a folder of YAML files, checked against the schema.

A template is a folder (``library/<key>/`` for the shipped ones) holding:

- ``template.yaml``: key, version, name {zh, en}, description {zh, en};
- ``picklists.yaml``: ``picklists: [{key, name, options: [{value, label, active?}]}]``;
- ``pipelines.yaml``: ``pipelines: [{name, renamed_from?, default?, active?, stages:
  [{name, renamed_from?, probability, forecast_category}], won: STAGE, lost: STAGE}]``
  (the stages in order; ``won`` and ``lost`` name the closing stages, the others are open);
- ``custom_fields.yaml``: ``custom_fields: [{object, key, renamed_from?, label, type,
  options?, required?, help?, active?}]`` (order within an object = order in the file);
- ``pool_rules.yaml``: ``pool_rules: [{name, reclaim_after_days_without_followup?, ...}]``.

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
from salesops.customization.models import CustomField
from salesops.pipeline.models import ForecastCategory
from salesops.users.models import OBJECT_TYPES

LIBRARY = Path(__file__).resolve().parent / "library"
FILES = (
    "template.yaml",
    "picklists.yaml",
    "pipelines.yaml",
    "custom_fields.yaml",
    "pool_rules.yaml",
)
KEY = re.compile(r"[a-z][a-z0-9_]*")
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
    custom_fields: list[FieldSpec] = field(default_factory=list)
    pool_rules: list[PoolRuleSpec] = field(default_factory=list)


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
    template.pipelines = _pipelines(
        data["pipelines.yaml"], _Reader(folder / "pipelines.yaml", problems)
    )
    template.custom_fields = _fields(
        data["custom_fields.yaml"], _Reader(folder / "custom_fields.yaml", problems)
    )
    template.pool_rules = _pool_rules(
        data["pool_rules.yaml"], _Reader(folder / "pool_rules.yaml", problems)
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


def _pipelines(node: Any, r: _Reader) -> list[PipelineSpec]:
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
        stages = _stages(item, at, r)
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


def _stages(item: dict, at: int, r: _Reader) -> list[StageSpec]:
    stages: list[StageSpec] = []
    names: set[str] = set()
    categories = set(ForecastCategory.values)
    allowed = {"name", "renamed_from", "probability", "forecast_category"}
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


def _fields(node: Any, r: _Reader) -> list[FieldSpec]:
    out: list[FieldSpec] = []
    seen: set[tuple[str, str]] = set()
    objects = {t for t, _label in OBJECT_TYPES}
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
    }
    for at, item in r.items(_root(node, "custom_fields", r), "custom_fields", 1):
        if not r.mapping(item, at, allowed, {"object", "key", "label", "type"}):
            continue
        obj, key, ftype = item.get("object"), r.string(item, "key", at), item.get("type")
        if obj not in objects or registry.find(str(obj)) is None:
            r.fail(
                value_line(item, "object", at),
                _("Unknown kind of record “%(value)s”; use one of %(allowed)s.")
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
        elif key and obj and key in registry.builtin_keys(str(obj)):
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
        out.append(
            FieldSpec(
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
        )
    return out


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
