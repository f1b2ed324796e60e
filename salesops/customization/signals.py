"""Saving or deleting a definition forgets this process's cached copy at once."""

from django.db.models.signals import post_delete, post_save

from salesops.customization import rules
from salesops.customization.models import CustomField, Picklist, PicklistOption, ValidationRule
from salesops.customization.services import forget_definitions


def connect() -> None:
    for model in (CustomField, Picklist, PicklistOption):
        post_save.connect(forget_definitions, sender=model, dispatch_uid=f"forget-{model.__name__}")
        post_delete.connect(
            forget_definitions, sender=model, dispatch_uid=f"forget-del-{model.__name__}"
        )
    # A rule is compiled against the custom fields: a retired field's rule stops applying.
    for sender in (ValidationRule, CustomField):
        name = sender.__name__
        post_save.connect(rules.forget, sender=sender, dispatch_uid=f"forget-rules-{name}")
        post_delete.connect(rules.forget, sender=sender, dispatch_uid=f"forget-rules-del-{name}")
