"""Custom objects in the metadata registry: each active `CustomObject` is an object
type whose fields are the record's title, links, owner and times, then the custom
fields defined for it (`CustomField.object_type` = the object's key). Read from the
database and cached a few seconds per process; a save in this process forgets the
cache at once."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save

from salesops.customization import registry as r
from salesops.customization.registry import Declare as D
from salesops.customization.registry import ObjectSpec
from salesops.lib.cache import TTLCache

_cache = TTLCache(5.0)


def _spec(obj: Any) -> ObjectSpec:
    from salesops.objects.models import LINKABLE, CustomRecord

    links = [link for link in LINKABLE if link in (obj.links or [])]
    fields = r.build_fields(
        CustomRecord,
        obj.key,
        fields=[
            D(
                "title",
                label=obj.title_label,
                sortable=True,
                searchable=True,
                list_default=True,
                aliases=(obj.title_label, "title", "标题", "名称", "name"),
            ),
            *[D(link, list_default=True) for link in links],
            D("owner", list_default=True, aliases=("负责人", "owner")),
            D("created_at", sortable=True, list_default=True),
        ],
        exclude=["kind", *[link for link in ("customer", "contact", "deal") if link not in links]],
    )
    # The title first, then links, owner and the custom fields; times last.
    order = {"title": 0, **dict.fromkeys(links, 1), "owner": 2}
    fields.sort(key=lambda f: order.get(f.key, 3 if f.key not in r.STAMPS else 5))
    return ObjectSpec(
        key=obj.key,
        model=CustomRecord,
        label=obj.label,
        plural=obj.plural,
        owner_field="owner",
        title_field="title",
        base_fields=tuple(fields),
        dedupe=("title",),
        custom_object_id=obj.pk,
        links=tuple(links),
    )


def specs() -> dict[str, ObjectSpec]:
    """Every active custom object as an ObjectSpec, by key."""

    def load() -> dict[str, ObjectSpec]:
        from salesops.objects.models import CustomObject

        return {o.key: _spec(o) for o in CustomObject.objects.filter(active=True)}

    return _cache.get("all", load)


def forget(**_kwargs: Any) -> None:
    _cache.clear()


def connect() -> None:
    from salesops.customization.models import CustomField
    from salesops.objects import indexes
    from salesops.objects.models import CustomObject

    post_save.connect(forget, sender=CustomObject, dispatch_uid="forget-custom-objects")
    post_delete.connect(forget, sender=CustomObject, dispatch_uid="forget-custom-objects-del")
    post_save.connect(indexes.on_field_saved, sender=CustomField, dispatch_uid="index-cf")


def spec_for(obj: Any) -> ObjectSpec:
    """The ObjectSpec of a definition, saved or not (an unsaved one, e.g. read from an
    industry template, has no id: only its built-in fields are of use)."""
    return _spec(obj)
