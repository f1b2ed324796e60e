"""A custom field's stored value as an SQL expression, the same text in queries and in
the expression indexes that serve them.

Django's JSON key transforms pass the key as a query parameter, and SQLite matches an
expression index only against the very same expression text, so a `custom__score`
filter could never use an index there. `CustomValue` writes the key into the SQL as a
literal — safe because a custom field's key is checked to be `[a-z][a-z0-9_]*` when it
is created, and checked again here — so that queries and indexes read alike on both
databases (decision 0013).
"""

from __future__ import annotations

import re
from typing import Any

from django.db import models
from django.db.models import Expression

from salesops.customization import registry

_KEY = re.compile(r"^[a-z][a-z0-9_]*$")


class CustomValue(Expression):
    """The value of custom field `key` of the row: text, or a number for numeric types
    (amounts are stored as decimal strings), compared and sorted as such."""

    _alias: str | None = None

    def __init__(self, key: str, numeric: bool = False, column: str = "custom") -> None:
        if not _KEY.match(key) or not _KEY.match(column):
            raise ValueError(f"not a field key: {key!r}")
        self.key, self.numeric, self.column = key, numeric, column
        output: models.Field[Any, Any] = models.FloatField() if numeric else models.TextField()
        super().__init__(output_field=output)

    def __repr__(self) -> str:
        return f"CustomValue({self.key!r}, numeric={self.numeric})"

    def get_group_by_cols(self) -> list[Any]:
        return [self]

    def resolve_expression(self, query: Any = None, *args: Any, **kwargs: Any) -> Any:
        clone = self.copy()
        clone.is_summary = False
        # In an index's DDL (alias_cols off) the column is named without its table.
        qualified = query is not None and getattr(query, "alias_cols", True)
        clone._alias = query.get_initial_alias() if qualified else None
        return clone

    def _column(self, compiler: Any) -> str:
        alias = getattr(self, "_alias", None)
        qn = compiler.quote_name
        return f"{qn(alias)}.{qn(self.column)}" if alias else qn(self.column)

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        sql = f"json_extract({self._column(compiler)}, '$.{self.key}')"
        if self.numeric:
            sql = f"CAST({sql} AS REAL)"
        return sql, []

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        sql = f"({self._column(compiler)} ->> '{self.key}')"
        if self.numeric:
            sql = f"({sql})::double precision"
        return sql, []

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:  # type: ignore[override]
        raise NotImplementedError(f"custom values on {connection.vendor}")


def value_of(f: registry.FieldSpec) -> CustomValue:
    """The SQL expression of custom field `f`'s value (numbers as numbers)."""
    return CustomValue(f.key, numeric=f.type in registry.NUMERIC)
