"""Saving or deleting a definition (or a layout) forgets this process's cached copy at
once."""

from django.db.models.signals import post_delete, post_save

from salesops.customization.layouts import forget_layouts
from salesops.customization.models import CustomField, Layout, Picklist, PicklistOption
from salesops.customization.services import forget_definitions


def connect() -> None:
    for model in (CustomField, Picklist, PicklistOption):
        post_save.connect(forget_definitions, sender=model, dispatch_uid=f"forget-{model.__name__}")
        post_delete.connect(
            forget_definitions, sender=model, dispatch_uid=f"forget-del-{model.__name__}"
        )
    post_save.connect(forget_layouts, sender=Layout, dispatch_uid="forget-Layout")
    post_delete.connect(forget_layouts, sender=Layout, dispatch_uid="forget-del-Layout")
