"""Layouts: how a record page and the forms of an object type group and order its
fields (per pipeline for deals), and which roles see each section.

A layout is a presentation, not a permission. The field policy decides what a person
may see or set (`policy.visible_fields`); the layout only arranges those fields. A
section limited to some roles is not shown to anyone else: its fields are neither on
their page nor in their forms. A field placed in no section (e.g. a custom field
created after the layout) is shown under "Other fields", so nothing is ever lost.
Without a layout, a page shows one section of every field in the registry's order.

The stored layouts are cached a few seconds per process and forgotten at once when one
is saved in this process (`signals`), as the custom-field definitions are.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.utils import translation
from django.utils.translation import gettext as _

from salesops.customization import policy, registry
from salesops.customization.models import Layout
from salesops.customization.registry import FieldSpec
from salesops.lib.cache import TTLCache
from salesops.users.admin_services import is_admin

#: The key of the one section shown when there is no layout.
DEFAULT = ""
#: The key of the trailing section of fields placed in no section.
OTHER = "_other"
SECTION_KEY = re.compile(r"[a-z][a-z0-9_]{0,39}")


@dataclass
class Section:
    """One section as a person sees it: its heading in their language and the fields
    they may see in it, in order."""

    title: str
    fields: list[FieldSpec] = field(default_factory=list)
    key: str = DEFAULT


_layouts = TTLCache(5.0)


def forget_layouts(**_kwargs: Any) -> None:
    _layouts.clear()


def _pipeline_id(pipeline: Any) -> int | None:
    if pipeline is None or pipeline == "":
        return None
    pk = getattr(pipeline, "pk", pipeline)
    return int(pk) if pk is not None else None


def stored(object_type: str) -> dict[int | None, list[dict[str, Any]]]:
    """The layouts of `object_type`, keyed by pipeline id (None: the object's own)."""
    return _layouts.get(
        object_type,
        lambda: {
            row.pipeline_id: list(row.sections or [])
            for row in Layout.objects.filter(object_type=object_type)
        },
    )


def layout_of(object_type: str, *, pipeline: Any = None) -> list[dict[str, Any]] | None:
    """The stored sections that apply: a deal's pipeline's layout when it has one, else
    the object's; None when there is no layout."""
    rows = stored(object_type)
    pid = _pipeline_id(pipeline) if object_type == "deal" else None
    if pid is not None and pid in rows:
        return rows[pid]
    return rows.get(None)


def layout_types() -> list[registry.ObjectSpec]:
    """The object types that have a record page, and so a layout: the built-in ones
    with a record page, then the active custom objects (自定义对象)."""
    return [s for s in registry.objects() if s.detail_url or s.is_custom_object]


def placeable(object_type: str) -> list[FieldSpec]:
    """The fields a layout may place: the object's own (built-in and active custom), as
    a record page shows them (not internal columns nor raw JSON)."""
    return [f for f in registry.get(object_type).fields() if _placeable(f)]


def _placeable(f: FieldSpec) -> bool:
    return not f.internal and not f.derived and f.type != registry.JSON


def title_of(section: dict[str, Any]) -> str:
    """A section's heading in the reader's language (the other language's if empty)."""
    zh = (translation.get_language() or "").lower().startswith("zh")
    first, second = ("title_zh", "title_en") if zh else ("title_en", "title_zh")
    return str(section.get(first) or section.get(second) or section.get("key") or "")


def shown_to(user: Any, section: dict[str, Any]) -> bool:
    """Whether a section is shown to `user`: it names no roles, or the user's role, or
    the user administers the organisation (who sets layouts up sees every section)."""
    roles = section.get("roles") or []
    if not roles or is_admin(user):
        return True
    return getattr(user, "role_id", None) in roles


def sections_for(user: Any, object_type: str, *, pipeline: Any = None) -> list[Section]:
    """The sections of `object_type`'s record page and forms for `user`: the fields the
    field policy lets them see, grouped and ordered by the layout (a deal's pipeline's
    when it has one), less the sections not shown to their role, then "Other fields"
    with the visible fields the layout places nowhere. Empty sections are left out.
    Without a layout: one section of every visible field in the registry's order."""
    visible = [f for f in policy.visible_fields(user, object_type) if _placeable(f)]
    layout = layout_of(object_type, pipeline=pipeline)
    if layout is None:
        return [Section(title=_("Details"), fields=visible, key=DEFAULT)] if visible else []
    by_key = {f.key: f for f in visible}
    placed: set[str] = set()
    out: list[Section] = []
    for stored_section in layout:
        keys = [str(k) for k in stored_section.get("fields") or []]
        placed.update(keys)
        if not shown_to(user, stored_section):
            continue
        specs = [by_key[k] for k in keys if k in by_key]
        if specs:
            out.append(
                Section(title=title_of(stored_section), fields=specs, key=stored_section["key"])
            )
    rest = [f for f in visible if f.key not in placed]
    if rest:
        out.append(Section(title=_("Other fields"), fields=rest, key=OTHER))
    return out


def arrange(
    user: Any, object_type: str, specs: Iterable[FieldSpec], *, pipeline: Any = None
) -> list[Section]:
    """`specs` (a form's or a page's fields) grouped and ordered as `sections_for`
    gives them to `user`; a field of a section not shown to them is left out (it is
    not in their form, so a post naming it changes nothing). Without a layout: one
    section of `specs` as given."""
    specs = list(specs)
    if layout_of(object_type, pipeline=pipeline) is None:
        return [Section(title=_("Details"), fields=specs, key=DEFAULT)] if specs else []
    given = {f.key: f for f in specs}
    out = []
    for section in sections_for(user, object_type, pipeline=pipeline):
        mine = [given[f.key] for f in section.fields if f.key in given]
        if mine:
            out.append(Section(title=section.title, fields=mine, key=section.key))
    return out


def flat(sections: Iterable[Section]) -> list[FieldSpec]:
    return [f for s in sections for f in s.fields]


def has_headings(sections: list[Section]) -> bool:
    """Whether the sections come from a layout (and are shown with their headings)."""
    return any(s.key != DEFAULT for s in sections)


# -- editing a layout (the settings page; `admin_services.save_layout` checks and saves) --


def starting_sections(object_type: str, *, pipeline: Any = None) -> list[dict[str, Any]]:
    """The sections an editor starts from: the layout that applies now, or one section
    of every field in the registry's order."""
    current = layout_of(object_type, pipeline=pipeline)
    if current is not None:
        return [dict(s) for s in current]
    with translation.override("zh-hans"):
        title_zh = _("Details")
    with translation.override("en"):
        title_en = _("Details")
    keys = [f.key for f in placeable(object_type)]
    return [{"key": "details", "title_zh": title_zh, "title_en": title_en, "fields": keys, "roles": []}]  # fmt: skip


def _copy(sections: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {**s, "fields": list(s.get("fields") or []), "roles": list(s.get("roles") or [])}
        for s in sections
    ]


def _index(sections: list[dict[str, Any]], key: str) -> int:
    for i, s in enumerate(sections):
        if s.get("key") == key:
            return i
    raise KeyError(key)


def new_key(sections: list[dict[str, Any]]) -> str:
    taken = {s.get("key") for s in sections}
    n = len(sections) + 1
    while f"section_{n}" in taken:
        n += 1
    return f"section_{n}"


def add_section(
    sections: list[dict[str, Any]], *, title_zh: str, title_en: str
) -> list[dict[str, Any]]:
    out = _copy(sections)
    out.append(
        {
            "key": new_key(out),
            "title_zh": title_zh.strip(),
            "title_en": title_en.strip(),
            "fields": [],
            "roles": [],
        }
    )
    return out


def change_section(
    sections: list[dict[str, Any]],
    key: str,
    *,
    title_zh: str | None = None,
    title_en: str | None = None,
    roles: list[int] | None = None,
) -> list[dict[str, Any]]:
    out = _copy(sections)
    s = out[_index(out, key)]
    if title_zh is not None:
        s["title_zh"] = title_zh.strip()
    if title_en is not None:
        s["title_en"] = title_en.strip()
    if roles is not None:
        s["roles"] = sorted(set(roles))
    return out


def remove_section(sections: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    """The section goes; its fields are placed nowhere (shown under "Other fields")."""
    out = _copy(sections)
    del out[_index(out, key)]
    return out


def _step(rows: list[Any], index: int, step: int) -> None:
    other = index + step
    if 0 <= index < len(rows) and 0 <= other < len(rows):
        rows[index], rows[other] = rows[other], rows[index]


def move_section(sections: list[dict[str, Any]], key: str, step: int) -> list[dict[str, Any]]:
    out = _copy(sections)
    _step(out, _index(out, key), 1 if step > 0 else -1)
    return out


def place_field(
    sections: list[dict[str, Any]], field_key: str, section_key: str
) -> list[dict[str, Any]]:
    """Put a field at the end of section `section_key` ("" : in no section)."""
    out = _copy(sections)
    current = next((s for s in out if field_key in s["fields"]), None)
    if current is not None and current["key"] == section_key:
        return out
    target = out[_index(out, section_key)] if section_key else None
    if current is not None:
        current["fields"].remove(field_key)
    if target is not None:
        target["fields"].append(field_key)
    return out


def move_field(sections: list[dict[str, Any]], field_key: str, step: int) -> list[dict[str, Any]]:
    """Move a field one place up or down within its section."""
    out = _copy(sections)
    for s in out:
        if field_key in s["fields"]:
            _step(s["fields"], s["fields"].index(field_key), 1 if step > 0 else -1)
            break
    return out
