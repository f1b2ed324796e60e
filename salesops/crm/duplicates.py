"""Likely duplicates among the leads, customers or contacts a person may see, grouped
by a normalised key: the company name, a phone number or an e-mail address.

The keys are stored on the records (`crm.models.customers.Mergeable`, computed by the
one rule in `lib.dedup`) and indexed with the owner, so the grouping is one SQL
`GROUP BY` over an index, within the person's data scope (`visible_to`). A key read
from a field the field policy hides from the person is never used: grouping by it
would tell them that two records share a value they may not see.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from salesops.crm.models.customers import KEY_FUNCTIONS
from salesops.customization import policy
from salesops.lib.models import Viewer

#: What the finder groups by, and the kind of key (`Mergeable.dedup_sources`) it reads.
BY = {"name": "company", "phone": "phone", "email": "email"}
BY_LABELS = {"name": _("Name"), "phone": _("Phone"), "email": _("E-mail")}
#: Rows whose keys are computed per statement when filling missing keys.
FILL_BATCH = 2000


@dataclass
class Page:
    #: [(key, [record ids])], in key order.
    groups: list[tuple[str, list[int]]]
    #: The key to continue after (None: this is the last page).
    after: str | None
    #: How many groups there are in all.
    total: int


def sources(model: Any, by: str) -> list[tuple[str, str]]:
    """(key column, field it is read from) of `model` for grouping `by`."""
    kind = BY.get(by)
    return [(col, src) for col, (src, k) in model.dedup_sources.items() if k == kind]


def usable(user: Viewer, object_type: str, model: Any) -> list[str]:
    """What `user` may group `model`'s records by: keys read from a field they may see."""
    hidden = policy.hidden_keys(user, object_type)
    return [by for by in BY if any(src not in hidden for _c, src in sources(model, by))]


def fill_keys(model: Any) -> int:
    """Compute the keys of rows written without `save()` (bulk loads): NULL keys.
    Returns how many rows were filled."""
    columns = list(model.dedup_sources)
    fields = [src for src, _k in model.dedup_sources.values()]
    missing = Q()
    for col in columns:
        missing |= Q(**{f"{col}__isnull": True})
    qn = connection.ops.quote_name
    table, pk = qn(model._meta.db_table), qn(model._meta.pk.column)
    # SQLite names a VALUES list's columns column1, column2…; PostgreSQL takes names.
    names = ["column1", *(f"column{n + 2}" for n in range(len(columns)))]
    alias = "v" if connection.vendor == "sqlite" else f"v({', '.join(names)})"
    sets = ", ".join(f"{qn(c)} = v.{names[n + 1]}" for n, c in enumerate(columns))
    row = "(" + ", ".join(["%s"] * (len(columns) + 1)) + ")"
    functions = [KEY_FUNCTIONS[kind] for _src, kind in model.dedup_sources.values()]
    filled = 0
    while True:
        rows = list(
            model._base_manager.filter(missing)
            .order_by("pk")
            .values_list("pk", *fields)[:FILL_BATCH]
        )
        if not rows:
            return filled
        params: list[Any] = []
        for found in rows:
            params.append(found[0])
            params.extend(fn(value or "") for fn, value in zip(functions, found[1:], strict=True))
        # One statement per batch (names from the model, quoted; values are parameters).
        sql = (
            f"UPDATE {table} SET {sets} FROM (VALUES {', '.join([row] * len(rows))}) "  # noqa: S608
            f"AS {alias} WHERE {table}.{pk} = v.column1"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
        filled += len(rows)


def find(
    user: Viewer, object_type: str, model: Any, by: str, *, after: str = "", limit: int = 50
) -> Page:
    """One page of groups of at least two records `user` may see that share a key."""
    if by not in usable(user, object_type, model):
        # As for an unknown or hidden field anywhere (`policy.field_for`).
        raise policy.FieldRefused(
            _("There is no field “%(key)s” you may use here.") % {"key": by}, code="unknown"
        )
    fill_keys(model)
    hidden = policy.hidden_keys(user, object_type)
    columns = [col for col, src in sources(model, by) if src not in hidden]
    base = model.objects.visible_to(user).order_by()
    if base.query.is_empty():
        return Page(groups=[], after=None, total=0)

    def grouped(after: str) -> tuple[str, list[Any]]:
        parts: list[str] = []
        params: list[Any] = []
        for col in columns:
            qs = base.filter(**{f"{col}__gt": after}).annotate(k=F(col)).values_list("k", "pk")
            sql, p = qs.query.sql_with_params()
            parts.append(f"SELECT * FROM ({sql}) AS p{len(parts)}")  # noqa: S608
            params.extend(p)
        # Compiled by the ORM from the models (no user input in the text); values are
        # parameters.
        return (
            f"SELECT u.k FROM ({' UNION ALL '.join(parts)}) AS u "  # noqa: S608
            "GROUP BY u.k HAVING COUNT(DISTINCT u.pk) > 1",
            params,
        )

    with connection.cursor() as cursor:
        sql, params = grouped(after)
        cursor.execute(f"{sql} ORDER BY u.k LIMIT %s", [*params, limit + 1])
        keys = [row[0] for row in cursor.fetchall()]
        total = len(keys)
        if after or total > limit:
            sql, params = grouped("")
            cursor.execute(f"SELECT COUNT(*) FROM ({sql}) AS g", params)  # noqa: S608
            total = cursor.fetchone()[0]
    more = len(keys) > limit
    keys = keys[:limit]
    members: dict[str, set[int]] = {k: set() for k in keys}
    for col in columns:
        for key, pk in base.filter(**{f"{col}__in": keys}).values_list(col, "pk"):
            members[key].add(pk)
    return Page(
        groups=[(k, sorted(members[k])) for k in keys],
        after=keys[-1] if more else None,
        total=total,
    )
