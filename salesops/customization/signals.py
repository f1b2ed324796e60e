"""Saving or deleting a definition (or a layout) forgets this process's cached copy at
once; saving or deleting a record keeps its formulas and the roll-ups that read it
exact (`customization.computed`)."""

from typing import Any

from django.db.models.signals import post_delete, post_save, pre_save

from salesops.customization import computed, registry, rules
from salesops.customization.layouts import forget_layouts
from salesops.customization.models import (
    CustomField,
    Layout,
    Picklist,
    PicklistOption,
    ValidationRule,
)
from salesops.customization.services import forget_definitions


def connect() -> None:
    for model in (CustomField, Picklist, PicklistOption):
        post_save.connect(forget_definitions, sender=model, dispatch_uid=f"forget-{model.__name__}")
        post_delete.connect(
            forget_definitions, sender=model, dispatch_uid=f"forget-del-{model.__name__}"
        )
    post_save.connect(forget_layouts, sender=Layout, dispatch_uid="forget-Layout")
    post_delete.connect(forget_layouts, sender=Layout, dispatch_uid="forget-del-Layout")
    pre_save.connect(before_save, dispatch_uid="computed-before-save")
    post_save.connect(after_save, dispatch_uid="computed-after-save")
    post_delete.connect(after_delete, dispatch_uid="computed-after-delete")
    # A rule is compiled against the custom fields: a retired field's rule stops applying.
    for sender in (ValidationRule, CustomField):
        name = sender.__name__
        post_save.connect(rules.forget, sender=sender, dispatch_uid=f"forget-rules-{name}")
        post_delete.connect(rules.forget, sender=sender, dispatch_uid=f"forget-rules-del-{name}")


def _object_type(sender: Any, instance: Any) -> str:
    if getattr(sender, "is_custom_record", False):
        return registry.type_of(instance) or ""
    object_type = getattr(sender, "object_type", "")
    if not object_type or not hasattr(instance, "custom"):
        return ""
    return object_type if isinstance(object_type, str) else ""


def before_save(
    sender: Any, instance: Any, raw: bool = False, update_fields: Any = None, **_kw: Any
) -> None:
    """The record's formulas (and a new record's roll-ups at their value for no
    records) computed into its custom values; the parents it names before the save
    remembered, for the roll-ups to recompute both old and new."""
    object_type = _object_type(sender, instance)
    if not object_type or raw:
        return
    if update_fields is None or "custom" in update_fields:
        if instance._state.adding:
            initial = computed.initial_rollups(object_type)
            if initial:
                instance.custom = {**initial, **(instance.custom or {})}
        computed.apply_formulas(instance, object_type)
    links = computed.child_links(object_type)
    moving = update_fields is None or {f.removesuffix("_id") for f in links} & {
        f.removesuffix("_id") for f in update_fields
    }
    if links and moving and instance.pk is not None and not instance._state.adding:
        instance._computed_before = sender.all_objects.filter(pk=instance.pk).values(*links).first()


def _links_now(instance: Any, links: list[str]) -> dict[str, Any]:
    return {link: getattr(instance, link, None) for link in links}


def after_save(sender: Any, instance: Any, raw: bool = False, **_kw: Any) -> None:
    object_type = _object_type(sender, instance)
    if not object_type or raw:
        return
    links = computed.child_links(object_type)
    if not links:
        return
    rows = [_links_now(instance, links)]
    before = instance.__dict__.pop("_computed_before", None)
    if before:
        rows.append(before)
    computed.touched(computed.parents_touched(object_type, rows))


def after_delete(sender: Any, instance: Any, **_kw: Any) -> None:
    object_type = _object_type(sender, instance)
    if not object_type:
        return
    links = computed.child_links(object_type)
    if links:
        computed.touched(computed.parents_touched(object_type, [_links_now(instance, links)]))
