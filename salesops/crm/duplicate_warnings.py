"""Duplicate warnings: a lead, customer or contact entered by hand (pages, API) that
looks like one that exists, by normalised company name, phone number or e-mail (the
object's `dedupe` keys in the registry, compared by `lib.dedup`, as imports do).

What the check may use is what the person may see: only records within their data
scope are candidates, and only fields their role does not hide are compared. A hidden
phone number is never compared, so typing numbers cannot probe for a value the person
may not read; a candidate is told by its id, name and link, and which visible fields
matched.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import ngettext

from salesops.customization import policy, registry
from salesops.lib.dedup import company_key, company_probe, email_key, phone_match_key

#: The objects whose hand-made records are checked.
CHECKED = ("lead", "customer", "contact")
#: Candidates a warning names at most.
SHOWN = 10
#: Rows read to confirm candidates narrowed by the database.
READ = 2000


@dataclass(frozen=True)
class Candidate:
    pk: int
    name: str
    url: str
    #: Keys of the fields that matched (all visible to the person asking).
    matched: tuple[str, ...]

    def labels(self, object_type: str) -> list[str]:
        return [registry.label_of(object_type, k) for k in self.matched]


class PossibleDuplicates(ValidationError):
    """The record looks like existing ones (`candidates`); save it anyway by asking for
    it explicitly (`allow_duplicate`)."""

    def __init__(self, object_type: str, candidates: list[Candidate]) -> None:
        names = "、".join(f"“{c.name}”" for c in candidates[:3])
        message = ngettext(
            "This looks like a record that already exists: %(names)s. Open it to check, "
            "or save anyway.",
            "This looks like %(count)s records that already exist: %(names)s. Open them "
            "to check, or save anyway.",
            len(candidates),
        ) % {"names": names, "count": len(candidates)}
        super().__init__(message, code="duplicate")
        self.object_type = object_type
        self.candidates = candidates


def compared_fields(user: Any, object_type: str) -> dict[str, list[str]]:
    """The keys compared for `user`, by kind ("name", "phone", "email"): the object's
    dedupe keys ("company" is the company field, or the record's name when it has none)
    less those hidden from them."""
    spec = registry.get(object_type)
    hidden = policy.hidden_keys(user, object_type)
    out: dict[str, list[str]] = {"name": [], "phone": [], "email": []}
    for key in spec.dedupe:
        if key == "company":
            field = spec.field("company", derived=False)
            out["name"].append(field.key if field else spec.title_field)
        elif key in ("phone", "mobile"):
            out["phone"].append(key)
        elif key == "email":
            out["email"].append(key)
    return {kind: [k for k in keys if k not in hidden] for kind, keys in out.items()}


def _wanted(fields: dict[str, list[str]], values: dict[str, Any]) -> dict[str, set[str]]:
    def typed(kind: str, key_of: Any) -> set[str]:
        out = {key_of(str(values[k])) for k in fields[kind] if values.get(k)}
        return out - {""}

    return {
        "name": typed("name", company_key),
        "phone": typed("phone", phone_match_key),
        "email": typed("email", email_key),
    }


def _narrow(fields: dict[str, list[str]], values: dict[str, Any], wanted: dict) -> Q:
    """A condition every candidate meets (the database narrows; Python decides)."""
    condition = Q()
    for key in fields["name"]:
        if values.get(key) and (probe := company_probe(str(values[key]))):
            for other in fields["name"]:
                condition |= Q(**{f"{other}__icontains": probe})
    for number in wanted["phone"]:
        for key in fields["phone"]:
            condition |= Q(**{f"{key}__contains": number[-4:]})
    for address in wanted["email"]:
        for key in fields["email"]:
            condition |= Q(**{f"{key}__iexact": address})
    return condition


def find(
    *, by: Any, object_type: str, values: dict[str, Any], exclude_pk: Any = None
) -> list[Candidate]:
    """Records of `object_type` that `by` may see and that look like `values` (the
    fields being saved), best first; none when nothing comparable was given."""
    spec = registry.get(object_type)
    fields = compared_fields(by, object_type)
    wanted = _wanted(fields, values)
    if not any(wanted.values()):
        return []
    qs = spec.visible(by).filter(_narrow(fields, values, wanted))
    if exclude_pk is not None:
        qs = qs.exclude(pk=exclude_pk)
    keys = {k for ks in fields.values() for k in ks} | {spec.title_field}
    found = []
    for row in qs.order_by("-pk").values("pk", *keys)[:READ]:
        matched = [
            k
            for kind, key_of in (
                ("name", company_key),
                ("phone", phone_match_key),
                ("email", email_key),
            )
            for k in fields[kind]
            if row[k] and key_of(str(row[k])) in wanted[kind]
        ]
        if matched:
            name = str(row[spec.title_field] or row["pk"])
            found.append(Candidate(row["pk"], name, spec.record_url(row["pk"]), tuple(matched)))
    found.sort(key=lambda c: -len(c.matched))
    return found[:SHOWN]


def check(*, by: Any, object_type: str, values: dict[str, Any], exclude_pk: Any = None) -> None:
    """Raise PossibleDuplicates when `values` look like records `by` may see."""
    candidates = find(by=by, object_type=object_type, values=values, exclude_pk=exclude_pk)
    if candidates:
        raise PossibleDuplicates(object_type, candidates)


def keys_of(user: Any, object_type: str) -> set[str]:
    """Every key the check compares for `user` (what an update must have changed)."""
    return {k for keys in compared_fields(user, object_type).values() for k in keys}


__all__ = ["CHECKED", "Candidate", "PossibleDuplicates", "check", "find", "keys_of"]
